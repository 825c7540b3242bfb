"""``pyftorch.Model``: a TorchScript model loaded by libftorch, driven from Python.

The same library functions serve Fortran's ``torch_model_*`` procedures, so a Python run
through this class is the Fortran run, step for step.  Write model files with
:func:`pyftorch.torchscript.save_torchscript` (or ``torch.jit.script(m).save(path)``).

Example::

    import pyftorch as ft
    with ft.Model.load("mlp.pt", requires_grad=True, training=True) as model:
        params = model.parameters()                     # Tensors aliasing the weights
        opt = ft.Adam(params, lr=1e-3)
        y = model(x, requires_grad=True)                # a new Tensor
        loss = ft.mse_loss(y, target); loss.backward(); opt.step()
"""

from __future__ import annotations

import os
from ctypes import byref, c_int, c_void_p
from pathlib import Path
from typing import Union

from pyftorch import _lib
from pyftorch._handles import HandleOwner
from pyftorch.core import DeviceLike, Tensor, _merge_keep, parse_device
from pyftorch.errors import InvalidArgumentError

_L = _lib.load()

PathLike = Union[str, "os.PathLike[str]"]

#: ``requires_grad`` argument of :meth:`Model.load` -> the ABI's value.
_REQUIRES_GRAD = {None: -1, False: 0, True: 1}


def _path_bytes(path: PathLike) -> bytes:
    """A file name as the C ABI takes it (file-system encoding); refuses empty names."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a path (str or os.PathLike), got {type(path).__name__}")
    raw = os.fsencode(path)
    if not raw:
        raise InvalidArgumentError("the file name is empty")
    if b"\0" in raw:
        raise InvalidArgumentError("the file name contains a NUL byte")
    return raw


def _forward_output_count(path: Path) -> int | None:
    """How many tensors the TorchScript model in ``path`` returns (None: not known statically).

    Read from the compiled ``forward``'s schema with Python's torch: ``Tensor`` is one,
    ``Tuple[Tensor, ...]`` its length; a ``List[Tensor]`` has no static length.
    """
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated upstream but remains the format LibTorch C++ loads.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
        returns = module.forward.schema.returns
    except Exception:  # noqa: BLE001 -- the library already accepted the file; no schema is not fatal
        return None
    if len(returns) != 1:
        return None
    kind = returns[0].type
    if isinstance(kind, torch._C.TensorType):
        return 1
    if isinstance(kind, torch._C.TupleType):
        elements = kind.elements()
        if all(isinstance(e, torch._C.TensorType) for e in elements):
            return len(elements)
    return None


class Model(HandleOwner):
    """A TorchScript model held by libftorch (``ft_model``).

    Build one with :meth:`load`.  Calling the model (or :meth:`forward`) returns new
    :class:`~pyftorch.Tensor` objects; :meth:`parameters` returns Tensors that alias the
    weights, so an optimiser built over them trains the model.  Close it with
    :meth:`close` or a ``with`` block; parameter Tensors keep the weights alive after that.
    """

    _what = "model"
    _delete = staticmethod(_L.ft_model_delete)
    _release = staticmethod(_L.ft_model_release)

    def __init__(self) -> None:
        """Not for direct use: call :meth:`Model.load`."""
        self._handle = None
        self.path: Path | None = None
        self.device: str = "cpu"
        self._n_outputs: int | None = None

    @classmethod
    def load(
        cls,
        path: PathLike,
        device: DeviceLike = "cpu",
        requires_grad: bool | None = None,
        training: bool = False,
        n_outputs: int | None = None,
    ) -> Model:
        """Load a TorchScript file onto a device (``ft_model_load``).

        Args:
            path: the TorchScript file.
            device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
            requires_grad: ``None`` keeps the file's setting, ``False`` freezes every
                parameter (an optimiser over them is refused), ``True`` makes every
                parameter require gradients.
            training: start in training (``True``) or evaluation mode.
            n_outputs: the number of tensors ``forward`` returns.  By default it is read
                from the compiled ``forward``'s return type (which loads the file once more
                with Python's torch, on the CPU); pass it to skip that, and for models that
                return a ``List[Tensor]``.

        Raises:
            LibraryIOError: the file cannot be read.
            ModelError: the file is not TorchScript.
            DeviceUnavailableError: the device cannot be used.
        """
        if requires_grad not in _REQUIRES_GRAD:
            raise TypeError(f"requires_grad must be None, False or True, got {requires_grad!r}")
        if n_outputs is not None and (not isinstance(n_outputs, int) or n_outputs < 1):
            raise InvalidArgumentError(f"n_outputs must be a positive integer, got {n_outputs!r}")
        raw = _path_bytes(path)
        device_type, index = parse_device(device)
        out = c_void_p()
        _L.ft_model_load(raw, device_type, index, _REQUIRES_GRAD[requires_grad], int(bool(training)), byref(out))
        self = cls()
        self._adopt(out.value)
        self.path = Path(os.fsdecode(raw)).absolute()
        self.device = str(device)
        self._n_outputs = n_outputs if n_outputs is not None else _forward_output_count(self.path)
        return self

    # --- running ------------------------------------------------------------------------------
    def forward(
        self, *inputs: Tensor, requires_grad: bool = False, n_outputs: int | None = None
    ) -> Tensor | tuple[Tensor, ...]:
        """Run the model's ``forward(*inputs)`` (``ft_model_forward``).

        Args:
            inputs: the input Tensors, on the model's device.
            requires_grad: record autograd history, so that ``backward`` of a loss reaches
                the parameters (and any inputs that require gradients).  Without it the
                pass records nothing (``torch.no_grad``).
            n_outputs: the number of tensors the model returns, when it cannot be known
                from the file (a ``List[Tensor]`` result).

        Returns:
            A new Tensor for a model that returns one tensor, else a tuple of new Tensors.
        """
        handle = self._get()
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"input {i + 1} is a {type(t).__name__}, not a pyftorch.Tensor")
        count = n_outputs if n_outputs is not None else self._n_outputs
        if count is None:
            raise InvalidArgumentError(
                "the model's forward returns a list whose length is known only after the call; pass n_outputs="
            )
        if not isinstance(count, int) or count < 1:
            raise InvalidArgumentError(f"n_outputs must be a positive integer, got {count!r}")
        args = (c_void_p * max(len(inputs), 1))(*(t._get() for t in inputs))
        outs = (c_void_p * count)()  # NULL handles: the library writes new ones
        try:
            _L.ft_model_forward(handle, args, len(inputs), outs, count, int(bool(requires_grad)))
        except BaseException:
            for h in outs:  # the ABI leaves outputs untouched on failure; release any all the same
                if h:
                    _L.ft_tensor_release(h)
            raise
        keep = _merge_keep(*inputs)  # an output may alias an input that views NumPy memory
        results = tuple(Tensor._wrap(h, keep) for h in outs)
        return results[0] if count == 1 else results

    __call__ = forward

    # --- parameters ----------------------------------------------------------------------------
    @property
    def num_parameters(self) -> int:
        """The number of parameter tensors (recursively)."""
        n = c_int()
        _L.ft_model_num_parameters(self._get(), byref(n))
        return n.value

    def parameters(self) -> list[Tensor]:
        """New Tensors aliasing the model's parameters, in ``named_parameters()`` order.

        Assigning or optimising through them changes the model's weights; they stay valid
        after the model is closed.  Each call returns new handles (close them or let them be
        collected).
        """
        handle = self._get()
        n = self.num_parameters
        if n == 0:
            return []
        arr = (c_void_p * n)()
        _L.ft_model_parameters(handle, arr, n)
        return [Tensor._wrap(h) for h in arr]

    def print_parameters(self) -> None:
        """Print every parameter's name and values on the process's standard output (C stdout)."""
        _L.ft_model_print_parameters(self._get())

    # --- modes ---------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """True in training mode, False in evaluation mode."""
        flag = c_int()
        _L.ft_model_is_training(self._get(), byref(flag))
        return bool(flag.value)

    def train(self, mode: bool = True) -> Model:
        """Switch to training mode (``mode=False``: evaluation mode); returns self."""
        _L.ft_model_set_training(self._get(), int(bool(mode)))
        return self

    def eval(self) -> Model:
        """Switch to evaluation mode; returns self."""
        return self.train(False)

    # --- saving ----------------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save the model as TorchScript with its current weights (``ft_model_save``).

        The write is atomic (a temporary file in the same directory, renamed over
        ``path``): on failure the previous file is unchanged and LibraryIOError says why.
        """
        _L.ft_model_save(self._get(), _path_bytes(path))

    def distribute(self, bucket_cap_mb: float = 0.0) -> Model:
        """Make the model data-parallel across the ranks of :func:`pyftorch.distributed.init`,
        as ``torch.nn.parallel.DistributedDataParallel`` does (``ft_model_distribute``).

        Collective.  Rank 0's parameters and buffers are broadcast now; afterwards every
        backward pass through a forward run with ``requires_grad=True`` leaves the
        gradients averaged across ranks (c10d's Reducer: bucketed all-reduce overlapping
        backward), so the optimiser code is unchanged.  ``bucket_cap_mb <= 0`` keeps DDP's
        bucket sizes.  Returns the model.
        """
        from pyftorch import distributed

        return distributed.distribute(self, bucket_cap_mb)

    def __repr__(self) -> str:
        if self.closed:
            return "Model(<closed>)"
        return f"Model({str(self.path)!r}, device={self.device!r}, training={self.training})"


__all__ = ["Model"]
