"""The lifetime discipline shared by every pyftorch object that owns a library handle
other than a tensor (models, optimisers, schedulers).

The rules are those of :class:`pyftorch.Tensor`: one object owns exactly one handle;
``close()`` releases it now (idempotent), leaving a ``with`` block closes it, and the
finaliser releases it with the kind's ``ft_*_release`` (which ignores stale handles and
never fails), so ``__del__`` is safe at interpreter shutdown.  Any use after ``close()``
raises :class:`~pyftorch.errors.ClosedHandleError`; copying or pickling is refused, because
it would give one handle two owners.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from pyftorch.errors import ClosedHandleError

#: Serialises close() with itself, so that two threads closing one object delete it once.
_CLOSE_LOCK = threading.Lock()


class HandleOwner:
    """Base class: owns one library handle, released by :meth:`close`, ``with`` or the finaliser.

    Subclasses set ``_what`` (a noun for messages), ``_delete`` (``ft_*_delete``, checked)
    and ``_release`` (``ft_*_release``, never fails) as ``staticmethod`` wrappers of the
    ctypes functions, and call :meth:`_adopt` once they hold a new handle.
    """

    _what: ClassVar[str] = "object"
    _delete: ClassVar[Callable[[int], Any]]
    _release: ClassVar[Callable[[int], Any]]
    _handle: int | None = None

    def _adopt(self, handle: int | None) -> None:
        """Take ownership of a handle the library just wrote."""
        self._handle = handle

    def _get(self) -> int:
        """The live handle, or ClosedHandleError."""
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise ClosedHandleError(f"the {self._what} was closed (or never constructed); it cannot be used any more")
        return handle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` released the handle."""
        return getattr(self, "_handle", None) is None

    def close(self) -> None:
        """Release the library handle now.  Idempotent; any later use raises ClosedHandleError.

        Thread-safe: a call in flight on another thread keeps its own reference to the object
        (the library takes one under the handle's lock) and finishes; a call that starts after
        the close raises ClosedHandleError or StaleHandleError (its base class).
        """
        with _CLOSE_LOCK:
            handle = getattr(self, "_handle", None)
            if handle is None:
                return
            self._handle = None
        type(self)._delete(handle)

    def __enter__(self) -> Any:
        self._get()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Never raises; the release function is reached through the class (alive while any
        # instance is), not through module globals that interpreter shutdown may clear.
        try:
            handle = self._handle
            release = type(self)._release
        except AttributeError:
            return
        if handle is not None:
            self._handle = None
            try:
                release(handle)
            except BaseException:  # noqa: BLE001 -- a finaliser must not raise
                pass

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"a pyftorch {self._what} owns a library handle and cannot be pickled or copied; "
            "use save_checkpoint/load_checkpoint to persist its state"
        )


__all__ = ["HandleOwner"]
