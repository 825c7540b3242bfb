"""Expression trees over the operator set, evaluated the same way on every backend.

The same tree is evaluated with :class:`pyftorch.Tensor` operands (through libftorch),
with ``torch.Tensor`` operands (PyTorch in Python) and with NumPy float64 arrays (the
generator uses that to keep away from singular points).  Binary operators and unary minus
are applied with Python's own operators, so both backends see exactly the expression a
user would write; ``sum``/``mean`` go through the backend (the library returns shape (1,)).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

#: The binary operators: symbol -> Python operator function.
BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
REDUCTIONS = ("sum", "mean")


@dataclass(frozen=True)
class Var:
    """A named tensor of the scenario (a leaf or an earlier result)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A Python scalar operand (int uses the library's integer-scalar form, float the real one)."""

    value: int | float

    def __str__(self) -> str:
        return repr(self.value) if self.value >= 0 else f"({self.value!r})"


@dataclass(frozen=True)
class Bin:
    """``left op right``; at most one side is a :class:`Const`."""

    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in BINARY_OPS:
            raise ValueError(f"unknown operator {self.op!r}")
        if isinstance(self.left, Const) and isinstance(self.right, Const):
            raise ValueError("a binary operator needs at least one tensor operand")

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    arg: Expr

    def __str__(self) -> str:
        return f"(-{self.arg})"


@dataclass(frozen=True)
class Reduce:
    """``sum`` or ``mean`` of all elements (a one-element rank-1 tensor)."""

    kind: str
    arg: Expr

    def __post_init__(self) -> None:
        if self.kind not in REDUCTIONS:
            raise ValueError(f"unknown reduction {self.kind!r}")

    def __str__(self) -> str:
        return f"{self.kind}{self.arg}" if str(self.arg).startswith("(") else f"{self.kind}({self.arg})"


Expr = Union[Var, Const, Bin, Neg, Reduce]


def evaluate(expr: Expr, env: Mapping[str, Any], reduce: Callable[[str, Any], Any]) -> Any:
    """Evaluate ``expr`` with the tensors of ``env``; ``reduce(kind, x)`` does sum/mean."""
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Bin):
        return BINARY_OPS[expr.op](evaluate(expr.left, env, reduce), evaluate(expr.right, env, reduce))
    if isinstance(expr, Neg):
        return -evaluate(expr.arg, env, reduce)
    if isinstance(expr, Reduce):
        return reduce(expr.kind, evaluate(expr.arg, env, reduce))
    raise TypeError(f"not an expression: {expr!r}")


def variables(expr: Expr) -> set[str]:
    """Names of the tensors an expression reads."""
    if isinstance(expr, Var):
        return {expr.name}
    if isinstance(expr, Bin):
        return variables(expr.left) | variables(expr.right)
    if isinstance(expr, (Neg, Reduce)):
        return variables(expr.arg)
    return set()


def operators(expr: Expr) -> set[str]:
    """The operator symbols an expression uses (binary ops, ``neg``, ``sum``, ``mean``, ``scalar``)."""
    if isinstance(expr, Bin):
        found = {expr.op} | operators(expr.left) | operators(expr.right)
        if isinstance(expr.left, Const) or isinstance(expr.right, Const):
            found.add("scalar")
        return found
    if isinstance(expr, Neg):
        return {"neg"} | operators(expr.arg)
    if isinstance(expr, Reduce):
        return {expr.kind} | operators(expr.arg)
    return set()


# Small constructors for readable scenario definitions.
def v(name: str) -> Var:
    """A variable."""
    return Var(name)


def c(value: int | float) -> Const:
    """A scalar constant."""
    return Const(value)
