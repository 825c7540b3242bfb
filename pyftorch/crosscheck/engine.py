"""The cross-check engine: one scenario, two backends, every observation compared.

:class:`LibraryBackend` drives libftorch through :class:`pyftorch.Tensor` (ctypes);
:class:`TorchBackend` does the same with ``torch`` in Python.  :func:`run_case` applies
each step of a scenario to both, step by step, and compares what each step observes:

* ``Leaf`` and ``Eval``: the values, and the metadata (shape, dtype, device,
  requires_grad, is_leaf);
* ``Backward`` and ``ZeroGrad``: the gradient of every leaf built so far, and the metadata
  of that gradient (so a GPU gradient must be on the device of the leaf the user holds);
* ``ReadGrad``: the gradients of the named tensors (``None`` must match ``None``);
* errors: a step that raises on one side only is a mismatch; a step with
  ``expect_error`` must raise on both sides, with the named library error class.

Values are compared with dtype-appropriate tolerances (:data:`TOLERANCES`); per step the
engine reports the maximum absolute and relative error.  After each case the library's
live-tensor counter must be back where it started.

Training cases (losses, optimisers, schedulers, clipping) are procedures rather than step
lists; :func:`run_case` hands them to :mod:`pyftorch.crosscheck.training`, which compares
them with the same checks and returns the same :class:`CaseResult`.
"""

from __future__ import annotations

import gc
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from pyftorch.crosscheck.expr import evaluate
from pyftorch.crosscheck.scenario import Backward, Eval, Leaf, ReadGrad, Release, Scenario, Step, ZeroGrad

if TYPE_CHECKING:  # pragma: no cover
    from pyftorch.crosscheck.training import TrainingCase

#: What the engine runs: an autograd scenario or a training case.
Case = Union[Scenario, "TrainingCase"]

DTYPES: tuple[str, ...] = ("float32", "float64")
DEVICES: tuple[str, ...] = ("cpu", "cuda")


@dataclass(frozen=True)
class Tolerance:
    """Element-wise ``|lib - ref| <= atol + rtol * |ref|`` (as numpy.allclose)."""

    rtol: float
    atol: float


#: Both sides run the same LibTorch kernels, so agreement is expected to be near-exact; the
#: tolerances are still a few hundred ulps wide for reductions whose order may differ.
TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1e-5, atol=1e-6),
    "float64": Tolerance(rtol=1e-12, atol=1e-13),
}

#: Library exception class name -> error category used by ``Backward.expect_error``.
ERROR_CATEGORIES: dict[str, str] = {
    "AutogradError": "autograd",
    "ShapeError": "shape",
    "DTypeError": "dtype",
    "DeviceError": "device",
    "NoGradientError": "no_gradient",
    "DeviceUnavailableError": "device_unavailable",
    "InvalidArgumentError": "invalid_argument",
}


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------
class Backend:
    """What the engine needs from one side of the comparison."""

    name = "backend"

    def __init__(self, device: str, dtype: str) -> None:
        self.device = device
        self.dtype = dtype
        self.np_dtype = np.dtype(dtype)

    def leaf(self, data: np.ndarray, requires_grad: bool, view: bool) -> Any:
        """A tensor with ``data`` cast to the run's dtype, on the run's device."""
        raise NotImplementedError

    def reduce(self, kind: str, x: Any) -> Any:
        """``sum`` or ``mean`` of all elements as a one-element rank-1 tensor."""
        raise NotImplementedError

    def backward(self, y: Any, gradient: np.ndarray | None, retain_graph: bool) -> None:
        """Back-propagate from ``y`` (``gradient=None``: ones)."""
        raise NotImplementedError

    def grad(self, x: Any) -> tuple[np.ndarray | None, tuple | None]:
        """(gradient values, gradient metadata), or (None, None) when there is none."""
        raise NotImplementedError

    def zero_grad(self, x: Any) -> None:
        """Zero ``x``'s gradient in place (no-op without one)."""
        raise NotImplementedError

    def value(self, x: Any) -> np.ndarray:
        """The values of ``x`` as a new host NumPy array."""
        raise NotImplementedError

    def meta(self, x: Any) -> tuple:
        """(shape, dtype, device, requires_grad, is_leaf)."""
        raise NotImplementedError

    def release(self, x: Any) -> None:
        """Free ``x`` now (the library closes its handle; torch relies on the GC)."""

    def error_category(self, exc: BaseException) -> str:
        """A short name for the kind of error ``exc`` is."""
        return type(exc).__name__


class LibraryBackend(Backend):
    """libftorch through pyftorch.Tensor (ctypes): the side under test."""

    name = "libftorch"

    def __init__(self, device: str, dtype: str) -> None:
        super().__init__(device, dtype)
        from pyftorch.core import Tensor

        self.Tensor = Tensor

    def leaf(self, data: np.ndarray, requires_grad: bool, view: bool) -> Any:
        arr = np.array(data, dtype=self.np_dtype, order="C")  # keeps 0-d arrays 0-d
        zero_copy = view and self.device == "cpu"
        return self.Tensor.from_numpy(arr, copy=not zero_copy, requires_grad=requires_grad, device=self.device)

    def reduce(self, kind: str, x: Any) -> Any:
        return x.sum() if kind == "sum" else x.mean()

    def backward(self, y: Any, gradient: np.ndarray | None, retain_graph: bool) -> None:
        g = None if gradient is None else np.array(gradient, dtype=self.np_dtype, order="C")
        y.backward(g, retain_graph=retain_graph)

    def grad(self, x: Any) -> tuple[np.ndarray | None, tuple | None]:
        g = x.grad
        if g is None:
            return None, None
        try:
            return g.numpy(), (g.shape, str(g.dtype), g.device)
        finally:
            g.close()

    def zero_grad(self, x: Any) -> None:
        x.zero_grad()

    def value(self, x: Any) -> np.ndarray:
        return x.numpy()

    def meta(self, x: Any) -> tuple:
        return (x.shape, str(x.dtype), x.device, x.requires_grad, x.is_leaf)

    def release(self, x: Any) -> None:
        x.close()

    def error_category(self, exc: BaseException) -> str:
        return ERROR_CATEGORIES.get(type(exc).__name__, type(exc).__name__)


class TorchBackend(Backend):
    """PyTorch autograd in Python: the reference."""

    name = "torch"

    def __init__(self, device: str, dtype: str) -> None:
        super().__init__(device, dtype)
        import torch

        self.torch = torch
        self.torch_dtype = getattr(torch, dtype)

    def leaf(self, data: np.ndarray, requires_grad: bool, view: bool) -> Any:
        return self.torch.tensor(
            np.asarray(data, dtype=self.np_dtype),
            dtype=self.torch_dtype,
            device=self.device,
            requires_grad=requires_grad,
        )

    def reduce(self, kind: str, x: Any) -> Any:
        return (x.sum() if kind == "sum" else x.mean()).reshape(1)

    def backward(self, y: Any, gradient: np.ndarray | None, retain_graph: bool) -> None:
        if gradient is None:
            g = self.torch.ones_like(y)
        else:
            g = self.torch.tensor(np.asarray(gradient, dtype=self.np_dtype), dtype=self.torch_dtype, device=y.device)
        y.backward(g, retain_graph=retain_graph)

    def grad(self, x: Any) -> tuple[np.ndarray | None, tuple | None]:
        with warnings.catch_warnings():  # .grad of a non-leaf warns; None is what we compare
            warnings.simplefilter("ignore")
            g = x.grad
        if g is None:
            return None, None
        return g.detach().cpu().numpy().copy(), (tuple(g.shape), _torch_dtype_name(g.dtype), str(g.device))

    def zero_grad(self, x: Any) -> None:
        # libftorch zeroes in place (the gradient stays defined), as torch's own .grad.zero_().
        if x.grad is not None:
            x.grad.zero_()

    def value(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy().copy()

    def meta(self, x: Any) -> tuple:
        return (tuple(x.shape), _torch_dtype_name(x.dtype), str(x.device), x.requires_grad, x.is_leaf)


def _torch_dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------
@dataclass
class Check:
    """One compared observation (a value, a gradient, metadata or an error)."""

    label: str
    ok: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    detail: str = ""


def compare_arrays(label: str, lib: np.ndarray, ref: np.ndarray, tol: Tolerance) -> Check:
    """Element-wise comparison with max absolute and max relative error."""
    if lib.shape != ref.shape:
        return Check(label, False, math.inf, math.inf, f"shape {lib.shape} != torch {ref.shape}")
    if lib.dtype != ref.dtype:
        return Check(label, False, math.inf, math.inf, f"dtype {lib.dtype} != torch {ref.dtype}")
    if lib.size == 0:
        return Check(label, True)
    x = lib.astype(np.float64)
    y = ref.astype(np.float64)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(same, 0.0, np.abs(x - y))
        diff = np.where(np.isnan(diff), np.inf, diff)
        scale = np.abs(y)
        rel = np.where(diff == 0, 0.0, diff / np.maximum(scale, np.finfo(np.float64).tiny))
        ok = bool(np.all(diff <= tol.atol + tol.rtol * np.where(np.isfinite(scale), scale, 0.0)))
    max_abs = float(diff.max())
    max_rel = float(rel.max())
    detail = ""
    if not ok:
        i = np.unravel_index(int(np.argmax(diff)), diff.shape)
        detail = f"worst at {tuple(int(k) for k in i)}: libftorch {x[i]!r} vs torch {y[i]!r}"
    return Check(label, ok, max_abs, max_rel, detail)


def compare_observation(label: str, lib: Any, ref: Any, tol: Tolerance) -> Check:
    """Compare one observation: arrays numerically, ``None`` and metadata exactly."""
    if isinstance(lib, np.ndarray) and isinstance(ref, np.ndarray):
        return compare_arrays(label, lib, ref, tol)
    if lib is None or ref is None:
        if lib is None and ref is None:
            return Check(label, True)
        return Check(
            label,
            False,
            math.inf,
            math.inf,
            f"libftorch has {'none' if lib is None else 'a value'}, torch has {'none' if ref is None else 'a value'}",
        )
    if lib == ref:
        return Check(label, True)
    return Check(label, False, math.inf, math.inf, f"libftorch {lib!r} != torch {ref!r}")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass
class StepResult:
    """The comparison of one step."""

    index: int
    step: str
    ok: bool
    max_abs: float
    max_rel: float
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """The checks of this step that failed."""
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON-ready data (errors, number of checks, the failed checks)."""
        return {
            "index": self.index,
            "step": self.step,
            "ok": self.ok,
            "max_abs_err": _json_float(self.max_abs),
            "max_rel_err": _json_float(self.max_rel),
            "checks": len(self.checks),
            "failures": [
                {
                    "label": c.label,
                    "detail": c.detail,
                    "max_abs_err": _json_float(c.max_abs),
                    "max_rel_err": _json_float(c.max_rel),
                }
                for c in self.failures
            ],
        }


@dataclass
class CaseResult:
    """One scenario on one device and dtype: ``status`` is ``pass``, ``fail`` or ``skip``."""

    case: str
    device: str
    dtype: str
    status: str
    steps: list[StepResult] = field(default_factory=list)
    skip_reason: str = ""
    leaked_handles: int = 0
    scenario_text: str = ""
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        """False only for a failed case (a skipped case is not a failure)."""
        return self.status != "fail"

    @property
    def max_abs(self) -> float:
        """The largest absolute error over all steps."""
        return max((s.max_abs for s in self.steps), default=0.0)

    @property
    def max_rel(self) -> float:
        """The largest relative error over all steps."""
        return max((s.max_rel for s in self.steps), default=0.0)

    @property
    def checks(self) -> int:
        """The number of comparisons made over all steps."""
        return sum(len(s.checks) for s in self.steps)

    def failure_summary(self) -> str:
        """The failing steps and checks, one per line."""
        lines = []
        if self.error:
            lines.append(f"engine error: {self.error}")
        if self.leaked_handles:
            lines.append(f"{self.leaked_handles} library handle(s) leaked")
        for s in self.steps:
            for c in s.failures:
                lines.append(f"step {s.index} [{s.step}] {c.label}: {c.detail}")
        return "\n".join(lines)

    def to_dict(self, steps: bool = True) -> dict[str, Any]:
        """The case as JSON-ready data; ``steps=False`` leaves out the per-step records."""
        out: dict[str, Any] = {
            "case": self.case,
            "device": self.device,
            "dtype": self.dtype,
            "status": self.status,
            "ok": self.ok,
            "max_abs_err": _json_float(self.max_abs),
            "max_rel_err": _json_float(self.max_rel),
            "checks": self.checks,
            "leaked_handles": self.leaked_handles,
            "seconds": round(self.seconds, 6),
        }
        if self.skip_reason:
            out["skip_reason"] = self.skip_reason
        if self.error:
            out["error"] = self.error
        if steps:
            out["scenario"] = self.scenario_text
            out["steps"] = [s.to_dict() for s in self.steps]
        return out


def _json_float(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
def _apply(step: Step, backend: Backend, env: dict[str, Any], leaves: Sequence[str]) -> dict[str, Any]:
    """Apply one step on one backend; return what it observes (label -> value)."""
    obs: dict[str, Any] = {}

    def observe_grads(names: Iterable[str]) -> None:
        for name in names:
            values, meta = backend.grad(env[name])
            obs[f"grad({name})"] = values
            obs[f"grad_meta({name})"] = meta

    if isinstance(step, Leaf):
        env[step.name] = backend.leaf(step.data, step.requires_grad, step.view)
        obs[step.name] = backend.value(env[step.name])
        obs[f"meta({step.name})"] = backend.meta(env[step.name])
    elif isinstance(step, Eval):
        old = env.pop(step.name, None)
        if old is not None:
            backend.release(old)
        env[step.name] = evaluate(step.expr, env, backend.reduce)
        obs[step.name] = backend.value(env[step.name])
        obs[f"meta({step.name})"] = backend.meta(env[step.name])
    elif isinstance(step, Backward):
        backend.backward(env[step.target], step.gradient, step.retain_graph)
        observe_grads(leaves)
    elif isinstance(step, ZeroGrad):
        for name in step.names:
            backend.zero_grad(env[name])
        observe_grads(leaves)
    elif isinstance(step, ReadGrad):
        observe_grads(step.names)
    elif isinstance(step, Release):
        for name in step.names:
            backend.release(env.pop(name))
    else:
        raise TypeError(f"unknown step {step!r}")
    return obs


def _attempt(step: Step, backend: Backend, env: dict[str, Any], leaves: Sequence[str]):
    try:
        return _apply(step, backend, env, leaves), None
    except Exception as exc:  # noqa: BLE001 -- an error is an observation too
        return {}, exc


def _compare_step(
    index: int,
    step: Step,
    lib_obs: dict,
    lib_err: BaseException | None,
    ref_obs: dict,
    ref_err: BaseException | None,
    lib: Backend,
    tol: Tolerance,
) -> StepResult:
    checks: list[Check] = []
    expected = getattr(step, "expect_error", None)
    optional = expected is not None and expected.endswith("?")
    if optional:  # "autograd?": either both sides raise (that error) or neither does
        expected = expected[:-1]
        if lib_err is None and ref_err is None:
            expected = None
    if expected is not None:
        got = lib.error_category(lib_err) if lib_err is not None else None
        if lib_err is None or ref_err is None:
            checks.append(
                Check(
                    "error",
                    False,
                    math.inf,
                    math.inf,
                    f"expected a {expected} error on both sides; libftorch "
                    f"{'raised ' + type(lib_err).__name__ if lib_err else 'did not raise'}, torch "
                    f"{'raised ' + type(ref_err).__name__ if ref_err else 'did not raise'}",
                )
            )
        elif got != expected:
            checks.append(
                Check(
                    "error",
                    False,
                    math.inf,
                    math.inf,
                    f"expected a {expected} error, libftorch raised {type(lib_err).__name__}: {lib_err}",
                )
            )
        else:
            checks.append(
                Check("error", True, detail=f"both raised: {type(lib_err).__name__} / {type(ref_err).__name__}")
            )
    elif lib_err is not None or ref_err is not None:
        checks.append(
            Check(
                "error",
                False,
                math.inf,
                math.inf,
                f"libftorch: {type(lib_err).__name__ + ': ' + str(lib_err) if lib_err else 'ok'}; "
                f"torch: {type(ref_err).__name__ + ': ' + str(ref_err) if ref_err else 'ok'}",
            )
        )
    else:
        for label in sorted(set(lib_obs) | set(ref_obs)):
            if label not in lib_obs or label not in ref_obs:
                checks.append(Check(label, False, math.inf, math.inf, "observed on one side only"))
                continue
            checks.append(compare_observation(label, lib_obs[label], ref_obs[label], tol))
    ok = all(c.ok for c in checks)
    return StepResult(
        index,
        str(step),
        ok,
        max((c.max_abs for c in checks), default=0.0),
        max((c.max_rel for c in checks), default=0.0),
        checks,
    )


def _check_finite(step: StepResult, ref_obs: dict[str, Any]) -> None:
    for label, value in sorted(ref_obs.items()):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            step.checks.append(
                Check(
                    f"finite({label})",
                    False,
                    math.inf,
                    math.inf,
                    f"torch produced {bad} non-finite value(s): the scenario hits a singular point",
                )
            )
            step.ok = False


def run_case(
    scenario: Case,
    device: str = "cpu",
    dtype: str = "float64",
    tolerance: Tolerance | None = None,
    require_finite: bool = True,
) -> CaseResult:
    """Run one scenario through libftorch and torch on ``device`` in ``dtype``; compare every step.

    With ``require_finite`` (the default) a NaN or infinity in torch's values or gradients
    fails the case even if libftorch agrees: scenarios must stay away from singular points,
    where agreement proves nothing.  A training case (losses, optimisers, schedulers,
    clipping) is run by :func:`pyftorch.crosscheck.training.run_training_case`.
    """
    if not isinstance(scenario, Scenario):
        from pyftorch.crosscheck.training import TrainingCase, run_training_case

        if not isinstance(scenario, TrainingCase):
            raise TypeError(f"not a cross-check case: {scenario!r}")
        return run_training_case(scenario, device, dtype, tolerance, require_finite)
    from pyftorch.runtime import live_tensors

    tol = tolerance or TOLERANCES[dtype]
    lib = LibraryBackend(device, dtype)
    ref = TorchBackend(device, dtype)
    result = CaseResult(scenario.name, device, dtype, "pass", scenario_text=scenario.text())
    lib_env: dict[str, Any] = {}
    ref_env: dict[str, Any] = {}
    leaves: list[str] = []
    start = time.perf_counter()
    before = live_tensors()
    try:
        for index, step in enumerate(scenario.steps):
            if isinstance(step, Leaf) and step.name not in leaves:
                leaves.append(step.name)
            lib_obs, lib_err = _attempt(step, lib, lib_env, leaves)
            ref_obs, ref_err = _attempt(step, ref, ref_env, leaves)
            step_result = _compare_step(index, step, lib_obs, lib_err, ref_obs, ref_err, lib, tol)
            if require_finite:
                _check_finite(step_result, ref_obs)
            result.steps.append(step_result)
    except Exception as exc:  # noqa: BLE001 -- an engine bug must fail the case, not crash the run
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        for t in lib_env.values():
            lib.release(t)
        lib_env.clear()
        ref_env.clear()
    leaked = live_tensors() - before
    if leaked:
        gc.collect()  # a reference cycle may hold a tensor until the collector runs
        leaked = live_tensors() - before
    result.leaked_handles = leaked
    result.seconds = time.perf_counter() - start
    if result.error or leaked or not all(s.ok for s in result.steps):
        result.status = "fail"
    return result


def cuda_skip_reason() -> str | None:
    """None if both libftorch and torch can use CUDA, else why CUDA cases are skipped."""
    import torch

    from pyftorch.runtime import cuda_available

    lib_ok = cuda_available()
    torch_ok = bool(torch.cuda.is_available())
    if lib_ok and torch_ok:
        return None
    return (
        f"CUDA not available: torch {torch.__version__} torch.cuda.is_available()={torch_ok}, "
        f"libftorch ft_cuda_available()={int(lib_ok)}"
    )


def run_suite(
    scenarios: Iterable[Case], devices: Sequence[str] = ("cpu",), dtypes: Sequence[str] = DTYPES
) -> list[CaseResult]:
    """Run every scenario on every device and dtype (CUDA cases skip, with the reason, without CUDA)."""
    scenarios = list(scenarios)
    results: list[CaseResult] = []
    for device in devices:
        reason = cuda_skip_reason() if device.startswith("cuda") else None
        for dtype in dtypes:
            for scenario in scenarios:
                if reason:
                    results.append(
                        CaseResult(
                            scenario.name, device, dtype, "skip", skip_reason=reason, scenario_text=scenario.text()
                        )
                    )
                else:
                    results.append(run_case(scenario, device, dtype))
    return results


__all__ = [
    "DTYPES",
    "DEVICES",
    "Tolerance",
    "TOLERANCES",
    "Backend",
    "LibraryBackend",
    "TorchBackend",
    "Check",
    "compare_arrays",
    "compare_observation",
    "StepResult",
    "CaseResult",
    "run_case",
    "run_suite",
    "cuda_skip_reason",
    "Case",
]
