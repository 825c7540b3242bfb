"""Random scenarios drawn with hypothesis: expression trees, shapes and step sequences.

:func:`scenarios` is a hypothesis strategy.  It draws

* 1-3 leaves whose shapes broadcast to a common base shape (the base itself, a
  one-element ``(1,)``, the base with some extents set to 1, or a trailing part of it),
  values with ``|x|`` in [0.25, 2], ``requires_grad`` (at least one leaf has it) and
  zero-copy or copied construction;
* expression trees over ``+ - * / **``, unary minus, ``sum``/``mean`` and int or real
  scalars on either side;
* a sequence of steps: evaluate, backward (ones or an external gradient, with or without
  ``retain_graph``, repeated to accumulate, or again after the graph was freed), zero_grad
  of some leaves, read gradients (also of non-leaves), release a result.

Singular points are kept away *by construction*, using the float64 values of each
sub-expression while the tree is drawn (so no example is rejected): a denominator that
comes within 0.25 of zero, and a base of a real or negative power that is not in
[0.25, 8], are replaced by ``(e*e)/k + 0.5``; exponents of tensor powers are scaled into
[-3, 3]; any sub-expression larger than 100 in magnitude is divided by a power of ten.

:func:`run_random` runs N drawn scenarios through the engine from a given seed, so that a
failure is reproducible with ``pyftorch crosscheck --random N --seed S``.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyftorch.crosscheck.engine import CaseResult, cuda_skip_reason, run_case
from pyftorch.crosscheck.expr import BINARY_OPS, Bin, Const, Expr, Neg, Reduce, Var, evaluate
from pyftorch.crosscheck.scenario import Backward, Eval, Leaf, ReadGrad, Release, Scenario, ZeroGrad

BASE_SHAPES: tuple[tuple[int, ...], ...] = ((1,), (4,), (2, 3), (3, 1), (2, 1, 3), (2, 2, 2))
LEAF_NAMES = ("a", "b", "c")
MAGNITUDE_LIMIT = 100.0
MIN_DENOMINATOR = 0.25
POW_BASE_RANGE = (0.25, 8.0)
POW_EXPONENT_LIMIT = 3.0


def _np_reduce(kind: str, x: np.ndarray) -> np.ndarray:
    return (np.sum(x) if kind == "sum" else np.mean(x)).reshape(1)


def _np_eval(expr: Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(evaluate(expr, values, _np_reduce), dtype=np.float64)


# --- repairs that keep a sub-expression away from singular points ----------------------------
def _positive_base(e: Expr, val: np.ndarray) -> tuple[Expr, np.ndarray]:
    """(e*e)/k + 0.5, with k making the result lie in [0.5, 4.5]."""
    k = max(1.0, float(math.ceil(float(np.max(val * val)) / 4.0)))
    k_const: Any = int(k) if k.is_integer() else k
    out = Bin("+", Bin("/", Bin("*", e, e), Const(k_const)), Const(0.5))
    return out, val * val / k + 0.5


def _scale_down(e: Expr, val: np.ndarray, limit: float) -> tuple[Expr, np.ndarray]:
    """e / 10**n so that |e| <= limit."""
    peak = float(np.max(np.abs(val))) if val.size else 0.0
    if peak <= limit:
        return e, val
    n = math.ceil(math.log10(peak / limit))
    k = 10**n
    return Bin("/", e, Const(k)), val / k


def _needs_positive(val: np.ndarray) -> bool:
    lo, hi = POW_BASE_RANGE
    return val.size > 0 and not (np.all(val >= lo) and np.all(val <= hi))


def _near_zero(val: np.ndarray) -> bool:
    return val.size > 0 and bool(np.min(np.abs(val)) < MIN_DENOMINATOR)


# --- strategies --------------------------------------------------------------------------------
def _scalars(kind: str) -> st.SearchStrategy:
    """Scalar operands: small non-zero ints or reals with |s| in [0.5, 3]."""
    ints = st.sampled_from([1, 2, 3, -1, -2, -3])
    reals = st.floats(0.5, 3.0).flatmap(lambda x: st.sampled_from([x, -x]))
    if kind == "pow_exponent":
        return st.one_of(st.sampled_from([2, 3, 1, 0, -1, -2]), st.floats(-2.5, 3.0).map(lambda x: round(x, 3)))
    if kind == "pow_base":
        return st.one_of(st.sampled_from([2, 3]), st.floats(0.5, 3.0))
    return st.one_of(ints, reals)


def _leaf_shape(draw: Callable, base: tuple[int, ...]) -> tuple[int, ...]:
    choice = draw(st.sampled_from(["base", "base", "one", "ones_mask", "suffix"]))
    if choice == "one":
        return (1,)
    if choice == "ones_mask":
        mask = draw(st.lists(st.booleans(), min_size=len(base), max_size=len(base)))
        return tuple(1 if m else s for s, m in zip(base, mask))
    if choice == "suffix" and len(base) > 1:
        return base[draw(st.integers(1, len(base) - 1)) :]
    return base


def _values(shape: tuple[int, ...]) -> st.SearchStrategy:
    """float64 arrays with |x| in [0.25, 2] and random signs."""
    mags = hnp.arrays(np.float64, shape, elements=st.floats(0.25, 2.0))
    signs = hnp.arrays(np.bool_, shape)
    return st.tuples(mags, signs).map(lambda ms: np.where(ms[1], -ms[0], ms[0]))


def _expr(
    draw: Callable, depth: int, names: Sequence[str], values: dict[str, np.ndarray], top: bool = False
) -> tuple[Expr, np.ndarray]:
    """A random expression of at most ``depth`` operators, with its float64 value."""
    if depth <= 0 or (not top and draw(st.integers(0, 3)) == 0):
        name = draw(st.sampled_from(list(names)))
        return Var(name), values[name]
    kind = draw(st.sampled_from(["tensor", "tensor", "tensor", "scalar_right", "scalar_left", "neg", "reduce"]))
    if kind == "neg":
        arg, val = _expr(draw, depth - 1, names, values)
        return Neg(arg), -val
    if kind == "reduce":
        arg, val = _expr(draw, depth - 1, names, values)
        red = draw(st.sampled_from(["sum", "mean"]))
        return _scale_down(Reduce(red, arg), _np_reduce(red, val), MAGNITUDE_LIMIT)
    op = draw(st.sampled_from(list(BINARY_OPS)))
    if kind == "tensor":
        left, lv = _expr(draw, depth - 1, names, values)
        right, rv = _expr(draw, depth - 1, names, values)
        if op == "/" and _near_zero(rv):
            right, rv = _positive_base(right, rv)
        if op == "**":
            if _needs_positive(lv):
                left, lv = _positive_base(left, lv)
            right, rv = _scale_down(right, rv, POW_EXPONENT_LIMIT)
    elif kind == "scalar_right":
        left, lv = _expr(draw, depth - 1, names, values)
        if op == "**":
            s = draw(_scalars("pow_exponent"))
            integral = isinstance(s, int)
            if (not integral and _needs_positive(lv)) or (integral and s < 0 and _near_zero(lv)):
                left, lv = _positive_base(left, lv)
            elif integral and s > 0:
                left, lv = _scale_down(left, lv, POW_BASE_RANGE[1])
        else:
            s = draw(_scalars("plain"))
        right, rv = Const(s), s
    else:  # scalar_left
        right, rv = _expr(draw, depth - 1, names, values)
        if op == "**":
            s = draw(_scalars("pow_base"))
            right, rv = _scale_down(right, rv, POW_EXPONENT_LIMIT)
        else:
            s = draw(_scalars("plain"))
            if op == "/" and _near_zero(rv):
                right, rv = _positive_base(right, rv)
        left, lv = Const(s), s
    expr = Bin(op, left, right)
    return _scale_down(expr, _np_eval(expr, values), MAGNITUDE_LIMIT)


@st.composite
def scenarios(draw: Callable, max_depth: int = 3, max_actions: int = 8, name: str = "random") -> Scenario:
    """Hypothesis strategy for a random :class:`Scenario` (see the module docstring)."""
    base = draw(st.sampled_from(BASE_SHAPES))
    n_leaves = draw(st.integers(1, len(LEAF_NAMES)))
    names = LEAF_NAMES[:n_leaves]
    steps: list[Any] = []
    values: dict[str, np.ndarray] = {}
    grad_leaves = []
    for i, leaf in enumerate(names):
        shape = _leaf_shape(draw, base)
        data = draw(_values(shape))
        requires_grad = True if i == 0 else draw(st.booleans())
        if requires_grad:
            grad_leaves.append(leaf)
        values[leaf] = data
        steps.append(Leaf(leaf, data, requires_grad=requires_grad, view=draw(st.booleans())))

    outputs: dict[str, dict[str, Any]] = {}  # name -> {"freed": bool, "shape": tuple}
    counter = itertools.count()
    n_actions = draw(st.integers(1, max_actions))
    for _k in range(n_actions):
        live = sorted(outputs)
        action = (
            "eval"
            if not live
            else draw(
                st.sampled_from(["eval", "backward", "backward", "backward", "zero_grad", "read_grad", "release"])
            )
        )
        if action == "eval":
            expr, val = _expr(draw, draw(st.integers(1, max_depth)), names, values, top=True)
            if not set(grad_leaves) & _vars(expr):  # make sure something requires grad
                expr = Bin("+", expr, Var(grad_leaves[0]))
            saving = draw(st.booleans())
            if saving:  # root = tensor * leaf: its node saves tensors, so a freed graph must fail
                expr = Bin("*", expr, Var(draw(st.sampled_from(grad_leaves))))
            val = _np_eval(expr, values)
            out = f"y{next(counter)}"
            steps.append(Eval(out, expr))
            outputs[out] = {"freed": False, "saving": saving, "shape": val.shape}
        elif action == "backward":
            # Backward through a freed graph only where the outcome is certain: whether it
            # fails depends on whether the graph's nodes saved tensors, and that differs
            # between Python's torch and LibTorch for `x * s` and `x / s` (Python wraps the
            # scalar in a saved tensor; LibTorch's Scalar overloads save nothing).
            usable = [o for o in live if not outputs[o]["freed"] or outputs[o]["saving"]]
            if not usable:
                steps.append(ReadGrad(tuple(names)))
                continue
            out = draw(st.sampled_from(usable))
            gradient = draw(_values(outputs[out]["shape"])) if draw(st.booleans()) else None
            retain = draw(st.booleans())
            expect = "autograd" if outputs[out]["freed"] else None
            steps.append(Backward(out, gradient, retain_graph=retain, expect_error=expect))
            if not retain:
                outputs[out]["freed"] = True
        elif action == "zero_grad":
            chosen = draw(st.lists(st.sampled_from(list(names)), min_size=1, unique=True))
            steps.append(ZeroGrad(tuple(chosen)))
        elif action == "read_grad":
            chosen = draw(st.lists(st.sampled_from(list(names) + live), min_size=1, max_size=3, unique=True))
            steps.append(ReadGrad(tuple(chosen)))
        else:
            out = draw(st.sampled_from(live))
            steps.append(Release((out,)))
            del outputs[out]
    return Scenario(name, tuple(steps), "drawn by pyftorch.crosscheck.generate.scenarios", frozenset({"random"}))


def _vars(expr: Expr) -> set[str]:
    from pyftorch.crosscheck.expr import variables

    return variables(expr)


def new_seed() -> int:
    """A fresh random seed for :func:`run_random`."""
    return secrets.randbits(32)


def run_random(
    n: int,
    seed: int,
    devices: Sequence[str] = ("cpu",),
    dtypes: Sequence[str] = ("float32", "float64"),
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Draw ``n`` scenarios from ``seed`` and run each on every device and dtype.

    The same ``n`` and ``seed`` (with the same hypothesis version) draw the same scenarios.
    Scenarios are named ``random#<i>``; CUDA runs without CUDA give one ``skip`` result.
    """
    results: list[CaseResult] = []
    skip = {d: cuda_skip_reason() for d in devices if d.startswith("cuda")}
    for device, reason in skip.items():
        if reason:
            for dtype in dtypes:
                results.append(CaseResult(f"random[{n}]", device, dtype, "skip", skip_reason=reason))
    active = [d for d in devices if not skip.get(d)]
    if not active or n <= 0:
        return results
    counter = itertools.count()

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(scenarios())
    def check(scenario: Scenario) -> None:
        named = replace(scenario, name=f"random#{next(counter)}")
        for device in active:
            for dtype in dtypes:
                result = run_case(named, device, dtype)
                results.append(result)
                if on_result is not None:
                    on_result(result)

    check()
    return results


__all__ = ["scenarios", "run_random", "new_seed", "BASE_SHAPES"]
