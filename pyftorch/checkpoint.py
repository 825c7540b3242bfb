"""Checkpoints: a model's weights, an optimiser's state and a scheduler's state in one file.

The file is the library's (``ft_checkpoint_save``): the same format the Fortran
``torch_checkpoint_save`` writes.  It holds only plain values (str-keyed dicts, lists,
str, int, float, bool and CPU tensors), so PyTorch reads it safely with
``torch.load(path, weights_only=True)``; never use ``weights_only=False`` on a file you
did not write, it runs code from the file.  An optimiser parameter that is one of the
saved model's parameters is stored once, as the parameter's name (a str) in
``ckpt["optimizer"]["params"]``.

Saving is atomic: the file is written to ``.<name>.tmp-<pid>-<n>`` in the same
directory, flushed to disk and renamed over ``path``, so a failed save (full disk) or an
interrupted one (the process killed) leaves the previous checkpoint intact.  Loading
restores into existing objects, onto their devices, so a run can restart on another
device; a run restarted from step k ends with the same parameters as an uninterrupted run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyftorch import _lib
from pyftorch.model import PathLike, _path_bytes

if TYPE_CHECKING:  # pragma: no cover
    from pyftorch.model import Model
    from pyftorch.optim import LRScheduler, Optimizer

_L = _lib.load()


def _handles(model: Any, optimizer: Any, scheduler: Any) -> tuple[int | None, int | None, int | None]:
    from pyftorch.model import Model
    from pyftorch.optim import LRScheduler, Optimizer

    out = []
    for name, obj, cls in (
        ("model", model, Model),
        ("optimizer", optimizer, Optimizer),
        ("scheduler", scheduler, LRScheduler),
    ):
        if obj is None:
            out.append(None)
        elif not isinstance(obj, cls):
            raise TypeError(f"{name} must be a pyftorch {cls.__name__} or None, got {type(obj).__name__}")
        else:
            out.append(obj._get())
    return out[0], out[1], out[2]


def save_checkpoint(
    path: PathLike, model: Model | None = None, optimizer: Optimizer | None = None, scheduler: LRScheduler | None = None
) -> None:
    """Write the state of any of ``model``, ``optimizer`` and ``scheduler`` to ``path``.

    The write is atomic: on any failure the previous file at ``path`` is unchanged.

    Raises:
        LibraryIOError: the file cannot be written (the message names the file and the
            cause, e.g. "No space left on device").
    """
    m, o, s = _handles(model, optimizer, scheduler)
    _L.ft_checkpoint_save(_path_bytes(path), m, o, s)


def load_checkpoint(
    path: PathLike, model: Model | None = None, optimizer: Optimizer | None = None, scheduler: LRScheduler | None = None
) -> None:
    """Restore the state saved in ``path`` into the given (existing) objects.

    Everything is read and checked before anything changes, so a failed load leaves the
    objects as they were.

    Raises:
        LibraryIOError: the file cannot be read, is not a pyftorch checkpoint, or is
            malformed (wrong types, inconsistent counts, values out of range); the message
            names the file and the entry at fault.
        InvalidArgumentError: the checkpoint belongs to a different model (parameter
            names or shapes differ), optimiser (kind or shapes) or scheduler, or lacks
            the state of an object that was passed.
    """
    m, o, s = _handles(model, optimizer, scheduler)
    _L.ft_checkpoint_load(_path_bytes(path), m, o, s)


__all__ = ["save_checkpoint", "load_checkpoint"]
