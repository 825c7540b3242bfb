"""pyftorch: PyTorch autograd for Fortran codes, and its Python binding.

``import pyftorch`` is cheap: it imports neither torch nor the native library.  The first
use of a library-backed name (``pyftorch.Tensor``, ``pyftorch.tensor``,
``pyftorch.live_tensors`` ...) imports torch and then loads ``libftorch`` through ctypes
(see :mod:`pyftorch._lib`).

Example::

    import numpy as np, pyftorch as ft
    a = ft.tensor([2.0, 3.0], requires_grad=True)
    b = ft.tensor([6.0, 4.0], requires_grad=True)
    q = (a * b + a * b * a).sum()
    q.backward()
    print(a.grad.numpy(), b.grad.numpy())   # [30. 28.] [ 6. 12.]

Training (the same library functions Fortran's ``torch_model_*``, ``torch_loss_*``,
``torch_optim_*`` use): :class:`~pyftorch.model.Model` (TorchScript), the losses of
:mod:`pyftorch.losses`, and the optimisers, schedulers, clipping and checkpoints of
:mod:`pyftorch.optim`, all exported here too::

    model = ft.Model.load("mlp.pt", requires_grad=True, training=True)
    params = model.parameters()                      # Tensors aliasing the weights
    opt = ft.Adam(params, lr=1e-3)
    sched = ft.CosineAnnealingLR(opt, T_max=100)
    opt.zero_grad()
    loss = ft.mse_loss(model(x, requires_grad=True), y)
    loss.backward(); ft.clip_grad_norm_(params, 1.0); opt.step(); sched.step()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pyftorch.errors import (
    AutogradError,
    ClosedHandleError,
    ClosedTensorError,
    DeviceError,
    DeviceUnavailableError,
    DTypeError,
    FTorchError,
    InternalError,
    InvalidArgumentError,
    LibraryIOError,
    LibraryLoadError,
    LibraryOutOfMemoryError,
    ModelError,
    NoGradientError,
    NullHandleError,
    ShapeError,
    StaleHandleError,
    TorchError,
    TorchVersionMismatch,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyftorch.checkpoint import load_checkpoint, save_checkpoint
    from pyftorch.core import Tensor, from_numpy, ones, tensor, zeros
    from pyftorch.losses import (
        binary_cross_entropy_with_logits,
        cross_entropy,
        huber_loss,
        l1_loss,
        mse_loss,
        smooth_l1_loss,
    )
    from pyftorch.model import Model
    from pyftorch.optim import (
        SGD,
        Adagrad,
        Adam,
        AdamW,
        CosineAnnealingLR,
        ExponentialLR,
        LRScheduler,
        Optimizer,
        RMSprop,
        StepLR,
        clip_grad_norm_,
        clip_grad_value_,
    )
    from pyftorch.runtime import (
        cuda_available,
        cuda_device_count,
        is_grad_enabled,
        library_info,
        live_handles,
        live_tensors,
        manual_seed,
        no_grad,
        set_grad_enabled,
        set_num_threads,
    )
    from pyftorch.torchscript import save_torchscript

from pyftorch._version import __version__  # the repository's VERSION file

_LAZY: dict[str, str] = {
    "Tensor": "pyftorch.core",
    "tensor": "pyftorch.core",
    "from_numpy": "pyftorch.core",
    "zeros": "pyftorch.core",
    "ones": "pyftorch.core",
    "live_tensors": "pyftorch.runtime",
    "live_handles": "pyftorch.runtime",
    "cuda_available": "pyftorch.runtime",
    "cuda_device_count": "pyftorch.runtime",
    "set_num_threads": "pyftorch.runtime",
    "manual_seed": "pyftorch.runtime",
    "set_grad_enabled": "pyftorch.runtime",
    "is_grad_enabled": "pyftorch.runtime",
    "no_grad": "pyftorch.runtime",
    "library_info": "pyftorch.runtime",
    # training
    "Model": "pyftorch.model",
    "mse_loss": "pyftorch.losses",
    "l1_loss": "pyftorch.losses",
    "smooth_l1_loss": "pyftorch.losses",
    "huber_loss": "pyftorch.losses",
    "cross_entropy": "pyftorch.losses",
    "binary_cross_entropy_with_logits": "pyftorch.losses",
    "Optimizer": "pyftorch.optim",
    "SGD": "pyftorch.optim",
    "Adam": "pyftorch.optim",
    "AdamW": "pyftorch.optim",
    "RMSprop": "pyftorch.optim",
    "Adagrad": "pyftorch.optim",
    "LRScheduler": "pyftorch.optim",
    "StepLR": "pyftorch.optim",
    "ExponentialLR": "pyftorch.optim",
    "CosineAnnealingLR": "pyftorch.optim",
    "clip_grad_norm_": "pyftorch.optim",
    "clip_grad_value_": "pyftorch.optim",
    "save_checkpoint": "pyftorch.checkpoint",
    "load_checkpoint": "pyftorch.checkpoint",
    "save_torchscript": "pyftorch.torchscript",
}

#: Submodules that load the library, reachable as attributes (``pyftorch.optim.Adam``) on first use.
_LAZY_MODULES: tuple[str, ...] = (
    "core",
    "runtime",
    "model",
    "losses",
    "optim",
    "checkpoint",
    "torchscript",
    "distributed",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"pyftorch.{name}")  # the import sets the attribute too
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyftorch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))


__all__ = [
    "AutogradError",
    "ClosedHandleError",
    "ClosedTensorError",
    "DeviceError",
    "DeviceUnavailableError",
    "DTypeError",
    "FTorchError",
    "InternalError",
    "InvalidArgumentError",
    "LibraryIOError",
    "LibraryLoadError",
    "LibraryOutOfMemoryError",
    "ModelError",
    "NoGradientError",
    "NullHandleError",
    "ShapeError",
    "StaleHandleError",
    "TorchError",
    "TorchVersionMismatch",
    *_LAZY,
]
