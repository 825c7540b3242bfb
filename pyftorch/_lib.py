"""Loading libftorch through ctypes: one declarative table of the C functions pyftorch uses.

Loading order matters:

1. ``import torch`` first, so that the LibTorch shared objects libftorch needs
   (``libtorch_cpu.so``, ``libc10.so``, and the CUDA ones) are the ones Python's torch
   already loaded: the sonames are unversioned, so only one copy exists in the process.
2. Find the library (:func:`pyftorch._locate.find_install`: ``PYFTORCH_LIB``, then
   ``PYFTORCH_PREFIX``, then the checkout's ``build/install``, then ``sys.prefix``).
3. Refuse a library built against another torch version than the running one
   (``PYFTORCH_ALLOW_TORCH_MISMATCH=1`` overrides, with a warning).
4. Declare ``restype``/``argtypes`` for every function in :data:`FUNCTIONS`; functions that
   return an ``ft_status`` get an ``errcheck`` that raises the matching
   :class:`~pyftorch.errors.FTorchError` with the library's message.

Adding a C function to the binding is one line in :data:`FUNCTIONS`.  Only declared
functions are reachable: :class:`Library` raises ``AttributeError`` for any other name, so
no call can go out with ctypes' default (``int``) conversions.
"""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
from collections.abc import Callable
from ctypes import POINTER, c_char_p, c_double, c_int, c_int64, c_uint, c_uint64, c_void_p
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pyftorch.errors import (
    FT_OK,
    LibraryLoadError,
    TorchVersionMismatch,
    error_for_status,
)

#: Environment variable that allows loading a library built for another torch version.
ALLOW_MISMATCH_ENV = "PYFTORCH_ALLOW_TORCH_MISMATCH"


class _Status:
    """Marker restype: the function returns an ``int`` ft_status checked by errcheck."""

    def __repr__(self) -> str:
        return "STATUS"


#: A function returning ``int`` status; non-zero raises FTorchError.
STATUS = _Status()

# Handles are opaque 64-bit values (slot | generation << 24), never pointers: c_void_p.
HANDLE = c_void_p
HANDLE_OUT = POINTER(c_void_p)
INT_OUT = POINTER(c_int)
I64_ARRAY = POINTER(c_int64)
DOUBLE_OUT = POINTER(c_double)
# Arrays of tensor handles (``const ft_tensor *`` in, ``ft_tensor *`` out) are arrays of c_void_p.
HANDLE_ARRAY = POINTER(c_void_p)


class OptimOptions(ctypes.Structure):
    """``ft_optim_options`` of ftorch.h: the hyper-parameters of an optimiser.

    Field order and C types must match the header exactly (a test parses the typedef and
    compiles a C program that prints the offsets).  Fill it with ``ft_optim_defaults`` first.
    """

    _fields_ = [
        ("lr", c_double),
        ("momentum", c_double),
        ("dampening", c_double),
        ("weight_decay", c_double),
        ("nesterov", c_int),
        ("beta1", c_double),
        ("beta2", c_double),
        ("eps", c_double),
        ("amsgrad", c_int),
        ("alpha", c_double),
        ("centered", c_int),
        ("lr_decay", c_double),
        ("initial_accumulator_value", c_double),
        ("maximize", c_int),
    ]


OPTIONS_PTR = POINTER(OptimOptions)


@dataclass(frozen=True)
class Signature:
    """restype and argtypes of one C function (restype STATUS: int status with errcheck)."""

    restype: Any
    argtypes: tuple[Any, ...]

    @property
    def returns_status(self) -> bool:
        return self.restype is STATUS


def _sig(restype: Any, *argtypes: Any) -> Signature:
    return Signature(restype, tuple(argtypes))


#: Every C function pyftorch calls: name -> (restype, argtypes).  Keep in the order of ftorch.h.
FUNCTIONS: dict[str, Signature] = {
    # --- library ---------------------------------------------------------------------------
    "ft_version": _sig(c_char_p),
    "ft_torch_version": _sig(c_char_p),
    "ft_last_error": _sig(c_char_p),
    "ft_last_status": _sig(c_int),
    "ft_clear_error": _sig(None),
    "ft_live_tensors": _sig(c_int64),
    "ft_live_handles": _sig(c_int64),
    "ft_cuda_available": _sig(c_int),
    "ft_cuda_device_count": _sig(c_int),
    "ft_set_num_threads": _sig(STATUS, c_int),
    "ft_set_grad_enabled": _sig(STATUS, c_int, INT_OUT),
    "ft_manual_seed": _sig(STATUS, c_uint64),
    # --- construction and destruction ---------------------------------------------------------
    "ft_tensor_from_blob": _sig(
        STATUS, c_void_p, c_int, I64_ARRAY, I64_ARRAY, c_int, c_int, c_int, c_int, c_uint, HANDLE_OUT
    ),
    "ft_tensor_new": _sig(STATUS, c_int, c_int, I64_ARRAY, c_int, c_int, c_int, c_int, HANDLE_OUT),
    "ft_tensor_delete": _sig(STATUS, HANDLE),
    # Always FT_OK, even for stale handles: no errcheck, so __del__ never raises.
    "ft_tensor_release": _sig(c_int, HANDLE),
    "ft_tensor_share": _sig(STATUS, HANDLE, HANDLE_OUT),
    # --- queries -------------------------------------------------------------------------------
    "ft_tensor_ndim": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_shape": _sig(STATUS, HANDLE, POINTER(I64_ARRAY)),
    "ft_tensor_numel": _sig(STATUS, HANDLE, I64_ARRAY),
    "ft_tensor_dtype": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_device": _sig(STATUS, HANDLE, INT_OUT, INT_OUT),
    "ft_tensor_requires_grad": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_is_leaf": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_is_view": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_copy_to": _sig(STATUS, HANDLE, c_void_p, c_int, I64_ARRAY, I64_ARRAY, c_int),
    "ft_tensor_strides": _sig(STATUS, HANDLE, POINTER(I64_ARRAY)),
    "ft_tensor_data_ptr": _sig(STATUS, HANDLE, POINTER(c_void_p)),
    "ft_tensor_print": _sig(STATUS, HANDLE),
    "ft_tensor_copy": _sig(STATUS, HANDLE, HANDLE, c_int),
    "ft_tensor_zero": _sig(STATUS, HANDLE),
    # --- arithmetic (Python always passes flags = 0, never FT_FLAG_TEMP) -------------------
    "ft_tensor_binary": _sig(STATUS, c_int, HANDLE, HANDLE, c_uint, HANDLE_OUT),
    "ft_tensor_binary_scalar": _sig(STATUS, c_int, HANDLE, c_double, c_int, c_uint, HANDLE_OUT),
    "ft_tensor_binary_iscalar": _sig(STATUS, c_int, HANDLE, c_int64, c_int, c_uint, HANDLE_OUT),
    "ft_tensor_neg": _sig(STATUS, HANDLE, c_uint, HANDLE_OUT),
    "ft_tensor_sum": _sig(STATUS, HANDLE, c_uint, HANDLE_OUT),
    "ft_tensor_mean": _sig(STATUS, HANDLE, c_uint, HANDLE_OUT),
    "ft_tensor_to_new": _sig(STATUS, HANDLE, c_int, c_int, c_int, c_uint, HANDLE_OUT),
    "ft_tensor_detach": _sig(STATUS, HANDLE, c_uint, HANDLE_OUT),
    # --- autograd ------------------------------------------------------------------------------
    "ft_tensor_backward": _sig(STATUS, HANDLE, HANDLE, c_int),
    "ft_tensor_get_gradient": _sig(STATUS, HANDLE, HANDLE_OUT),
    "ft_tensor_has_gradient": _sig(STATUS, HANDLE, INT_OUT),
    "ft_tensor_zero_grad": _sig(STATUS, HANDLE),
    "ft_tensor_set_requires_grad": _sig(STATUS, HANDLE, c_int),
    # --- models (handles of every kind are opaque 64-bit values: c_void_p) -----------------------
    "ft_model_load": _sig(STATUS, c_char_p, c_int, c_int, c_int, c_int, HANDLE_OUT),
    "ft_model_delete": _sig(STATUS, HANDLE),
    "ft_model_release": _sig(c_int, HANDLE),  # always FT_OK: no errcheck (used by __del__)
    "ft_model_forward": _sig(STATUS, HANDLE, HANDLE_ARRAY, c_int, HANDLE_ARRAY, c_int, c_int),
    "ft_model_num_parameters": _sig(STATUS, HANDLE, INT_OUT),
    "ft_model_parameters": _sig(STATUS, HANDLE, HANDLE_ARRAY, c_int),
    "ft_model_set_training": _sig(STATUS, HANDLE, c_int),
    "ft_model_is_training": _sig(STATUS, HANDLE, INT_OUT),
    "ft_model_save": _sig(STATUS, HANDLE, c_char_p),
    "ft_model_print_parameters": _sig(STATUS, HANDLE),
    # --- losses ----------------------------------------------------------------------------------
    "ft_loss": _sig(STATUS, c_int, HANDLE, HANDLE, c_int, c_double, HANDLE_OUT),
    # --- optimisers --------------------------------------------------------------------------------
    "ft_optim_defaults": _sig(STATUS, c_int, OPTIONS_PTR),
    "ft_optim_new": _sig(STATUS, c_int, HANDLE_ARRAY, c_int, OPTIONS_PTR, HANDLE_OUT),
    "ft_optim_delete": _sig(STATUS, HANDLE),
    "ft_optim_release": _sig(c_int, HANDLE),  # always FT_OK: no errcheck
    "ft_optim_step": _sig(STATUS, HANDLE),
    "ft_optim_zero_grad": _sig(STATUS, HANDLE, c_int),
    "ft_optim_get_lr": _sig(STATUS, HANDLE, DOUBLE_OUT),
    "ft_optim_set_lr": _sig(STATUS, HANDLE, c_double),
    "ft_optim_step_count": _sig(STATUS, HANDLE, I64_ARRAY),
    # --- learning-rate schedulers ----------------------------------------------------------------
    "ft_scheduler_new": _sig(STATUS, c_int, HANDLE, c_double, c_double, HANDLE_OUT),
    "ft_scheduler_delete": _sig(STATUS, HANDLE),
    "ft_scheduler_release": _sig(c_int, HANDLE),  # always FT_OK: no errcheck
    "ft_scheduler_step": _sig(STATUS, HANDLE),
    "ft_scheduler_get_last_lr": _sig(STATUS, HANDLE, DOUBLE_OUT),
    "ft_scheduler_last_epoch": _sig(STATUS, HANDLE, I64_ARRAY),
    # --- gradient clipping ---------------------------------------------------------------------------
    "ft_clip_grad_norm": _sig(STATUS, HANDLE_ARRAY, c_int, c_double, c_double, DOUBLE_OUT),
    "ft_clip_grad_value": _sig(STATUS, HANDLE_ARRAY, c_int, c_double),
    # --- checkpoints -------------------------------------------------------------------------------------
    "ft_checkpoint_save": _sig(STATUS, c_char_p, HANDLE, HANDLE, HANDLE),
    "ft_checkpoint_load": _sig(STATUS, c_char_p, HANDLE, HANDLE, HANDLE),
    # --- distributed data-parallel training (pyftorch.distributed) -------------------------------------
    "ft_distributed_available": _sig(c_int),
    "ft_distributed_listen": _sig(STATUS, c_int, c_double, INT_OUT),
    "ft_distributed_init": _sig(STATUS, c_int, c_int, c_char_p, c_int, c_int, c_double),
    "ft_distributed_is_initialized": _sig(STATUS, INT_OUT),
    "ft_distributed_rank": _sig(STATUS, INT_OUT),
    "ft_distributed_world_size": _sig(STATUS, INT_OUT),
    "ft_distributed_barrier": _sig(STATUS),
    "ft_distributed_finalize": _sig(STATUS),
    "ft_distributed_all_reduce": _sig(STATUS, HANDLE, c_int),
    "ft_distributed_broadcast": _sig(STATUS, HANDLE, c_int),
    "ft_distributed_average_gradients": _sig(STATUS, HANDLE_ARRAY, c_int, c_double),
    "ft_model_distribute": _sig(STATUS, HANDLE, c_double),
    "ft_distributed_checkpoint_save": _sig(STATUS, c_char_p, HANDLE, HANDLE, HANDLE),
    "ft_distributed_checkpoint_load": _sig(STATUS, c_char_p, HANDLE, HANDLE, HANDLE),
}

#: Functions that return ``int`` but always FT_OK (finaliser-safe releases): no errcheck.
RELEASE_FUNCTIONS: tuple[str, ...] = (
    "ft_tensor_release",
    "ft_model_release",
    "ft_optim_release",
    "ft_scheduler_release",
)

#: Functions of ftorch.h that Python deliberately does not bind, and why.
NOT_BOUND: dict[str, str] = {
    "ft_tensor_assign": "Fortran assignment semantics; Python tensors are immutable handles",
    "ft_tensor_consume_temp": "for Fortran expression temporaries (FT_FLAG_TEMP), never set by Python",
    "ft_last_error_copy": "for Fortran's fixed-length buffers; Python reads ft_last_error() directly",
    "ft_tensor_dims": "for Fortran queries that consume an expression temporary in one call",
    "ft_set_stop_on_error": "the Fortran stop-on-error mode; Python always raises",
    "ft_get_stop_on_error": "the Fortran stop-on-error mode; Python always raises",
    "ft_pending_error_record": "Fortran's recorded failures (torch_get_last_error); Python raises instead",
    "ft_pending_error_take": "Fortran's recorded failures (torch_get_last_error); Python raises instead",
    "ft_pending_error_length": "Fortran's recorded failures (torch_get_last_error); Python raises instead",
}

#: Enumerators of ftorch.h that Python has no constant for, and why.  Every other enumerator
#: has a mirror with the same name and value (``FT_*`` attributes of pyftorch.core, losses,
#: optim and errors) or a table keyed by name (errors.STATUS_NAMES, core.DTYPE_CODES,
#: losses.REDUCTIONS); tests/python/test_lib.py checks all of them against the header.
NOT_MIRRORED: dict[str, str] = {
    "FT_FLAG_TEMP": "Fortran expression temporaries only; Python never sets it",
    "FT_XPU": "Python devices are 'cpu' and 'cuda'",
    "FT_MPS": "Python devices are 'cpu' and 'cuda'",
}


class Library:
    """The loaded libftorch: one attribute per declared C function, plus load metadata.

    Attributes are plain ctypes function objects, so tests can wrap one
    (``monkeypatch.setattr(lib, "ft_tensor_binary", wrapper)``) to inject faults at the
    C-call level.  Any name not in :data:`FUNCTIONS` raises ``AttributeError``.
    """

    def __init__(self, path: Path, cdll: ctypes.CDLL, origin: str = "") -> None:
        self.path = path
        self.origin = origin
        self.cdll = cdll
        #: The declared function objects, whatever later replaces an attribute (fault
        #: injection): the hot path compares against these, never against a snapshot taken
        #: at some import time that may fall after a replacement.
        self.declared: dict[str, Any] = {}
        missing = []
        for name, sig in FUNCTIONS.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.argtypes = list(sig.argtypes)
            if sig.returns_status:
                fn.restype = c_int
                fn.errcheck = _check_status
            else:
                fn.restype = sig.restype
            setattr(self, name, fn)
            self.declared[name] = fn
        if missing:
            raise LibraryLoadError(
                f"{path} does not export {', '.join(missing)}: it is older than this pyftorch; rebuild it (make build)"
            )

    def __getattr__(self, name: str) -> Any:  # only called for names not set in __init__
        if name.startswith("ft_"):
            raise AttributeError(
                f"{name} is not declared in pyftorch._lib.FUNCTIONS; add its restype/argtypes there before using it"
            )
        raise AttributeError(name)

    @property
    def version(self) -> str:
        """libftorch's version (``ft_version()``)."""
        return self.ft_version().decode()

    @property
    def torch_version(self) -> str:
        """The LibTorch version the library was compiled against (``ft_torch_version()``)."""
        return self.ft_torch_version().decode()

    def last_error(self) -> str:
        """The message of the last failed call on this thread."""
        raw = self.ft_last_error()
        return raw.decode(errors="replace") if raw else ""


# --- the hot path (issue 13) --------------------------------------------------------------
# pyftorch.core calls a few functions through *separate* ctypes function objects: without
# errcheck (the caller checks the status and raises, which saves a Python call per C call)
# and, for calls that take microseconds, without releasing the GIL (releasing and taking it
# back costs as much as a small operator).  The declared functions above stay as they are,
# so fault injection by replacing a Library attribute still reaches every call: core uses
# the raw object only while the attribute is still the declared function.


def raw_function(lib: Library, name: str, hold_gil: bool) -> Any:
    """A new ctypes function object for ``name`` with its declared argtypes, ``int`` restype
    and no errcheck.  ``hold_gil``: call it without releasing the GIL (short calls only)."""
    sig = FUNCTIONS[name]
    if hold_gil:
        pydll = lib.__dict__.get("_pydll")
        if pydll is None:
            pydll = lib.__dict__["_pydll"] = ctypes.PyDLL(str(lib.path), handle=lib.cdll._handle)
        fn = pydll[name]
    else:
        fn = lib.cdll[name]
    fn.argtypes = list(sig.argtypes)
    fn.restype = c_int if sig.returns_status else sig.restype
    return fn


#: Set to 1 to run every call through ctypes, without the compiled ``pyftorch._speedups``.
NO_SPEEDUPS_ENV = "PYFTORCH_NO_SPEEDUPS"
#: The version of the contract between pyftorch.core and the extension (its ``API``).
SPEEDUPS_API = 1
#: Why :func:`load_speedups` returned None (empty while the speedups are in use).
speedups_reason = ""


def load_speedups(lib: Library) -> ModuleType | None:
    """The C extension ``pyftorch._speedups`` installed next to ``lib`` (pyftorch/_speedups.c), or
    None: when ``PYFTORCH_NO_SPEEDUPS`` is set, when it was not built (no Python development
    files at build time) or when it cannot be imported.  Without it every call goes through
    ctypes, with the same results and errors, only slower; :data:`speedups_reason` says why."""
    global speedups_reason
    if os.environ.get(NO_SPEEDUPS_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        speedups_reason = f"{NO_SPEEDUPS_ENV} is set"
        return None
    from importlib.machinery import ExtensionFileLoader
    from importlib.util import module_from_spec, spec_from_file_location

    from pyftorch._locate import speedups_path

    path = speedups_path(lib.path)
    if path is None:
        speedups_reason = (
            f"no _speedups extension for this Python next to {lib.path} (CMake builds it when it finds "
            "Python's development files; rebuild with make build)"
        )
        return None
    name = "pyftorch._speedups"
    loader = ExtensionFileLoader(name, str(path))
    spec = spec_from_file_location(name, path, loader=loader)
    try:
        module = module_from_spec(spec)  # type: ignore[arg-type]
        loader.exec_module(module)
    except ImportError as exc:
        speedups_reason = f"cannot import {path}: {exc}"
        return None
    if getattr(module, "API", None) != SPEEDUPS_API:
        speedups_reason = f"{path} is from another pyftorch version (API {getattr(module, 'API', None)}); rebuild it"
        return None
    speedups_reason = ""
    return module


def function_address(lib: Library, name: str) -> int:
    """The address of the declared C function ``name`` (for pyftorch._speedups)."""
    return ctypes.cast(lib.declared[name], c_void_p).value or 0


def raise_status(status: int, function: str) -> None:
    """Raise the FTorchError for a failed call made through a :func:`raw_function`."""
    lib = _LIBRARY
    message = lib.last_error() if lib is not None else "(library message unavailable)"
    raise error_for_status(status, message, function)


def _check_status(result: int, func: Callable, args: tuple) -> int:
    """ctypes errcheck: turn a non-zero ft_status into the matching FTorchError."""
    if result != FT_OK:
        lib = _LIBRARY
        message = lib.last_error() if lib is not None else "(library message unavailable)"
        raise error_for_status(result, message, getattr(func, "__name__", None))
    return result


def base_version(version: str) -> str:
    """``"2.13.0+cpu"`` -> ``"2.13.0"``: the public version without the local suffix."""
    return version.split("+", 1)[0].strip()


def check_torch_version(
    library_torch: str, running_torch: str, library_path: Path | str = "libftorch", allow: bool | None = None
) -> None:
    """Raise TorchVersionMismatch if the two torch versions differ (ignoring ``+local`` parts).

    ``allow`` defaults to the ``PYFTORCH_ALLOW_TORCH_MISMATCH`` environment variable; when
    allowed, a mismatch only warns.
    """
    if base_version(library_torch) == base_version(running_torch):
        return
    if allow is None:
        allow = os.environ.get(ALLOW_MISMATCH_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    message = (
        f"{library_path} was built against LibTorch {library_torch}, but the running torch is {running_torch}. "
        "LibTorch has no stable C++ ABI across versions, so this combination may crash. Rebuild the library "
        "against this torch (make build, or cmake -DCMAKE_PREFIX_PATH=$(python -c 'import torch; "
        "print(torch.utils.cmake_prefix_path)')), or point PYFTORCH_LIB at a matching build. "
        f"Set {ALLOW_MISMATCH_ENV}=1 to load it anyway."
    )
    if allow:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return
    raise TorchVersionMismatch(message)


_LIBRARY: Library | None = None
_LOCK = threading.Lock()


def load() -> Library:
    """The process-wide :class:`Library`, loaded on first use (imports torch first)."""
    global _LIBRARY
    if _LIBRARY is not None:
        return _LIBRARY
    with _LOCK:
        if _LIBRARY is not None:
            return _LIBRARY
        try:
            import torch
        except ImportError as exc:
            raise LibraryLoadError(
                "pyftorch needs torch: libftorch links LibTorch, and Python's torch must be imported first so "
                "that only one copy of LibTorch is loaded. Install the torch the library was built with."
            ) from exc
        from pyftorch._locate import LibraryNotFound, find_install

        try:
            install = find_install()
        except LibraryNotFound as exc:
            raise LibraryLoadError(str(exc)) from exc
        origin = "PYFTORCH_LIB" if os.environ.get("PYFTORCH_LIB") else "search"
        try:
            cdll = ctypes.CDLL(str(install.library))
        except OSError as exc:
            raise LibraryLoadError(f"cannot load {install.library}: {exc}") from exc
        lib = Library(install.library, cdll, origin)
        check_torch_version(lib.torch_version, torch.__version__, install.library)
        _LIBRARY = lib
        return lib


def loaded() -> Library | None:
    """The library if it was already loaded, else None (never loads it)."""
    return _LIBRARY


__all__ = [
    "ALLOW_MISMATCH_ENV",
    "FUNCTIONS",
    "NOT_BOUND",
    "NOT_MIRRORED",
    "RELEASE_FUNCTIONS",
    "STATUS",
    "Signature",
    "OptimOptions",
    "Library",
    "load",
    "loaded",
    "base_version",
    "check_torch_version",
    "raw_function",
    "raise_status",
    "load_speedups",
    "function_address",
    "NO_SPEEDUPS_ENV",
]
