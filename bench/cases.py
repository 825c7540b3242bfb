"""What is measured: the cases, sizes, data types and the number of operations per call.

This module knows nothing about timing; :mod:`bench.variants` implements each case in each
language and :mod:`bench.test_ops_bench` measures them.  The report
(:mod:`pyftorch.bench`) reads everything it needs from ``extra_info`` in pytest-benchmark's
JSON, so adding a case here (plus one kernel per language) is all a new benchmark needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench import training

#: Tensor sizes (numbers of elements of the rank-1 operands).
SIZES = (1, 1_000, 1_000_000)
#: ftorch / ft_dtype codes of the data types (torch_kFloat32, torch_kFloat64).
DTYPES = {"float32": 6, "float64": 7}
#: The variants of every case, in table order.  "cxx" (raw LibTorch) is the floor.
VARIANTS = ("fortran", "cxx", "torch", "pyftorch")
#: Python PyTorch with a plain (eager) nn.Module: only for the training step, where
#: "torch" runs the TorchScript file that the other variants load.
EAGER = "eager"
#: C++ copying a fresh result into a tensor that views an array (`q.copy_(a * b)`): only
#: for the view_* cases, where "cxx" computes straight into the view with the out= kernel.
CXX_COPY = "cxx_copy"
VARIANT_LABELS = {
    "fortran": "Fortran ftorch",
    "cxx": "C++ LibTorch",
    "torch": "Python torch",
    "pyftorch": "pyftorch ctypes",
    EAGER: "Python torch, eager nn.Module",
    CXX_COPY: "C++ LibTorch, copy_ of a fresh result",
}

# What each variant's result() reads back after a case ran (same codes in the kernels).
# OUT_WEIGHT: the first layer's weight of the trained model, flattened in C order.
OUT_C, OUT_T, OUT_GRAD, OUT_HOLDER, OUT_WEIGHT = 0, 1, 2, 3, 4
# OUT_Q: the array that the view_* cases assign into.
OUT_Q = 5

# Graph set-up before the loop (same codes in the kernels):
GRAD_NONE = 0  # plain tensors a, b
GRAD_GRAPH = 1  # a requires gradients; q = a*b + a/b is built
GRAD_BACKWARD = 2  # as GRAD_GRAPH, plus one backward(q, ones) so that a has a gradient

#: Target wall time of one measured call, in seconds.  The operation count per call is
#: derived from it so that every call takes about 1-20 ms for every variant.
TARGET_CALL_S = 4e-3

#: The training-step case (pyftorch.bench checks its targets by this name).
TRAIN_CASE = "train_step"


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    grad_mode: int
    output: int
    #: Rough per-operation cost of the slowest variant (seconds) as a function of size.
    cost: Callable[[int], float]
    #: Expected output after the case ran `runs` times from a fresh set-up (float64).
    expected: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    #: True for the binary operators (the Fortran <= 1.15x C++ target applies to them).
    operator: bool = False
    #: The sizes this case runs at (a training step, for one, has its own shape).
    sizes: tuple[int, ...] = SIZES
    #: The variants that run it.
    variants: tuple[str, ...] = VARIANTS
    #: A training step (bench.training): `size` is the batch, the inputs come from
    #: bench.training.data and the result is checked against bench.training.reference.
    training: bool = False

    def info(self) -> dict:
        """What the report needs to know about the case (stored in the JSON)."""
        return {"case": self.name, "description": self.description, "operator": self.operator}

    def iterations(self, size: int) -> int:
        """Operations per measured call."""
        return max(1, round(TARGET_CALL_S / self.cost(size)))


def _not_elementwise() -> np.ndarray:
    raise TypeError("a training step is checked against bench.training.reference")


def _elementwise(fixed: float, per_element: float, size: int) -> float:
    return fixed + per_element * size


def _binary(name: str, symbol: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Case:
    return Case(
        name=name,
        description=f"c = a {symbol} b",
        grad_mode=GRAD_NONE,
        output=OUT_C,
        cost=lambda n: _elementwise(2e-6, 4e-10, n),
        expected=lambda a, b, runs: fn(a, b),
        operator=True,
    )


def _view(name: str, symbol: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], grad: bool) -> Case:
    """Assignment of an expression into a tensor that views the simulation's array q."""
    return Case(
        name=name + ("_grad" if grad else ""),
        description=f"Q = {symbol} into a tensor viewing an array" + (", a requires grad" if grad else ""),
        grad_mode=GRAD_GRAPH if grad else GRAD_NONE,
        output=OUT_Q,
        cost=lambda n: _elementwise(3e-6 if grad else 1.5e-6, 1.2e-9, n),
        expected=lambda a, b, runs: fn(a, b),
        # With gradients no out= kernel applies: the reference is copy_ of a fresh result.
        variants=("fortran", CXX_COPY) if grad else ("fortran", "cxx", CXX_COPY),
    )


#: The view_* cases (issue 13), without and with gradients.
VIEW_CASES = [
    _view(name, symbol, fn, grad)
    for grad in (False, True)
    for name, symbol, fn in (
        ("view_mul", "a*b", lambda a, b: a * b),
        ("view_muladd", "a*b + a", lambda a, b: a * b + a),
        ("view_scale", "2.0*a", lambda a, b: 2.0 * a),
    )
]

CASES: dict[str, Case] = {
    c.name: c
    for c in [
        _binary("add", "+", np.add),
        _binary("sub", "-", np.subtract),
        _binary("mul", "*", np.multiply),
        _binary("div", "/", np.divide),
        Case(
            name="expr",
            description="c = a*b + a/b (three operators)",
            grad_mode=GRAD_NONE,
            output=OUT_C,
            cost=lambda n: _elementwise(6e-6, 1.2e-9, n),
            expected=lambda a, b, runs: a * b + a / b,
        ),
        Case(
            name="from_array",
            description="build a tensor viewing an array, then delete it",
            grad_mode=GRAD_NONE,
            output=OUT_T,
            cost=lambda n: 3e-6,
            expected=lambda a, b, runs: a,
        ),
        Case(
            name="backward",
            description="backward through q = a*b + a/b (retained graph, external gradient of ones)",
            grad_mode=GRAD_GRAPH,
            output=OUT_GRAD,
            cost=lambda n: _elementwise(15e-6, 1.5e-9, n),
            expected=lambda a, b, runs: runs * (b + 1.0 / b),
        ),
        Case(
            name="get_gradient",
            description="copy a's gradient into a holder viewing an array",
            grad_mode=GRAD_BACKWARD,
            output=OUT_HOLDER,
            cost=lambda n: _elementwise(2e-6, 5e-10, n),
            expected=lambda a, b, runs: b + 1.0 / b,
        ),
        Case(
            name="zero_grad",
            description="zero a's gradient in place",
            grad_mode=GRAD_BACKWARD,
            output=OUT_GRAD,
            cost=lambda n: _elementwise(2e-6, 3e-10, n),
            expected=lambda a, b, runs: np.zeros_like(a),
        ),
        Case(
            name=TRAIN_CASE,
            description=(
                f"one training step of an MLP {training.N_IN}-{training.HIDDEN}-{training.HIDDEN}-"
                f"{training.N_OUT} (Tanh, ReLU), batch {training.BATCH}: forward, MSE loss, backward, "
                "Adam step, zero_grad"
            ),
            grad_mode=GRAD_NONE,
            output=OUT_WEIGHT,
            cost=lambda n: 300e-6,
            expected=lambda a, b, runs: _not_elementwise(),
            sizes=(training.BATCH,),
            variants=VARIANTS + (EAGER,),
            training=True,
        ),
    ]
    + VIEW_CASES
}


def parameters() -> list[tuple[str, int, str, str]]:
    """Every benchmark: (case, size, dtype, variant), in report order."""
    return [
        (case, size, dtype, variant)
        for case, spec in CASES.items()
        for size in spec.sizes
        for dtype in DTYPES
        for variant in spec.variants
    ]


def case_inputs(case: Case, size: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of a case: the operands, or a training batch's inputs and targets (flattened, C order)."""
    if case.training:
        x, y = training.data(dtype)
        return x.reshape(-1), y.reshape(-1)
    return inputs(size, dtype)


def inputs(size: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The operands a and b (deterministic, in [1, 2) so that division is tame)."""
    rng = np.random.default_rng(20261126 + size)
    a = (1.0 + rng.random(size)).astype(dtype)
    b = (1.0 + rng.random(size)).astype(dtype)
    return a, b


def expected(case: Case, a: np.ndarray, b: np.ndarray, runs: int) -> np.ndarray:
    """The reference result in float64, computed from the operands at their own precision."""
    ref = case.expected(a.astype(np.float64), b.astype(np.float64), runs)
    return np.asarray(ref, dtype=np.float64)


def tolerance(dtype: str) -> float:
    """Relative tolerance against the float64 reference."""
    return 2e-6 if dtype == "float32" else 1e-12


def size_label(size: int) -> str:
    return {1: "1", 1_000: "1e3", 1_000_000: "1e6"}.get(size, str(size))
