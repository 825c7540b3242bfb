"""Library-wide state of libftorch: live-handle counters, devices, grad mode, seeds, versions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from ctypes import byref, c_int
from typing import Any

from pyftorch import _lib
from pyftorch._checks import checked_int


def live_tensors() -> int:
    """Number of live tensor handles in the process (Fortran's and Python's together)."""
    return int(_lib.load().ft_live_tensors())


def live_handles() -> int:
    """Number of live handles of every kind (tensors, and later models/optimisers)."""
    return int(_lib.load().ft_live_handles())


def cuda_available() -> bool:
    """True if libftorch can use a CUDA device."""
    return bool(_lib.load().ft_cuda_available())


def cuda_device_count() -> int:
    """Number of CUDA devices libftorch sees (0 for a CPU-only LibTorch)."""
    return int(_lib.load().ft_cuda_device_count())


def set_num_threads(n: int) -> None:
    """Set LibTorch's intra-op thread count (shared with Python's torch)."""
    # ctypes would wrap an int beyond C int silently (2**40 -> 0).
    _lib.load().ft_set_num_threads(checked_int(n, "number of threads", -(2**31), 2**31 - 1))


def manual_seed(seed: int) -> None:
    """Seed LibTorch's random number generators (shared with Python's torch)."""
    # As torch.manual_seed: any integer in [-2**63, 2**64); negative seeds are taken modulo 2**64.
    _lib.load().ft_manual_seed(checked_int(seed, "seed", -(2**63), 2**64 - 1) % 2**64)


def set_grad_enabled(enabled: bool) -> bool:
    """Enable or disable gradient recording on this thread; returns the previous setting.

    LibTorch's grad mode is one thread-local flag shared with Python's torch, so
    ``torch.no_grad()`` also affects library operators called on the same thread.
    """
    previous = c_int()
    _lib.load().ft_set_grad_enabled(int(bool(enabled)), byref(previous))
    return bool(previous.value)


def is_grad_enabled() -> bool:
    """Whether gradient recording is enabled on this thread."""
    previous = set_grad_enabled(True)
    set_grad_enabled(previous)
    return previous


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager that disables gradient recording on this thread."""
    previous = set_grad_enabled(False)
    try:
        yield
    finally:
        set_grad_enabled(previous)


def library_info() -> dict[str, Any]:
    """Where the loaded libftorch is and what it was built with."""
    lib = _lib.load()
    import torch

    return {
        "library": str(lib.path),
        "version": lib.version,
        "torch_version_built": lib.torch_version,
        "torch_version_running": torch.__version__,
        "cuda_available": bool(lib.ft_cuda_available()),
        "cuda_device_count": int(lib.ft_cuda_device_count()),
    }


__all__ = [
    "live_tensors",
    "live_handles",
    "cuda_available",
    "cuda_device_count",
    "set_num_threads",
    "manual_seed",
    "set_grad_enabled",
    "is_grad_enabled",
    "no_grad",
    "library_info",
]
