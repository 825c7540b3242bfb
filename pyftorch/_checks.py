"""Checks of integer arguments before they cross into C (issue 9, item 11).

ctypes converts a Python int to a C integer by masking it (``2**64 + 3`` becomes 3) and
``int()`` truncates floats (3.7 becomes 3); both would silently change what the caller asked
for.  Every integer a user passes to the library goes through :func:`checked_int` first.
"""

from __future__ import annotations

import operator
from typing import Any


def checked_int(value: Any, name: str, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi].

    Raises TypeError for anything that is not an integer (floats included: 3.7 is not an
    extent, and 3.0 is refused too rather than guessed at) and OverflowError, naming the
    range, for an integer outside it.
    """
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}") from None
    if not lo <= number <= hi:
        raise OverflowError(f"{name} {number} is out of range: it must be in [{lo}, {hi}]")
    return number


__all__ = ["checked_int"]
