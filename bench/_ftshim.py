"""A tiny ctypes binding of libftorch's C ABI, standing in for ``pyftorch.Tensor``.

The benchmark's "pyftorch" variant is written against the interface below, which is the
subset of ``pyftorch.Tensor`` it needs: ``Tensor.from_numpy(array, copy=False,
requires_grad=...)``, the operators ``+ - * /``, ``backward(gradient, retain_graph)``,
``zero_grad()``, ``close()``, ``numpy()`` and release of the handle when the object dies.
Like ``pyftorch.Tensor``, every call declares its argument types, checks the returned
status and wraps the new handle in a new object.

:func:`tensor_class` returns ``pyftorch.Tensor`` when the package provides it and this
class otherwise, so the variant measures the real binding as soon as it is there.
:func:`get_gradient_into` calls the C function directly in both cases: ``pyftorch.Tensor``
has no form of ``get_gradient`` that writes into an existing holder.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, byref, c_int, c_int64, c_uint, c_void_p
from typing import Any

import numpy as np

FT_ADD, FT_SUB, FT_MUL, FT_DIV = 0, 1, 2, 3
_DTYPE_CODES = {np.dtype(np.float32): 6, np.dtype(np.float64): 7}
_FLOAT64 = 7

_lib: Any = None


class FTError(RuntimeError):
    """A libftorch call returned a failure status."""


def _errcheck(status: int, func: Any, args: tuple) -> int:
    if status != 0:
        raise FTError(f"{func.__name__} failed with status {status}: {_lib.ft_last_error().decode()}")
    return status


def load(path: str) -> Any:
    """Load libftorch from `path` (after ``import torch``) and declare the functions used."""
    global _lib
    if _lib is not None:
        return _lib
    import torch  # noqa: F401  -- LibTorch's sonames must be the ones torch loaded

    lib = ctypes.CDLL(path)
    handle, handle_out, i64p = c_void_p, POINTER(c_void_p), POINTER(c_int64)
    status = [
        ("ft_tensor_from_blob", [c_void_p, c_int, i64p, i64p, c_int, c_int, c_int, c_int, c_uint, handle_out]),
        ("ft_tensor_delete", [handle]),
        ("ft_tensor_binary", [c_int, handle, handle, c_uint, handle_out]),
        ("ft_tensor_backward", [handle, handle, c_int]),
        ("ft_tensor_get_gradient", [handle, handle_out]),
        ("ft_tensor_zero_grad", [handle]),
        ("ft_tensor_copy_to", [handle, c_void_p, c_int, i64p, i64p, c_int]),
        ("ft_tensor_numel", [handle, i64p]),
        ("ft_set_num_threads", [c_int]),
    ]
    for name, argtypes in status:
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = c_int
        fn.errcheck = _errcheck
    lib.ft_tensor_release.argtypes = [handle]
    lib.ft_tensor_release.restype = c_int
    lib.ft_last_error.argtypes = []
    lib.ft_last_error.restype = ctypes.c_char_p
    lib.ft_live_tensors.argtypes = []
    lib.ft_live_tensors.restype = c_int64
    lib.ft_torch_version.argtypes = []
    lib.ft_torch_version.restype = ctypes.c_char_p
    _lib = lib
    return lib


def library() -> Any:
    if _lib is None:
        raise RuntimeError("bench._ftshim.load() was not called")
    return _lib


class Tensor:
    """One libftorch tensor handle (the subset of ``pyftorch.Tensor`` the benchmark uses)."""

    __slots__ = ("_handle", "_keep")

    def __init__(self) -> None:
        raise TypeError("use Tensor.from_numpy")

    @classmethod
    def _wrap(cls, handle: int | None, keep: Any = None) -> Tensor:
        self = object.__new__(cls)
        self._handle = handle
        self._keep = keep
        return self

    @classmethod
    def from_numpy(cls, array: np.ndarray, *, copy: bool, requires_grad: bool = False) -> Tensor:
        shape = (c_int64 * array.ndim)(*array.shape)
        out = c_void_p()
        _lib.ft_tensor_from_blob(
            array.ctypes.data,
            array.ndim,
            shape,
            None,
            _DTYPE_CODES[array.dtype],
            0,
            -1,
            int(requires_grad),
            1 if copy else 0,
            byref(out),
        )
        return cls._wrap(out.value, None if copy else (array,))

    def close(self) -> None:
        handle = self._handle
        if handle is not None:
            self._handle = None
            self._keep = None
            _lib.ft_tensor_delete(handle)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and _lib is not None:
            self._handle = None
            _lib.ft_tensor_release(handle)

    def _binary(self, op: int, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            return NotImplemented
        out = c_void_p()
        _lib.ft_tensor_binary(op, self._handle, other._handle, 0, byref(out))
        k1, k2 = self._keep, other._keep  # the arrays that viewed operands alias
        return Tensor._wrap(out.value, k1 if k2 is None or k2 is k1 else (k2 if k1 is None else k1 + k2))

    def __add__(self, other: Tensor) -> Tensor:
        return self._binary(FT_ADD, other)

    def __sub__(self, other: Tensor) -> Tensor:
        return self._binary(FT_SUB, other)

    def __mul__(self, other: Tensor) -> Tensor:
        return self._binary(FT_MUL, other)

    def __truediv__(self, other: Tensor) -> Tensor:
        return self._binary(FT_DIV, other)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool = False) -> None:
        _lib.ft_tensor_backward(self._handle, None if gradient is None else gradient._handle, int(retain_graph))

    def get_gradient(self) -> Tensor:
        out = c_void_p()
        _lib.ft_tensor_get_gradient(self._handle, byref(out))
        return Tensor._wrap(out.value)

    def zero_grad(self) -> None:
        _lib.ft_tensor_zero_grad(self._handle)

    def numpy(self) -> np.ndarray:
        """A float64 copy of the values (rank 1 is all the benchmark needs)."""
        n = c_int64()
        _lib.ft_tensor_numel(self._handle, byref(n))
        out = np.empty(n.value, dtype=np.float64)
        shape = (c_int64 * 1)(n.value)
        _lib.ft_tensor_copy_to(self._handle, out.ctypes.data, 1, shape, None, _FLOAT64)
        return out


def get_gradient_into(holder: Tensor, tensor: Tensor) -> None:
    """Copy tensor's gradient into holder (FTorch's torch_tensor_get_gradient(holder, tensor))."""
    handle = c_void_p(holder._handle)
    _lib.ft_tensor_get_gradient(tensor._handle, byref(handle))


def tensor_class() -> type:
    """The Tensor class the "pyftorch" variant uses: pyftorch.Tensor if it exists."""
    try:
        from pyftorch import Tensor as binding
    except ImportError:
        return Tensor
    return binding


def binding_name() -> str:
    cls = tensor_class()
    name = f"{cls.__module__}.{cls.__qualname__}"
    if cls.__module__ == "pyftorch.core":
        import pyftorch.core

        name += " with its C extension" if pyftorch.core._speedups is not None else " through ctypes alone"
    return name
