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
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pyftorch.errors import (
    AutogradError,
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
    from pyftorch.runtime import (
        cuda_available, cuda_device_count, is_grad_enabled, library_info, live_handles, live_tensors,
        manual_seed, no_grad, set_grad_enabled, set_num_threads,
    )
    from pyftorch.core import Tensor, from_numpy, ones, tensor, zeros

__version__ = "0.1.0"

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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyftorch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AutogradError", "ClosedTensorError", "DeviceError", "DeviceUnavailableError", "DTypeError", "FTorchError",
    "InternalError", "InvalidArgumentError", "LibraryIOError", "LibraryLoadError", "LibraryOutOfMemoryError",
    "ModelError", "NoGradientError", "NullHandleError", "ShapeError", "StaleHandleError", "TorchError",
    "TorchVersionMismatch", *_LAZY,
]
