"""Training cases of the cross-check: losses, optimisers, schedulers and clipping.

A training case is a procedure written once against a small backend interface and run
twice, step by step: through libftorch (:mod:`pyftorch.losses`, :mod:`pyftorch.optim`,
ctypes) and through ``torch.nn.functional`` / ``torch.optim`` /
``torch.optim.lr_scheduler`` / ``torch.nn.utils``.  Each procedure yields
``(step label, observations)`` pairs; the runner compares the observations of the two
sides exactly as :func:`pyftorch.crosscheck.run_case` compares scenario steps (values
with the dtype's tolerance, metadata exactly, an error on one side only is a mismatch),
so the results are ordinary :class:`~pyftorch.crosscheck.CaseResult` rows.

* :class:`LossCase`: the loss value (and its metadata), then the gradient with respect to
  the input after ``backward`` (ones, or an external gradient for ``reduction="none"``).
* :class:`OptimCase`: k steps of ``zero_grad; loss = mean((x*w + b - y)**2); backward;
  step`` (optionally a scheduler step, a learning-rate change or clipping); after every
  step the loss, every parameter and the learning rate.
* :class:`SchedulerCase`: the learning rate, ``get_last_lr()`` and ``last_epoch`` after
  construction and after each of N epochs.
* :class:`ClipCase`: gradients set through ``backward`` of the leaves with external
  gradients, then ``clip_grad_norm_`` (total norm and clipped gradients) or
  ``clip_grad_value_``.

The torch optimisers run with ``foreach=False``: libftorch transcribes torch.optim's
single-tensor implementations, which torch itself uses on the CPU.  After each case the
library's live-handle count (tensors, optimisers, schedulers) must be back where it
started.  Importing this module loads neither torch nor the library.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from pyftorch.crosscheck.engine import (
    TOLERANCES,
    CaseResult,
    Check,
    LibraryBackend,
    Tolerance,
    TorchBackend,
    _check_finite,
    _compare_step,
)
from pyftorch.crosscheck.scenario import _fmt_shape

#: Step label and what the step observed (label -> value, metadata or None).
Observation = tuple[str, dict[str, Any]]

#: Tolerances of the training cases.  Both sides run the same LibTorch kernels in the same
#: order, so they agree to the last bit or nearly; these are the engine's tolerances
#: (far inside the issue's 1e-6 relative for float64 and 1e-4 for float32).
TRAINING_TOLERANCES: dict[str, Tolerance] = dict(TOLERANCES)

LOSSES: tuple[str, ...] = (
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
)
OPTIMIZERS: tuple[str, ...] = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
SCHEDULERS: tuple[str, ...] = ("StepLR", "ExponentialLR", "CosineAnnealingLR")


def _kwargs(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _scalar(x: float) -> np.ndarray:
    """A Python float as a one-element float64 array (compared with the run's tolerance)."""
    return np.array([float(x)], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Backends: the operations a training procedure needs, on each side
# --------------------------------------------------------------------------------------------
class LibraryTrainingBackend(LibraryBackend):
    """libftorch through pyftorch's training API; every object it makes is closed by :meth:`close_all`."""

    def __init__(self, device: str, dtype: str) -> None:
        super().__init__(device, dtype)
        import pyftorch.losses
        import pyftorch.optim

        self.losses = pyftorch.losses
        self.optim = pyftorch.optim
        self._owned: list[Any] = []

    def _own(self, obj: Any) -> Any:
        self._owned.append(obj)
        return obj

    def leaf(self, data: np.ndarray, requires_grad: bool, view: bool) -> Any:
        return self._own(super().leaf(data, requires_grad, view))

    def index_tensor(self, data: np.ndarray) -> Any:
        """Class indices: an int64 tensor."""
        arr = np.array(data, dtype=np.int64, order="C")
        return self._own(self.Tensor.from_numpy(arr, copy=True, device=self.device))

    def loss(self, name: str, x: Any, y: Any, reduction: str, options: dict[str, Any]) -> Any:
        return self._own(getattr(self.losses, name)(x, y, reduction=reduction, **options))

    def optimizer(self, name: str, params: Sequence[Any], options: dict[str, Any]) -> Any:
        return self._own(getattr(self.optim, name)(params, **options))

    def scheduler(self, name: str, opt: Any, options: dict[str, Any]) -> Any:
        return self._own(getattr(self.optim, name)(opt, **options))

    def step(self, opt: Any) -> None:
        opt.step()

    def zero_grad(self, x: Any, set_to_none: bool = True) -> None:
        if isinstance(x, self.optim.Optimizer):
            x.zero_grad(set_to_none=set_to_none)
        else:
            x.zero_grad()

    def get_lr(self, opt: Any) -> float:
        return opt.lr

    def set_lr(self, opt: Any, lr: float) -> None:
        opt.lr = lr

    def scheduler_step(self, sched: Any) -> None:
        sched.step()

    def last_lr(self, sched: Any) -> float:
        return sched.get_last_lr()[0]

    def last_epoch(self, sched: Any) -> int:
        return sched.last_epoch

    def clip_grad_norm(self, params: Sequence[Any], max_norm: float, norm_type: float) -> float:
        return self.optim.clip_grad_norm_(params, max_norm, norm_type)

    def clip_grad_value(self, params: Sequence[Any], clip_value: float) -> None:
        self.optim.clip_grad_value_(params, clip_value)

    def close_all(self) -> None:
        """Close every tensor, optimiser and scheduler this backend made (schedulers first)."""
        for obj in reversed(self._owned):
            obj.close()
        self._owned.clear()


class TorchTrainingBackend(TorchBackend):
    """torch.nn.functional, torch.optim (``foreach=False``), torch.optim.lr_scheduler, torch.nn.utils."""

    def __init__(self, device: str, dtype: str) -> None:
        super().__init__(device, dtype)
        import torch.nn.functional

        self.F = torch.nn.functional

    def index_tensor(self, data: np.ndarray) -> Any:
        return self.torch.tensor(np.asarray(data, dtype=np.int64), device=self.device)

    def loss(self, name: str, x: Any, y: Any, reduction: str, options: dict[str, Any]) -> Any:
        out = getattr(self.F, name)(x, y, reduction=reduction, **options)
        return out if reduction == "none" else out.reshape(1)  # the library's one-element form

    def optimizer(self, name: str, params: Sequence[Any], options: dict[str, Any]) -> Any:
        return getattr(self.torch.optim, name)(params, **options, foreach=False)

    def scheduler(self, name: str, opt: Any, options: dict[str, Any]) -> Any:
        return getattr(self.torch.optim.lr_scheduler, name)(opt, **options)

    def step(self, opt: Any) -> None:
        opt.step()

    def zero_grad(self, x: Any, set_to_none: bool = True) -> None:
        if isinstance(x, self.torch.optim.Optimizer):
            x.zero_grad(set_to_none=set_to_none)
        else:
            super().zero_grad(x)

    def get_lr(self, opt: Any) -> float:
        return float(opt.param_groups[0]["lr"])

    def set_lr(self, opt: Any, lr: float) -> None:
        for group in opt.param_groups:
            group["lr"] = lr

    def scheduler_step(self, sched: Any) -> None:
        sched.step()

    def last_lr(self, sched: Any) -> float:
        return float(sched.get_last_lr()[0])

    def last_epoch(self, sched: Any) -> int:
        return int(sched.last_epoch)

    def clip_grad_norm(self, params: Sequence[Any], max_norm: float, norm_type: float) -> float:
        return float(self.torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type))

    def clip_grad_value(self, params: Sequence[Any], clip_value: float) -> None:
        self.torch.nn.utils.clip_grad_value_(params, clip_value)

    def close_all(self) -> None:
        """Nothing to close: torch objects are garbage-collected."""


TrainingBackend = Any  # LibraryTrainingBackend | TorchTrainingBackend: the same method names


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class TrainingCase:
    """Base class: a named procedure run through both backends (see the module docstring)."""

    name: str
    description: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)
    kind: ClassVar[str] = "training"

    def procedure(self, b: TrainingBackend) -> Iterator[Observation]:
        """Run the case on backend ``b``, yielding (step label, observations) after each step."""
        raise NotImplementedError

    def lines(self) -> list[str]:
        """The case's steps in words."""
        raise NotImplementedError

    def text(self) -> str:
        """The steps, one per line (printed for failing cases, stored in JSON reports)."""
        return "\n".join(f"{i:2d}. {line}" for i, line in enumerate(self.lines()))


@dataclass(frozen=True, eq=False, kw_only=True)
class LossCase(TrainingCase):
    """``loss = <loss>(input, target, reduction, **options)``; then ``backward`` and the input's gradient.

    ``target_is_index`` makes the target int64 class indices (cross-entropy); otherwise it is
    cast to the run's dtype.  ``gradient`` is the external gradient of ``backward`` (None:
    ones of the loss's shape).
    """

    loss: str
    input: np.ndarray
    target: np.ndarray
    reduction: str = "mean"
    options: dict[str, Any] = field(default_factory=dict)
    target_is_index: bool = False
    gradient: np.ndarray | None = None
    kind: ClassVar[str] = "loss"

    def _call(self) -> str:
        extra = (", " + _kwargs(self.options)) if self.options else ""
        return f"{self.loss}(input, target, reduction={self.reduction!r}{extra})"

    def lines(self) -> list[str]:
        target = "int64 class indices" if self.target_is_index else "values"
        grad = "ones" if self.gradient is None else f"gradient{_fmt_shape(self.gradient)}"
        return [
            f"leaf input{_fmt_shape(self.input)} requires_grad",
            f"target{_fmt_shape(self.target)} {target}",
            f"loss = {self._call()}",
            f"backward loss ({grad}); read grad(input)",
        ]

    def procedure(self, b: TrainingBackend) -> Iterator[Observation]:
        x = b.leaf(self.input, True, False)
        y = b.index_tensor(self.target) if self.target_is_index else b.leaf(self.target, False, False)
        loss = b.loss(self.loss, x, y, self.reduction, self.options)
        yield f"loss = {self._call()}", {"loss": b.value(loss), "meta(loss)": b.meta(loss)}
        b.backward(loss, self.gradient, False)
        grad, meta = b.grad(x)
        yield "backward loss", {"grad(input)": grad, "grad_meta(input)": meta}


@dataclass(frozen=True, eq=False, kw_only=True)
class OptimCase(TrainingCase):
    """k steps of an optimiser on ``loss = mean((x*w + b - y)**2)`` over the parameters ``w``, ``b``.

    Optional: a scheduler stepped after every optimiser step; learning rates set before
    given steps (``set_lr``, 1-based step -> lr); ``clip_norm`` (clip_grad_norm_ before each
    step); ``set_to_none=False`` for ``zero_grad``.
    """

    optimizer: str
    options: dict[str, Any]
    w: np.ndarray
    b: np.ndarray
    x: np.ndarray
    y: np.ndarray
    steps: int = 20
    scheduler: tuple[str, dict[str, Any]] | None = None
    set_lr: dict[int, float] = field(default_factory=dict)
    clip_norm: float | None = None
    set_to_none: bool = True
    kind: ClassVar[str] = "optim"

    def lines(self) -> list[str]:
        out = [
            f"leaves w{_fmt_shape(self.w)} b{_fmt_shape(self.b)} requires_grad; x{_fmt_shape(self.x)} "
            f"y{_fmt_shape(self.y)}",
            f"opt = {self.optimizer}([w, b], {_kwargs(self.options)})",
        ]
        if self.scheduler:
            out.append(f"sched = {self.scheduler[0]}(opt, {_kwargs(self.scheduler[1])})")
        body = [f"opt.zero_grad(set_to_none={self.set_to_none})", "loss = mean((x*w + b - y)**2)", "backward loss"]
        if self.clip_norm is not None:
            body.append(f"clip_grad_norm_([w, b], {self.clip_norm})")
        body.append("opt.step()")
        if self.scheduler:
            body.append("sched.step()")
        out.append(f"repeat {self.steps} times: " + "; ".join(body))
        for k, lr in sorted(self.set_lr.items()):
            out.append(f"before step {k}: opt.lr = {lr!r}")
        out.append("after every step compare loss, w, b and the learning rate")
        return out

    def procedure(self, b: TrainingBackend) -> Iterator[Observation]:
        w, bias = b.leaf(self.w, True, False), b.leaf(self.b, True, False)
        x, y = b.leaf(self.x, False, False), b.leaf(self.y, False, False)
        opt = b.optimizer(self.optimizer, [w, bias], self.options)
        sched = b.scheduler(self.scheduler[0], opt, self.scheduler[1]) if self.scheduler else None
        yield "construct", {"lr": _scalar(b.get_lr(opt))}
        for k in range(1, self.steps + 1):
            if k in self.set_lr:
                b.set_lr(opt, self.set_lr[k])
            b.zero_grad(opt, self.set_to_none)
            r = x * w + bias - y
            loss = b.reduce("mean", r * r)
            b.backward(loss, None, False)
            obs: dict[str, Any] = {"loss": b.value(loss)}
            b.release(loss)
            if self.clip_norm is not None:
                obs["total_norm"] = _scalar(b.clip_grad_norm([w, bias], self.clip_norm, 2.0))
            b.step(opt)
            if sched is not None:
                b.scheduler_step(sched)
            obs.update({"w": b.value(w), "b": b.value(bias), "lr": _scalar(b.get_lr(opt))})
            yield f"step {k}", obs


@dataclass(frozen=True, eq=False, kw_only=True)
class SchedulerCase(TrainingCase):
    """A scheduler over SGD with base rate ``lr``: the rates over ``epochs`` epochs.

    Each epoch is ``opt.step(); sched.step()`` (the parameter has no gradient, so the step
    changes nothing but satisfies torch's call-order check).
    """

    scheduler: str
    options: dict[str, Any]
    lr: float = 0.1
    epochs: int = 30
    kind: ClassVar[str] = "scheduler"

    def lines(self) -> list[str]:
        return [
            "leaf p(2,) requires_grad (never gets a gradient)",
            f"opt = SGD([p], lr={self.lr!r})",
            f"sched = {self.scheduler}(opt, {_kwargs(self.options)})",
            f"repeat {self.epochs} times: opt.step(); sched.step(); compare opt.lr, get_last_lr()[0], last_epoch",
        ]

    def procedure(self, b: TrainingBackend) -> Iterator[Observation]:
        p = b.leaf(np.array([1.0, -1.0]), True, False)
        opt = b.optimizer("SGD", [p], {"lr": self.lr})
        sched = b.scheduler(self.scheduler, opt, self.options)

        def observe() -> dict[str, Any]:
            return {
                "lr": _scalar(b.get_lr(opt)),
                "last_lr": _scalar(b.last_lr(sched)),
                "last_epoch": b.last_epoch(sched),
            }

        yield "construct", observe()
        for epoch in range(1, self.epochs + 1):
            b.step(opt)
            b.scheduler_step(sched)
            yield f"epoch {epoch}", observe()


@dataclass(frozen=True, eq=False, kw_only=True)
class ClipCase(TrainingCase):
    """Gradient clipping: ``clip_grad_norm_`` (``mode="norm"``) or ``clip_grad_value_`` (``"value"``).

    ``grads[i]`` is the gradient given to parameter i (through ``backward`` of the leaf with
    that external gradient); None leaves the parameter without a gradient.
    """

    mode: str
    params: tuple[np.ndarray, ...]
    grads: tuple[np.ndarray | None, ...]
    max_norm: float = 1.0
    norm_type: float = 2.0
    clip_value: float = 1.0
    kind: ClassVar[str] = "clip"

    def _call(self) -> str:
        if self.mode == "norm":
            return f"clip_grad_norm_(params, max_norm={self.max_norm!r}, norm_type={self.norm_type!r})"
        return f"clip_grad_value_(params, clip_value={self.clip_value!r})"

    def lines(self) -> list[str]:
        leaves = " ".join(f"p{i}{_fmt_shape(p)}" for i, p in enumerate(self.params))
        grads = ", ".join(
            f"p{i}: " + ("none" if g is None else f"gradient{_fmt_shape(g)}") for i, g in enumerate(self.grads)
        )
        return [
            f"leaves {leaves} requires_grad",
            f"backward of each leaf with an external gradient ({grads})",
            self._call() + "; compare " + ("the total norm and " if self.mode == "norm" else "") + "the gradients",
        ]

    def procedure(self, b: TrainingBackend) -> Iterator[Observation]:
        params = [b.leaf(p, True, False) for p in self.params]
        for p, g in zip(params, self.grads):
            if g is not None:
                b.backward(p, g, False)

        def grads() -> dict[str, Any]:
            obs: dict[str, Any] = {}
            for i, p in enumerate(params):
                obs[f"grad(p{i})"], obs[f"grad_meta(p{i})"] = b.grad(p)
            return obs

        yield "gradients", grads()
        if self.mode == "norm":
            total = b.clip_grad_norm(params, self.max_norm, self.norm_type)
            yield self._call(), {"total_norm": _scalar(total), **grads()}
        else:
            b.clip_grad_value(params, self.clip_value)
            yield self._call(), grads()


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
def _advance(gen: Iterator[Observation]) -> tuple[Observation | None, BaseException | None, bool]:
    """(item, error, finished) of one step of a procedure."""
    try:
        return next(gen), None, False
    except StopIteration:
        return None, None, True
    except Exception as exc:  # noqa: BLE001 -- an error is an observation too
        return None, exc, True


def run_training_case(
    case: TrainingCase,
    device: str = "cpu",
    dtype: str = "float64",
    tolerance: Tolerance | None = None,
    require_finite: bool = True,
) -> CaseResult:
    """Run a training case through libftorch and torch on ``device`` in ``dtype``, comparing every step.

    The two procedures advance in lockstep; a step that fails on one side (or a side that
    ends early) is a mismatch and ends the case.  ``require_finite`` fails a case whose torch
    observations are not finite.  The library's live-handle count must return to its start.
    """
    from pyftorch.runtime import live_handles

    tol = tolerance or TRAINING_TOLERANCES[dtype]
    result = CaseResult(case.name, device, dtype, "pass", scenario_text=case.text())
    start = time.perf_counter()
    before = live_handles()
    lib: LibraryTrainingBackend | None = None
    lib_gen = ref_gen = None
    lib_item = ref_item = lib_err = ref_err = None
    try:
        lib = LibraryTrainingBackend(device, dtype)
        ref = TorchTrainingBackend(device, dtype)
        lib_gen, ref_gen = case.procedure(lib), case.procedure(ref)
        index = 0
        while True:
            lib_item, lib_err, lib_done = _advance(lib_gen)
            ref_item, ref_err, ref_done = _advance(ref_gen)
            if lib_done and ref_done and lib_err is None and ref_err is None:
                break
            label = (lib_item or ref_item or ("(error)", {}))[0]
            step = _compare_step(
                index,
                label,
                lib_item[1] if lib_item else {},
                lib_err,
                ref_item[1] if ref_item else {},
                ref_err,
                lib,
                tol,
            )
            if lib_done != ref_done and lib_err is None and ref_err is None:
                step.checks.append(
                    Check(
                        "steps",
                        False,
                        float("inf"),
                        float("inf"),
                        f"{'libftorch' if lib_done else 'torch'} ended after step {index - 1}",
                    )
                )
                step.ok = False
            if require_finite and ref_item:
                _check_finite(step, ref_item[1])
            result.steps.append(step)
            if lib_done or ref_done:
                break
            index += 1
    except Exception as exc:  # noqa: BLE001 -- an engine bug must fail the case, not crash the run
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        # An exception's traceback holds the frame of the procedure that raised, and with it
        # that procedure's tensors: drop them all before counting handles.
        lib_item = ref_item = lib_err = ref_err = None
        for gen in (lib_gen, ref_gen):
            if gen is not None:
                gen.close()
        if lib is not None:
            lib.close_all()
        lib_gen = ref_gen = None
    leaked = live_handles() - before
    if leaked:
        gc.collect()
        leaked = live_handles() - before
    result.leaked_handles = leaked
    result.seconds = time.perf_counter() - start
    if result.error or leaked or not all(s.ok for s in result.steps):
        result.status = "fail"
    return result


__all__ = [
    "TRAINING_TOLERANCES",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULERS",
    "TrainingCase",
    "LossCase",
    "OptimCase",
    "SchedulerCase",
    "ClipCase",
    "LibraryTrainingBackend",
    "TorchTrainingBackend",
    "run_training_case",
]
