"""The built-in cross-check suite.

It covers every operator (``+ - * / **``, unary ``-``, ``sum``, ``mean``) alone and in
chains, every scalar form (integer and real scalars on either side), broadcasting of
one-element tensors, accumulation over two and three backward calls, ``zero_grad`` in
between, ``retain_graph`` reuse and the error without it, external gradients, zero-copy
leaves, constants, non-leaf gradients and backward errors.  Leaf values are drawn from a
fixed-seed generator away from the singular points (positive bases for real powers,
denominators bounded away from zero).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

import numpy as np

from pyftorch.crosscheck.expr import Bin, Neg, Reduce, c, v
from pyftorch.crosscheck.scenario import Backward, Eval, Leaf, ReadGrad, Release, Scenario, ZeroGrad
from pyftorch.crosscheck.training import ClipCase, LossCase, OptimCase, SchedulerCase, TrainingCase

Case = Union[Scenario, TrainingCase]

OPS = ("+", "-", "*", "/", "**")
_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(abs(hash_name(name)))


def hash_name(name: str) -> int:
    """A stable (not salted) hash of a case name, used to seed its data."""
    h = 0
    for ch in name.encode():
        h = (h * 131 + ch) % (2**31 - 1)
    return h


def positive(rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.5, high: float = 2.0) -> np.ndarray:
    """Uniform values in [low, high]."""
    return rng.uniform(low, high, size=shape)


def signed(rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.5, high: float = 2.0) -> np.ndarray:
    """Values with ``|x|`` in [low, high] and random signs."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _scenario(name: str, description: str, tags: set[str], *steps) -> Scenario:
    return Scenario(name, tuple(steps), description, frozenset(tags))


def _leaf_data(rng: np.random.Generator, op: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) for ``a op b``: positive base for ``**``, exponent in a modest range."""
    if op == "**":
        return positive(rng, shape), rng.uniform(-1.5, 2.5, size=shape)
    return signed(rng, shape), signed(rng, shape)


def _binary_cases() -> list[Scenario]:
    cases = []
    for op in OPS:
        name = f"op_{_OP_NAMES[op]}"
        rng = _rng(name)
        a, b = _leaf_data(rng, op, (3, 4))
        cases.append(
            _scenario(
                name,
                f"y = a {op} b, backward of y (ones) and of sum(y)",
                {op, "sum", "tensor-tensor"},
                Leaf("a", a),
                Leaf("b", b),
                Eval("y", Bin(op, v("a"), v("b"))),
                Backward("y", retain_graph=True),
                ZeroGrad(("a", "b")),
                Eval("s", Reduce("sum", v("y"))),
                Backward("s"),
            )
        )
    return cases


def _unary_cases() -> list[Scenario]:
    rng = _rng("op_neg")
    out = [
        _scenario(
            "op_neg",
            "y = -a",
            {"neg"},
            Leaf("a", signed(rng, (2, 3))),
            Eval("y", Neg(v("a"))),
            Backward("y"),
        )
    ]
    for kind in ("sum", "mean"):
        rng = _rng(f"op_{kind}")
        out.append(
            _scenario(
                f"op_{kind}",
                f"y = {kind}(a) of a rank-3 tensor",
                {kind},
                Leaf("a", signed(rng, (2, 3, 4))),
                Eval("y", Reduce(kind, v("a"))),
                Backward("y"),
            )
        )
    return out


def _scalar_cases() -> list[Scenario]:
    """Every operator with int and real scalars on both sides."""
    cases = []
    for op in OPS:
        name = f"scalar_{_OP_NAMES[op]}"
        rng = _rng(name)
        data = positive(rng, (2, 5)) if op in ("**", "/") else signed(rng, (2, 5))
        if op == "**":
            forms = [
                Bin(op, v("a"), c(2)),
                Bin(op, v("a"), c(-2)),
                Bin(op, v("a"), c(1.5)),
                Bin(op, v("a"), c(0.5)),
                Bin(op, c(2), v("a")),
                Bin(op, c(1.5), v("a")),
            ]
        else:
            forms = [Bin(op, v("a"), c(3)), Bin(op, v("a"), c(2.5)), Bin(op, c(3), v("a")), Bin(op, c(-0.75), v("a"))]
        steps: list = [Leaf("a", data)]
        for k, form in enumerate(forms):
            steps += [
                Eval(f"y{k}", form),
                Eval(f"s{k}", Reduce("sum", v(f"y{k}"))),
                Backward(f"s{k}"),
                ZeroGrad(("a",)),
            ]
        cases.append(_scenario(name, f"a {op} s and s {op} a for int and real s", {op, "scalar"}, *steps))
    return cases


def _chain_cases() -> list[Scenario]:
    rng = _rng("chain_ftorch_example")
    a = np.array([2.0, 3.0])
    b = np.array([6.0, 4.0])
    cases = [
        _scenario(
            "chain_ftorch_example",
            "FTorch's autograd example: Q = a*b; L = sum(a*b + a*b*a)",
            {"*", "+", "sum", "chain", "zero_grad"},
            Leaf("a", a),
            Leaf("b", b),
            Eval("Q", Bin("*", v("a"), v("b"))),
            Backward("Q"),
            ZeroGrad(("a", "b")),
            Eval("L", Reduce("sum", Bin("+", Bin("*", v("a"), v("b")), Bin("*", Bin("*", v("a"), v("b")), v("a"))))),
            Backward("L"),
        )
    ]
    rng = _rng("chain_all_ops")
    # ((a + b) * (a - b) / (b ** 2) - (-a)) ** 2, with b positive
    expr = Bin(
        "**",
        Bin(
            "-",
            Bin("/", Bin("*", Bin("+", v("a"), v("b")), Bin("-", v("a"), v("b"))), Bin("**", v("b"), c(2))),
            Neg(v("a")),
        ),
        c(2),
    )
    cases.append(
        _scenario(
            "chain_all_ops",
            "((a + b) * (a - b) / b**2 - (-a)) ** 2",
            {"+", "-", "*", "/", "**", "neg", "chain"},
            Leaf("a", signed(rng, (4, 3))),
            Leaf("b", positive(rng, (4, 3))),
            Eval("y", expr),
            Backward("y"),
        )
    )
    rng = _rng("chain_tensor_pow")
    cases.append(
        _scenario(
            "chain_tensor_pow",
            "mean(a ** b * 3.0 - 2 / b + 1) with tensor exponent",
            {"**", "*", "/", "-", "+", "mean", "scalar", "chain"},
            Leaf("a", positive(rng, (5,))),
            Leaf("b", positive(rng, (5,))),
            Eval(
                "y",
                Reduce(
                    "mean",
                    Bin("+", Bin("-", Bin("*", Bin("**", v("a"), v("b")), c(3.0)), Bin("/", c(2), v("b"))), c(1)),
                ),
            ),
            Backward("y"),
        )
    )
    rng = _rng("chain_deep")
    x = v("x")
    e = x
    for k in range(6):  # alternate operators, keep values bounded
        e = (
            Bin("+", Bin("*", e, c(0.5)), Bin("/", x, Bin("+", Bin("*", x, x), c(1.0))))
            if k % 2
            else Bin("-", e, Bin("**", x, c(2)))
        )
    cases.append(
        _scenario(
            "chain_deep",
            "a 6-level chain of +, -, *, /, ** reusing one leaf",
            {"chain", "+", "-", "*", "/", "**"},
            Leaf("x", signed(rng, (3, 3))),
            Eval("y", e),
            Eval("s", Reduce("sum", v("y"))),
            Backward("s"),
        )
    )
    rng = _rng("chain_intermediate_reuse")
    cases.append(
        _scenario(
            "chain_intermediate_reuse",
            "t = a*b; y = t*t + t/a (a named intermediate used twice)",
            {"chain", "*", "+", "/"},
            Leaf("a", positive(rng, (2, 2))),
            Leaf("b", signed(rng, (2, 2))),
            Eval("t", Bin("*", v("a"), v("b"))),
            Eval("y", Bin("+", Bin("*", v("t"), v("t")), Bin("/", v("t"), v("a")))),
            Backward("y"),
            ReadGrad(("a", "b", "t")),
        )
    )
    return cases


def _accumulation_cases() -> list[Scenario]:
    rng = _rng("accumulate_2")
    a, b = signed(rng, (3,)), signed(rng, (3,))
    acc2 = _scenario(
        "accumulate_2",
        "two backward calls through fresh graphs accumulate",
        {"accumulation"},
        Leaf("a", a),
        Leaf("b", b),
        Eval("y", Bin("*", v("a"), v("b"))),
        Backward("y"),
        Eval("z", Bin("+", Bin("*", v("a"), v("a")), v("b"))),
        Backward("z"),
    )
    rng = _rng("accumulate_3")
    acc3 = _scenario(
        "accumulate_3",
        "three backward calls accumulate; then read the gradients",
        {"accumulation"},
        Leaf("a", signed(rng, (2, 3))),
        Leaf("b", positive(rng, (2, 3))),
        Eval("y1", Reduce("sum", Bin("*", v("a"), v("b")))),
        Backward("y1"),
        Eval("y2", Reduce("mean", Bin("/", v("a"), v("b")))),
        Backward("y2"),
        Eval("y3", Bin("**", v("b"), c(3))),
        Backward("y3"),
        ReadGrad(("a", "b")),
    )
    rng = _rng("zero_grad_between")
    zg = _scenario(
        "zero_grad_between",
        "backward, zero_grad, backward: only the second gradient remains; zero_grad before any gradient is a no-op",
        {"zero_grad", "accumulation"},
        Leaf("a", signed(rng, (4,))),
        Leaf("b", signed(rng, (4,))),
        ZeroGrad(("a", "b")),
        Eval("y", Bin("*", v("a"), v("b"))),
        Backward("y"),
        ZeroGrad(("a",)),
        Eval("z", Bin("-", Bin("*", v("a"), c(3)), v("b"))),
        Backward("z"),
        ZeroGrad(("a", "b")),
        Eval("w", Reduce("sum", Bin("*", v("a"), v("a")))),
        Backward("w"),
        Backward("w", expect_error="autograd"),
    )
    rng = _rng("spec_example")
    spec = _scenario(
        "spec_example",
        "the online-training page: Q = a*b, P = a+b, zero_grad, backward(P, retain_graph)",
        {"zero_grad", "retain_graph"},
        Leaf("a", signed(rng, (2, 2))),
        Leaf("b", signed(rng, (2, 2))),
        Eval("Q", Bin("*", v("a"), v("b"))),
        Eval("P", Bin("+", v("a"), v("b"))),
        Backward("Q"),
        ZeroGrad(("a", "b")),
        Backward("P", retain_graph=True),
        Backward("P"),
    )
    return [acc2, acc3, zg, spec]


def _retain_graph_cases() -> list[Scenario]:
    rng = _rng("retain_graph_reuse")
    reuse = _scenario(
        "retain_graph_reuse",
        "backward three times through one graph (retain_graph on the first two), then once more: the graph is freed",
        {"retain_graph", "accumulation"},
        Leaf("a", positive(rng, (3, 2))),
        Leaf("b", signed(rng, (3, 2))),
        Eval("y", Reduce("sum", Bin("*", Bin("**", v("a"), c(1.5)), v("b")))),
        Backward("y", retain_graph=True),
        Backward("y", retain_graph=True),
        Backward("y"),
        Backward("y", expect_error="autograd"),
    )
    rng = _rng("retain_graph_missing")
    missing = _scenario(
        "retain_graph_missing",
        "a second backward without retain_graph fails on both sides, gradients unchanged",
        {"retain_graph", "error"},
        Leaf("a", signed(rng, (3,))),
        Eval("y", Bin("*", Bin("*", v("a"), v("a")), v("a"))),
        Backward("y"),
        Backward("y", expect_error="autograd"),
        ReadGrad(("a",)),
    )
    return [reuse, missing]


def _external_gradient_cases() -> list[Scenario]:
    rng = _rng("external_gradient")
    a, b = signed(rng, (2, 3)), positive(rng, (2, 3))
    g1, g2 = signed(rng, (2, 3)), signed(rng, (2, 3))
    ext = _scenario(
        "external_gradient",
        "backward with external gradients, twice through a retained graph",
        {"external_gradient", "retain_graph", "accumulation"},
        Leaf("a", a),
        Leaf("b", b),
        Eval("y", Bin("/", Bin("*", v("a"), v("a")), v("b"))),
        Backward("y", gradient=g1, retain_graph=True),
        Backward("y", gradient=g2),
    )
    rng = _rng("external_gradient_scalar")
    ext_scalar = _scenario(
        "external_gradient_scalar",
        "external gradient of a one-element result scales the gradient",
        {"external_gradient", "sum"},
        Leaf("a", signed(rng, (5,))),
        Eval("y", Reduce("sum", Bin("**", v("a"), c(3)))),
        Backward("y", gradient=np.array([-2.5])),
    )
    rng = _rng("external_gradient_shape_error")
    bad = _scenario(
        "external_gradient_shape_error",
        "an external gradient of the wrong shape fails on both sides",
        {"external_gradient", "error"},
        Leaf("a", signed(rng, (2, 3))),
        Eval("y", Bin("*", v("a"), c(2))),
        Backward("y", gradient=signed(rng, (3, 2)), expect_error="shape"),
    )
    return [ext, ext_scalar, bad]


def _broadcast_cases() -> list[Scenario]:
    cases = []
    for op in OPS:
        name = f"broadcast_one_element_{_OP_NAMES[op]}"
        rng = _rng(name)
        big = positive(rng, (3, 4)) if op == "**" else signed(rng, (3, 4))
        one = positive(rng, (1,), 0.5, 1.5) if op in ("**", "/") else signed(rng, (1,))
        cases.append(
            _scenario(
                name,
                f"a(3,4) {op} s(1,) and s(1,) {op} a(3,4): the gradient of s sums over a",
                {op, "broadcast"},
                Leaf("a", big),
                Leaf("s", one),
                Eval("y", Bin(op, v("a"), v("s"))),
                Backward("y"),
                ZeroGrad(("a", "s")),
                Eval("z", Bin(op, v("s"), Bin("*", v("a"), v("a")) if op == "**" else v("a"))),
                Backward("z"),
            )
        )
    rng = _rng("broadcast_rows")
    cases.append(
        _scenario(
            "broadcast_rows",
            "a(2,3,4) * r(4,) + c(3,1) broadcasting across ranks",
            {"broadcast", "*", "+"},
            Leaf("a", signed(rng, (2, 3, 4))),
            Leaf("r", signed(rng, (4,))),
            Leaf("c", signed(rng, (3, 1))),
            Eval("y", Bin("+", Bin("*", v("a"), v("r")), v("c"))),
            Backward("y"),
        )
    )
    rng = _rng("broadcast_shape_error")
    cases.append(
        _scenario(
            "broadcast_shape_error",
            "shapes (2,3) and (4,) do not broadcast: both sides fail",
            {"broadcast", "error"},
            Leaf("a", signed(rng, (2, 3))),
            Leaf("b", signed(rng, (4,))),
            Eval("y", Bin("+", v("a"), v("b")), expect_error="shape"),
            Eval("z", Bin("+", v("a"), v("a"))),
            Backward("z"),
        )
    )
    return cases


def _misc_cases() -> list[Scenario]:
    cases = []
    rng = _rng("constants")
    cases.append(
        _scenario(
            "constants",
            "a leaf without requires_grad gets no gradient",
            {"constant"},
            Leaf("a", signed(rng, (3,))),
            Leaf("k", positive(rng, (3,)), requires_grad=False),
            Eval("y", Bin("/", Bin("*", v("a"), v("k")), v("k"))),
            Backward("y"),
            ReadGrad(("a", "k", "y")),
        )
    )
    rng = _rng("no_requires_grad_error")
    cases.append(
        _scenario(
            "no_requires_grad_error",
            "backward of a result computed from constants only fails on both sides",
            {"constant", "error"},
            Leaf("k", signed(rng, (3,)), requires_grad=False),
            Eval("y", Bin("*", v("k"), c(2))),
            Backward("y", expect_error="autograd"),
        )
    )
    rng = _rng("zero_copy_leaves")
    cases.append(
        _scenario(
            "zero_copy_leaves",
            "leaves that view NumPy memory (copy=False on the CPU)",
            {"view", "*", "-"},
            Leaf("a", signed(rng, (4, 2)), view=True),
            Leaf("b", positive(rng, (4, 2)), view=True),
            Eval("y", Reduce("sum", Bin("-", Bin("*", v("a"), v("b")), Bin("**", v("b"), c(0.5))))),
            Backward("y"),
        )
    )
    rng = _rng("backward_on_leaf")
    cases.append(
        _scenario(
            "backward_on_leaf",
            "backward of a leaf itself gives ones (with an external gradient: that gradient)",
            {"leaf"},
            Leaf("a", signed(rng, (2, 2))),
            Backward("a"),
            Backward("a", gradient=signed(rng, (2, 2))),
        )
    )
    rng = _rng("release_before_backward")
    cases.append(
        _scenario(
            "release_before_backward",
            "the graph survives releasing the leaf handles and intermediates",
            {"lifetime"},
            Leaf("a", signed(rng, (3,))),
            Leaf("b", signed(rng, (3,))),
            Eval("t", Bin("*", v("a"), v("b"))),
            Eval("y", Reduce("sum", Bin("*", v("t"), v("a")))),
            Release(("t",)),
            Backward("y"),
            Release(("b",)),
            ReadGrad(("a",)),
        )
    )
    rng = _rng("rank0_and_empty")
    cases.append(
        _scenario(
            "rank0_and_empty",
            "0-d leaves and empty tensors",
            {"edge"},
            Leaf("s", np.array(1.25)),
            Leaf("e", np.zeros((0, 3))),
            Eval("y", Bin("*", Bin("**", v("s"), c(3)), c(2))),
            Backward("y"),
            Eval("z", Reduce("sum", Bin("*", v("e"), v("s")))),
            Backward("z"),
        )
    )
    return cases


# --------------------------------------------------------------------------------------------
# Training cases: losses, optimisers, schedulers, clipping (pyftorch.crosscheck.training)
# --------------------------------------------------------------------------------------------
def _away_from(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kinks: tuple[float, ...],
    low: float = 0.1,
    high: float = 2.5,
    margin: float = 0.1,
) -> np.ndarray:
    """Signed values with |x| in [low, high] and at least ``margin`` from every |kink|."""
    out = signed(rng, shape, low, high)
    for _ in range(100):
        bad = np.zeros(shape, dtype=bool)
        for k in kinks:
            bad |= np.abs(np.abs(out) - k) < margin
        if not bad.any():
            return out
        out = np.where(bad, signed(rng, shape, low, high), out)
    raise AssertionError("could not draw values away from the kinks")


def _regression_loss_case(loss: str, reduction: str, options: dict, kink: float | None) -> LossCase:
    suffix = "".join(f"_{k.split('_')[0]}{v:g}" for k, v in options.items())
    name = f"loss_{loss.removesuffix('_loss')}{suffix}_{reduction}"
    rng = _rng(name)
    shape = (6, 4)
    x = signed(rng, shape, 0.1, 2.0)
    # input - target stays away from the kinks (0 for L1, beta/delta for smooth L1/Huber)
    diff = _away_from(rng, shape, (0.0,) + ((kink,) if kink is not None else ()))
    gradient = signed(rng, shape) if reduction == "none" else (np.array([0.75]) if reduction == "sum" else None)
    extra = f" ({', '.join(f'{k}={v!r}' for k, v in options.items())})" if options else ""
    return LossCase(
        name=name,
        description=f"{loss}{extra}, reduction={reduction!r}: value and input gradient",
        tags=frozenset({"loss", loss, reduction}),
        loss=loss,
        input=x,
        target=x - diff,
        reduction=reduction,
        options=options,
        gradient=gradient,
    )


def _loss_cases() -> list[LossCase]:
    cases = []
    reductions = ("mean", "sum", "none")
    for loss, options, kink in (
        ("mse_loss", {}, None),
        ("l1_loss", {}, None),
        ("smooth_l1_loss", {}, 1.0),
        ("huber_loss", {}, 1.0),
    ):
        for reduction in reductions:
            cases.append(_regression_loss_case(loss, reduction, options, kink))
    for loss, options in (("smooth_l1_loss", {"beta": 0.5}), ("huber_loss", {"delta": 0.3})):
        kink = next(iter(options.values()))
        for reduction in ("mean", "none"):
            cases.append(_regression_loss_case(loss, reduction, options, kink))
    cases.append(_regression_loss_case("smooth_l1_loss", "sum", {"beta": 2.0}, 2.0))
    cases.append(_regression_loss_case("huber_loss", "sum", {"delta": 2.0}, 2.0))
    # BCE with logits: targets in [0, 1]
    for reduction in reductions:
        name = f"loss_bce_with_logits_{reduction}"
        rng = _rng(name)
        x, y = signed(rng, (5, 3), 0.1, 3.0), rng.uniform(0.0, 1.0, size=(5, 3))
        gradient = signed(rng, (5, 3)) if reduction == "none" else None
        cases.append(
            LossCase(
                name=name,
                description=f"binary_cross_entropy_with_logits, reduction={reduction!r}",
                tags=frozenset({"loss", "binary_cross_entropy_with_logits", reduction}),
                loss="binary_cross_entropy_with_logits",
                input=x,
                target=y,
                reduction=reduction,
                gradient=gradient,
            )
        )
    # cross-entropy: class indices and probabilities, label smoothing, spatial and unbatched inputs
    n, classes = 6, 5
    ce = [
        ("index", (n, classes), {}, reductions),
        ("prob", (n, classes), {}, reductions),
        ("index", (n, classes), {"label_smoothing": 0.1}, ("mean", "none")),
        ("prob", (n, classes), {"label_smoothing": 0.2}, ("sum",)),
        ("index", (3, 4, 2), {}, ("mean",)),
        ("index", (classes,), {}, ("mean",)),
        ("prob", (3, 4, 2), {"label_smoothing": 0.05}, ("none",)),
    ]
    for target_kind, shape, options, reds in ce:
        for reduction in reds:
            layout = {2: "", 3: "_spatial", 1: "_unbatched"}[len(shape)]
            smooth = f"_smoothing{options['label_smoothing']:g}" if options else ""
            name = f"loss_cross_entropy_{target_kind}{layout}{smooth}_{reduction}"
            rng = _rng(name)
            x = signed(rng, shape, 0.1, 3.0)
            class_dim = 0 if len(shape) == 1 else 1
            reduced = tuple(s for i, s in enumerate(shape) if i != class_dim)
            if target_kind == "index":
                y = rng.integers(0, shape[class_dim], size=reduced)
                loss_shape = reduced
            else:
                y = np.moveaxis(rng.dirichlet(np.ones(shape[class_dim]), size=reduced), -1, class_dim)
                loss_shape = reduced
            gradient = signed(rng, loss_shape) if reduction == "none" else None
            what = "class indices" if target_kind == "index" else "probabilities"
            extra = f", label_smoothing={options['label_smoothing']}" if options else ""
            cases.append(
                LossCase(
                    name=name,
                    description=f"cross_entropy of {shape} logits with {what}{extra}, reduction={reduction!r}",
                    tags=frozenset(
                        {"loss", "cross_entropy", target_kind, reduction} | ({"label_smoothing"} if options else set())
                    ),
                    loss="cross_entropy",
                    input=x,
                    target=np.asarray(y),
                    reduction=reduction,
                    options=options,
                    target_is_index=target_kind == "index",
                    gradient=gradient,
                )
            )
    return cases


def _optim_data(name: str) -> dict[str, np.ndarray]:
    rng = _rng(name)
    x = signed(rng, (8, 4), 0.1, 2.0)
    return {
        "x": x,
        "y": 1.5 * x - 0.5 + 0.3 * rng.standard_normal((8, 4)),
        "w": signed(rng, (4,), 0.2, 1.5),
        "b": signed(rng, (4,), 0.2, 1.5),
    }


#: (case suffix, optimiser, options, extras) -- at least two hyper-parameter sets per optimiser,
#: plus each optimiser's defaults (which proves the library's defaults are torch.optim's).
OPTIM_CASES: tuple[tuple[str, str, dict, dict], ...] = (
    ("sgd_defaults", "SGD", {}, {}),
    ("sgd_plain", "SGD", {"lr": 0.1}, {}),
    ("sgd_momentum_nesterov_wd", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, {}),
    (
        "sgd_momentum_dampening_wd_maximize",
        "SGD",
        {"lr": 0.01, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.02, "maximize": True},
        {},
    ),
    ("adam_defaults", "Adam", {}, {}),
    ("adam_plain", "Adam", {"lr": 0.05}, {}),
    ("adam_amsgrad_wd_betas", "Adam", {"lr": 0.03, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}, {}),
    ("adamw_defaults", "AdamW", {}, {}),
    ("adamw_wd", "AdamW", {"lr": 0.05, "weight_decay": 0.05}, {}),
    ("adamw_amsgrad_eps", "AdamW", {"lr": 0.03, "weight_decay": 0.2, "amsgrad": True, "eps": 1e-6}, {}),
    ("rmsprop_defaults", "RMSprop", {}, {}),
    ("rmsprop_plain", "RMSprop", {"lr": 0.01, "alpha": 0.95}, {}),
    (
        "rmsprop_centered_momentum_wd",
        "RMSprop",
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
        {},
    ),
    ("adagrad_defaults", "Adagrad", {}, {}),
    ("adagrad_plain", "Adagrad", {"lr": 0.1}, {}),
    (
        "adagrad_lr_decay_init_acc_wd",
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
        {},
    ),
    # with a scheduler, a learning rate set by hand, clipping, zero_grad(set_to_none=False)
    (
        "sgd_momentum_steplr",
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
        {"scheduler": ("StepLR", {"step_size": 5, "gamma": 0.5})},
    ),
    ("adamw_cosine", "AdamW", {"lr": 0.05}, {"scheduler": ("CosineAnnealingLR", {"T_max": 8, "eta_min": 0.001})}),
    ("adam_set_lr", "Adam", {"lr": 0.05}, {"set_lr": {8: 0.01, 15: 0.1}}),
    ("rmsprop_clip_norm", "RMSprop", {"lr": 0.02, "momentum": 0.3}, {"clip_norm": 0.5}),
    ("sgd_zero_grad_to_zero", "SGD", {"lr": 0.05, "momentum": 0.5}, {"set_to_none": False}),
)


def _optim_cases() -> list[OptimCase]:
    cases = []
    for suffix, optimizer, options, extras in OPTIM_CASES:
        name = f"optim_{suffix}"
        data = _optim_data(name)
        tags = {"optim", optimizer} | {k for k, v in options.items() if v} | set(extras)
        desc = f"{optimizer}({', '.join(f'{k}={v!r}' for k, v in options.items()) or 'defaults'})"
        if "scheduler" in extras:
            desc += f" + {extras['scheduler'][0]}"
        cases.append(
            OptimCase(
                name=name,
                description=f"{desc}: loss, parameters and lr after each of 20 steps",
                tags=frozenset(tags),
                optimizer=optimizer,
                options=options,
                steps=20,
                **data,
                **extras,
            )
        )
    return cases


def _scheduler_cases() -> list[SchedulerCase]:
    specs = (
        ("sched_steplr", "StepLR", {"step_size": 4, "gamma": 0.5}, 0.1),
        ("sched_steplr_default_gamma", "StepLR", {"step_size": 7}, 0.2),
        ("sched_exponentiallr", "ExponentialLR", {"gamma": 0.9}, 0.1),
        ("sched_cosine_past_tmax", "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, 0.1),
        ("sched_cosine_default_eta_min", "CosineAnnealingLR", {"T_max": 25}, 0.05),
        ("sched_cosine_tmax_1", "CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}, 0.1),
    )
    return [
        SchedulerCase(
            name=name,
            description=f"{sched}({', '.join(f'{k}={v!r}' for k, v in opts.items())}) "
            f"from lr={lr}: the learning rate over 30 epochs",
            tags=frozenset({"scheduler", sched}),
            scheduler=sched,
            options=opts,
            lr=lr,
            epochs=30,
        )
        for name, sched, opts, lr in specs
    ]


def _clip_cases() -> list[ClipCase]:
    specs = (
        ("clip_norm_2", "norm", {"max_norm": 0.5, "norm_type": 2.0}, True),
        ("clip_norm_inf", "norm", {"max_norm": 0.3, "norm_type": float("inf")}, True),
        ("clip_norm_3", "norm", {"max_norm": 0.7, "norm_type": 3.0}, True),
        ("clip_norm_no_clipping", "norm", {"max_norm": 100.0, "norm_type": 2.0}, True),
        ("clip_norm_inf_missing_grad", "norm", {"max_norm": 0.4, "norm_type": float("inf")}, False),
        ("clip_value", "value", {"clip_value": 0.3}, True),
        ("clip_value_missing_grad", "value", {"clip_value": 0.5}, False),
    )
    cases = []
    for name, mode, options, all_grads in specs:
        rng = _rng(name)
        params = (signed(rng, (3, 4)), signed(rng, (4,)), signed(rng, (2, 2)))
        grads = tuple(
            None if (not all_grads and i == 1) else signed(rng, p.shape, 0.05, 1.0) for i, p in enumerate(params)
        )
        tags = {"clip", f"clip_{mode}"} | ({"missing_grad"} if not all_grads else set())
        args = ", ".join(f"{k}={v!r}" for k, v in options.items())
        description = f"clip_grad_{mode}_ ({args})" + ("" if all_grads else ", one parameter without a gradient")
        cases.append(
            ClipCase(
                name=name,
                description=description,
                tags=frozenset(tags),
                mode=mode,
                params=params,
                grads=grads,
                **options,
            )
        )
    return cases


def training_suite() -> list[TrainingCase]:
    """The built-in training cases: every loss, optimiser, scheduler and clipping mode."""
    return [*_loss_cases(), *_optim_cases(), *_scheduler_cases(), *_clip_cases()]


#: Builders of the built-in suite, in display order.
_BUILDERS: tuple[Callable[[], list], ...] = (
    _binary_cases,
    _unary_cases,
    _scalar_cases,
    _chain_cases,
    _broadcast_cases,
    _accumulation_cases,
    _retain_graph_cases,
    _external_gradient_cases,
    _misc_cases,
    training_suite,
)


def builtin_suite() -> list[Case]:
    """Every built-in case (fresh objects each call; the data is deterministic): the autograd
    scenarios, then the training cases (losses, optimisers, schedulers, clipping)."""
    cases: list[Case] = []
    for build in _BUILDERS:
        cases.extend(build())
    names = [s.name for s in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


__all__ = ["builtin_suite", "training_suite", "OPTIM_CASES", "positive", "signed", "hash_name"]
