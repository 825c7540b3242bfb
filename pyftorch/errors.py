"""Exceptions raised by pyftorch.

Every non-zero status returned by a libftorch function becomes an instance of
:class:`FTorchError` (a :class:`RuntimeError`), or of the subclass for that status code,
carrying the status code, its symbolic name (``FT_ERR_SHAPE`` ...), the name of the C
function and the library's own message (``ft_last_error()``).

The same classes are raised by the checks pyftorch makes in Python *before* calling the
library (a closed tensor, ``None``, an array of an unsupported dtype, a non-contiguous
array ...), so a caller can catch one hierarchy whichever side found the problem.  Where
a Python built-in exception is the natural one, the subclass also derives from it
(``ShapeError`` is a ``ValueError``, ``DTypeError`` a ``TypeError``).

This module imports neither torch nor the native library.
"""

from __future__ import annotations

#: Status codes of ``enum ft_status`` in ``ftorch.h``.
FT_OK = 0
STATUS_NAMES: dict[int, str] = {
    0: "FT_OK",
    1: "FT_ERR_NULL_HANDLE",
    2: "FT_ERR_STALE_HANDLE",
    3: "FT_ERR_SHAPE",
    4: "FT_ERR_DTYPE",
    5: "FT_ERR_DEVICE",
    6: "FT_ERR_AUTOGRAD",
    7: "FT_ERR_NO_GRADIENT",
    8: "FT_ERR_INVALID_ARGUMENT",
    9: "FT_ERR_DEVICE_UNAVAILABLE",
    10: "FT_ERR_IO",
    11: "FT_ERR_MODEL",
    12: "FT_ERR_TORCH",
    13: "FT_ERR_OUT_OF_MEMORY",
    14: "FT_ERR_INTERNAL",
    15: "FT_ERR_DISTRIBUTED",
}


def status_name(status: int) -> str:
    """The symbolic name of a status code (``"FT_ERR_UNKNOWN(99)"`` for unknown codes)."""
    return STATUS_NAMES.get(status, f"FT_ERR_UNKNOWN({status})")


class FTorchError(RuntimeError):
    """A libftorch call failed, or pyftorch refused a call that would misuse the library.

    Attributes:
        status: the ``ft_status`` code (0 never occurs; see :data:`STATUS_NAMES`).
        status_name: its symbolic name, e.g. ``"FT_ERR_SHAPE"``.
        message: the library's message (``ft_last_error()``) or pyftorch's own.
        function: the C function that failed, or ``None`` for a check made in Python.
    """

    #: Default status of the class; the subclasses set their own.
    default_status: int = 12

    def __init__(self, message: str, status: int | None = None, function: str | None = None) -> None:
        self.status: int = self.default_status if status is None else int(status)
        self.status_name: str = status_name(self.status)
        self.message: str = message
        self.function: str | None = function
        where = f"{function}: " if function else ""
        super().__init__(f"{where}{message} [{self.status_name}]")

    def __reduce__(self):  # keep the attributes through pickling (multiprocessing, pytest-xdist)
        return (type(self), (self.message, self.status, self.function))


class NullHandleError(FTorchError, ValueError):
    """A null handle (``None``) was passed where a tensor is needed (FT_ERR_NULL_HANDLE)."""

    default_status = 1


class StaleHandleError(FTorchError, ValueError):
    """A handle that was already released was used (FT_ERR_STALE_HANDLE)."""

    default_status = 2


class ClosedHandleError(StaleHandleError):
    """A pyftorch object (model, optimiser, scheduler, tensor) was used after its ``close()`` (found in Python)."""


class ClosedTensorError(ClosedHandleError):
    """A :class:`pyftorch.Tensor` was used after :meth:`~pyftorch.Tensor.close` (found in Python)."""


class ShapeError(FTorchError, ValueError):
    """Shapes do not match or do not broadcast (FT_ERR_SHAPE)."""

    default_status = 3


class DTypeError(FTorchError, TypeError):
    """Data types differ where they must agree, or a dtype is unsupported (FT_ERR_DTYPE)."""

    default_status = 4


class DeviceError(FTorchError, ValueError):
    """Tensors live on different devices (FT_ERR_DEVICE)."""

    default_status = 5


class AutogradError(FTorchError):
    """Autograd refused: freed graph, nothing requires grad, leaf write (FT_ERR_AUTOGRAD)."""

    default_status = 6


class NoGradientError(FTorchError):
    """A gradient was requested where none exists (FT_ERR_NO_GRADIENT)."""

    default_status = 7


class InvalidArgumentError(FTorchError, ValueError):
    """An argument is out of range or inconsistent (FT_ERR_INVALID_ARGUMENT)."""

    default_status = 8


class DeviceUnavailableError(FTorchError):
    """CUDA (or another device) was requested but is not available (FT_ERR_DEVICE_UNAVAILABLE)."""

    default_status = 9


class LibraryIOError(FTorchError):
    """A file could not be read or written (FT_ERR_IO)."""

    default_status = 10


class ModelError(FTorchError):
    """A model file is not TorchScript, or a model call failed (FT_ERR_MODEL)."""

    default_status = 11


class TorchError(FTorchError):
    """Any other error raised by LibTorch (FT_ERR_TORCH)."""

    default_status = 12


class LibraryOutOfMemoryError(FTorchError, MemoryError):
    """LibTorch ran out of (host or device) memory (FT_ERR_OUT_OF_MEMORY)."""

    default_status = 13


class InternalError(FTorchError):
    """An internal error of libftorch (FT_ERR_INTERNAL)."""

    default_status = 14


class DistributedError(FTorchError):
    """No process group, or a collective failed or timed out (FT_ERR_DISTRIBUTED)."""

    default_status = 15


#: Exception class per status code.
STATUS_CLASSES: dict[int, type[FTorchError]] = {
    cls.default_status: cls
    for cls in (
        NullHandleError,
        StaleHandleError,
        ShapeError,
        DTypeError,
        DeviceError,
        AutogradError,
        NoGradientError,
        InvalidArgumentError,
        DeviceUnavailableError,
        LibraryIOError,
        ModelError,
        TorchError,
        LibraryOutOfMemoryError,
        InternalError,
        DistributedError,
    )
}


def error_for_status(status: int, message: str, function: str | None = None) -> FTorchError:
    """The exception for a non-zero status code (unknown codes give a plain FTorchError)."""
    cls = STATUS_CLASSES.get(status, FTorchError)
    return cls(message, status, function)


class LibraryLoadError(ImportError):
    """libftorch could not be loaded: not found, not loadable, or built for another torch."""


class TorchVersionMismatch(LibraryLoadError):
    """libftorch was compiled against a different torch version than the one imported.

    Set ``PYFTORCH_ALLOW_TORCH_MISMATCH=1`` to load it anyway (at your own risk: LibTorch's
    C++ ABI is not stable across versions, so a mismatch can crash the process).
    """


__all__ = [
    "FT_OK",
    "STATUS_NAMES",
    "status_name",
    "FTorchError",
    "NullHandleError",
    "StaleHandleError",
    "ClosedHandleError",
    "ClosedTensorError",
    "ShapeError",
    "DTypeError",
    "DeviceError",
    "AutogradError",
    "NoGradientError",
    "InvalidArgumentError",
    "DeviceUnavailableError",
    "LibraryIOError",
    "ModelError",
    "TorchError",
    "LibraryOutOfMemoryError",
    "InternalError",
    "STATUS_CLASSES",
    "error_for_status",
    "LibraryLoadError",
    "TorchVersionMismatch",
]
