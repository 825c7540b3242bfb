"""Scenarios: sequences of steps run side by side through libftorch and through torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from pyftorch.crosscheck.expr import Expr


def _fmt_shape(a: np.ndarray) -> str:
    return "(" + ",".join(str(s) for s in a.shape) + ("," if a.ndim == 1 else "") + ")"


@dataclass(frozen=True, eq=False)
class Leaf:
    """Build a tensor from ``data`` (float64 values, cast to the run's dtype).

    ``view=True`` builds the library tensor as a zero-copy view of a NumPy array (CPU only;
    on other devices the values are copied, as the library does).
    """

    name: str
    data: np.ndarray
    requires_grad: bool = True
    view: bool = False

    def __str__(self) -> str:
        flags = (" requires_grad" if self.requires_grad else "") + (" view" if self.view else "")
        return f"leaf {self.name}{_fmt_shape(self.data)}{flags}"


@dataclass(frozen=True, eq=False)
class Eval:
    """``name = expr``: evaluate an expression; its value is compared.

    ``expect_error`` names the library error expected instead (torch must then fail too).
    """

    name: str
    expr: Expr
    expect_error: str | None = None

    def __str__(self) -> str:
        return f"{self.name} = {self.expr}" + (f"  (expect {self.expect_error} error)" if self.expect_error else "")


@dataclass(frozen=True, eq=False)
class Backward:
    """``target.backward(gradient, retain_graph)``; then every leaf's gradient is compared.

    ``gradient=None`` is a tensor of ones.  ``expect_error`` names the library error
    expected instead (``"autograd"``, ``"shape"`` ...); torch must then fail too.  With a
    trailing ``?`` (``"autograd?"``) the error is optional: both sides must agree.
    """

    target: str
    gradient: np.ndarray | None = None
    retain_graph: bool = False
    expect_error: str | None = None

    def __str__(self) -> str:
        parts = [f"backward {self.target}"]
        if self.gradient is not None:
            parts.append(f"gradient{_fmt_shape(self.gradient)}")
        if self.retain_graph:
            parts.append("retain_graph")
        if self.expect_error:
            parts.append(f"expect {self.expect_error} error")
        return " ".join(parts)


@dataclass(frozen=True, eq=False)
class ZeroGrad:
    """``zero_grad()`` of the named tensors; then every leaf's gradient is compared."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return "zero_grad " + ",".join(self.names)


@dataclass(frozen=True, eq=False)
class ReadGrad:
    """Compare the gradients of the named tensors (``None`` on both sides for non-leaves)."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return "read grad " + ",".join(self.names)


@dataclass(frozen=True, eq=False)
class Release:
    """Drop the named tensors (closes the library handles)."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return "release " + ",".join(self.names)


Step = Union[Leaf, Eval, Backward, ZeroGrad, ReadGrad, Release]


@dataclass(frozen=True, eq=False)
class Scenario:
    """A named list of steps.  ``tags`` say what it covers (for the suite's coverage test)."""

    name: str
    steps: tuple[Step, ...]
    description: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    def text(self) -> str:
        """The steps, one per line (printed for failing cases, stored in JSON reports)."""
        return "\n".join(f"{i:2d}. {step}" for i, step in enumerate(self.steps))
