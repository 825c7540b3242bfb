"""Checkpoints: a model's weights, an optimiser's state and a scheduler's state in one file.

The file is the library's (``ft_checkpoint_save``): the same format the Fortran
``torch_checkpoint_save`` writes, readable by ``torch.load(path, weights_only=False)``.
Loading restores into existing objects, onto their devices, so a run can restart on
another device; a run restarted from step k ends with the same parameters as an
uninterrupted run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from pyftorch import _lib
from pyftorch.model import PathLike, _path_bytes

if TYPE_CHECKING:  # pragma: no cover
    from pyftorch.model import Model
    from pyftorch.optim import LRScheduler, Optimizer

_L = _lib.load()


def _handles(model: Any, optimizer: Any, scheduler: Any) -> tuple[Optional[int], Optional[int], Optional[int]]:
    from pyftorch.model import Model
    from pyftorch.optim import LRScheduler, Optimizer

    out = []
    for name, obj, cls in (("model", model, Model), ("optimizer", optimizer, Optimizer),
                           ("scheduler", scheduler, LRScheduler)):
        if obj is None:
            out.append(None)
        elif not isinstance(obj, cls):
            raise TypeError(f"{name} must be a pyftorch {cls.__name__} or None, got {type(obj).__name__}")
        else:
            out.append(obj._get())
    return out[0], out[1], out[2]


def save_checkpoint(path: PathLike, model: Optional["Model"] = None, optimizer: Optional["Optimizer"] = None,
                    scheduler: Optional["LRScheduler"] = None) -> None:
    """Write the state of any of ``model``, ``optimizer`` and ``scheduler`` to ``path``.

    Raises:
        LibraryIOError: the file cannot be written.
    """
    m, o, s = _handles(model, optimizer, scheduler)
    _L.ft_checkpoint_save(_path_bytes(path), m, o, s)


def load_checkpoint(path: PathLike, model: Optional["Model"] = None, optimizer: Optional["Optimizer"] = None,
                    scheduler: Optional["LRScheduler"] = None) -> None:
    """Restore the state saved in ``path`` into the given (existing) objects.

    Everything is read and checked before anything changes, so a failed load leaves the
    objects as they were.

    Raises:
        LibraryIOError: the file cannot be read or is not a pyftorch checkpoint.
        InvalidArgumentError: the checkpoint belongs to a different model (parameter
            names or shapes differ), optimiser (kind or shapes) or scheduler, or lacks
            the state of an object that was passed.
    """
    m, o, s = _handles(model, optimizer, scheduler)
    _L.ft_checkpoint_load(_path_bytes(path), m, o, s)


__all__ = ["save_checkpoint", "load_checkpoint"]
