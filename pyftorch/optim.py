"""Optimisers, learning-rate schedulers and gradient clipping of libftorch, in torch.optim's terms.

The classes take the names and defaults of ``torch.optim`` and
``torch.optim.lr_scheduler``; the library's updates transcribe torch.optim's single-tensor
implementations (``foreach=False``), so a run through these classes follows the same
trajectory as the same run in PyTorch.  Each optimiser has one parameter group.

Example::

    import pyftorch as ft
    w = ft.tensor([1.0, -2.0], requires_grad=True)
    with ft.optim.Adam([w], lr=0.1, amsgrad=True) as opt, ft.optim.StepLR(opt, step_size=10) as sched:
        for _ in range(20):
            opt.zero_grad()
            loss = (w * w).sum(); loss.backward()
            ft.optim.clip_grad_norm_([w], max_norm=1.0)
            opt.step(); sched.step()

An optimiser keeps the library's references to its parameters (and the NumPy arrays that
zero-copy parameters view), so the parameter Tensors may be closed before it.  A scheduler
keeps its optimiser alive.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from ctypes import byref, c_double, c_int64, c_void_p
from typing import Any, Union

from pyftorch import _lib
from pyftorch._handles import HandleOwner
from pyftorch._lib import OptimOptions
from pyftorch.core import Tensor, _merge_keep
from pyftorch.errors import InvalidArgumentError

_L = _lib.load()

#: ``enum ft_optim_kind``.
FT_OPTIM_SGD, FT_OPTIM_ADAM, FT_OPTIM_ADAMW, FT_OPTIM_RMSPROP, FT_OPTIM_ADAGRAD = range(5)
#: ``enum ft_scheduler_kind``.
FT_SCHED_STEP, FT_SCHED_EXPONENTIAL, FT_SCHED_COSINE_ANNEALING = range(3)

ParamsLike = Union[Iterable[Tensor], Tensor]


def _tensor_list(params: Any, what: str, allow_single: bool) -> list[Tensor]:
    """The Tensors of ``params`` (an iterable of Tensors; a single Tensor where torch allows one)."""
    if isinstance(params, Tensor):
        if allow_single:
            return [params]
        raise TypeError(f"{what} expects an iterable of Tensors, got a single Tensor; pass [tensor]")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"{what} expects an iterable of Tensors, got {type(params).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: parameter {i + 1} is a {type(t).__name__}, not a pyftorch.Tensor")
    return items


def _handle_array(tensors: Sequence[Tensor]) -> Any:
    return (c_void_p * max(len(tensors), 1))(*(t._get() for t in tensors))


def optim_defaults(kind: int) -> OptimOptions:
    """The library's defaults for an optimiser kind (``ft_optim_defaults``): PyTorch's defaults."""
    options = OptimOptions()
    _L.ft_optim_defaults(int(kind), byref(options))
    return options


# ---------------------------------------------------------------------------------------------
# Optimisers
# ---------------------------------------------------------------------------------------------
class Optimizer(HandleOwner):
    """Base class of the optimisers (an ``ft_optim`` handle over a list of parameters).

    Subclasses fix the algorithm (``kind``) and translate torch.optim's keyword arguments
    into :class:`~pyftorch._lib.OptimOptions`; the struct starts from the library's
    defaults (``ft_optim_defaults``), so fields an algorithm does not use keep them.
    """

    _what = "optimiser"
    _delete = staticmethod(_L.ft_optim_delete)
    _release = staticmethod(_L.ft_optim_release)
    kind: int = -1

    def __init__(self, params: Iterable[Tensor], **options: Any) -> None:
        """Build the optimiser over ``params`` with the given ``ft_optim_options`` fields."""
        self._handle = None
        self._keep = None
        tensors = _tensor_list(params, type(self).__name__, allow_single=False)
        opts = optim_defaults(self.kind)
        fields = {name for name, _ in OptimOptions._fields_}
        for name, value in options.items():
            if name not in fields:
                raise TypeError(f"{type(self).__name__}: unknown hyper-parameter {name!r}")
            setattr(opts, name, int(bool(value)) if isinstance(getattr(opts, name), int) else float(value))
        self._options = opts
        out = c_void_p()
        _L.ft_optim_new(self.kind, _handle_array(tensors), len(tensors), byref(opts), byref(out))
        self._adopt(out.value)
        # The library updates parameters in place: arrays viewed by zero-copy parameters must
        # outlive the optimiser even if the caller drops those Tensors.
        self._keep = _merge_keep(*tensors)
        self.num_params: int = len(tensors)

    @property
    def options(self) -> dict[str, float]:
        """The hyper-parameters the optimiser was built with (``ft_optim_options`` fields)."""
        return {name: getattr(self._options, name) for name, _ in OptimOptions._fields_}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (``ft_optim_step``).

        As in torch.optim, ``closure`` (if given) is called first and its result returned.
        """
        handle = self._get()
        loss = closure() if closure is not None else None
        _L.ft_optim_step(handle)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: remove them (default, as PyTorch) or set them to zero."""
        _L.ft_optim_zero_grad(self._get(), int(bool(set_to_none)))

    @property
    def lr(self) -> float:
        """The learning rate (settable; a scheduler changes it on each of its steps)."""
        value = c_double()
        _L.ft_optim_get_lr(self._get(), byref(value))
        return value.value

    @lr.setter
    def lr(self, value: float) -> None:
        _L.ft_optim_set_lr(self._get(), float(value))

    @property
    def steps(self) -> int:
        """The number of steps taken."""
        value = c_int64()
        _L.ft_optim_step_count(self._get(), byref(value))
        return int(value.value)

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        return f"{type(self).__name__}({self.num_params} parameter tensors, lr={self.lr!r}, steps={self.steps})"


def _betas(betas: Sequence[float]) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return float(beta1), float(beta2)


def _hyper_parameters(arguments: dict[str, Any]) -> dict[str, Any]:
    """The ``ft_optim_options`` fields of an optimiser's ``__init__`` arguments (its
    ``locals()``): every argument but ``self`` and ``params``, torch's ``betas`` pair split
    into the library's ``beta1`` and ``beta2``.  The subclasses spell out torch.optim's
    signature; this passes it on without repeating each name."""
    options = {k: v for k, v in arguments.items() if k not in ("self", "params", "__class__")}
    if "betas" in options:
        options["beta1"], options["beta2"] = _betas(options.pop("betas"))
    return options


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov (``torch.optim.SGD``)."""

    kind = FT_OPTIM_SGD

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, **_hyper_parameters(locals()))


class Adam(Optimizer):
    """Adam, optionally AMSGrad, with L2 weight decay (``torch.optim.Adam``)."""

    kind = FT_OPTIM_ADAM

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, **_hyper_parameters(locals()))


class AdamW(Optimizer):
    """Adam with decoupled weight decay, optionally AMSGrad (``torch.optim.AdamW``)."""

    kind = FT_OPTIM_ADAMW

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, **_hyper_parameters(locals()))


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum (``torch.optim.RMSprop``)."""

    kind = FT_OPTIM_RMSPROP

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, **_hyper_parameters(locals()))


class Adagrad(Optimizer):
    """Adagrad with learning-rate decay and an initial accumulator value (``torch.optim.Adagrad``)."""

    kind = FT_OPTIM_ADAGRAD

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, **_hyper_parameters(locals()))


# ---------------------------------------------------------------------------------------------
# Learning-rate schedulers
# ---------------------------------------------------------------------------------------------
class LRScheduler(HandleOwner):
    """Base class of the schedulers (an ``ft_scheduler`` handle; it keeps its optimiser alive).

    As in torch, construction records the optimiser's current learning rate as the base
    rate and sets ``last_epoch`` to 0; call :meth:`step` after ``optimizer.step()``.
    """

    _what = "scheduler"
    _delete = staticmethod(_L.ft_scheduler_delete)
    _release = staticmethod(_L.ft_scheduler_release)
    kind: int = -1

    def __init__(self, optimizer: Optimizer, p1: float, p2: float) -> None:
        """Build the scheduler of ``kind`` with the ABI's two parameters."""
        self._handle = None
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a pyftorch optimiser, got {type(optimizer).__name__}")
        out = c_void_p()
        _L.ft_scheduler_new(self.kind, optimizer._get(), float(p1), float(p2), byref(out))
        self._adopt(out.value)
        self.optimizer: Optimizer = optimizer

    def step(self) -> None:
        """Advance one epoch and set the optimiser's learning rate (``ft_scheduler_step``)."""
        _L.ft_scheduler_step(self._get())

    def get_last_lr(self) -> list[float]:
        """The learning rate the scheduler last set, as a one-element list (torch's form: one per group)."""
        return [self.last_lr]

    @property
    def last_lr(self) -> float:
        """The learning rate the scheduler last set."""
        value = c_double()
        _L.ft_scheduler_get_last_lr(self._get(), byref(value))
        return value.value

    @property
    def last_epoch(self) -> int:
        """The epoch counter: 0 after construction, +1 per :meth:`step`."""
        value = c_int64()
        _L.ft_scheduler_last_epoch(self._get(), byref(value))
        return int(value.value)

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.last_lr!r})"


#: The largest step_size / T_max the library accepts (``kMaxCount``: exact in a double, and
#: far from overflowing the schedulers' int64 arithmetic).
MAX_COUNT = 2**53


def _positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_COUNT:
        raise InvalidArgumentError(f"{owner}: {name} must be an integer in [1, 2**53], got {value!r}")
    return int(value)


def _finite(value: Any, name: str, owner: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(f"{owner}: {name} must be a finite number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidArgumentError(f"{owner}: {name} must be a finite number, got {value!r}")
    return x


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (``torch.optim.lr_scheduler.StepLR``)."""

    kind = FT_SCHED_STEP

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, _positive_int(step_size, "step_size", "StepLR"), _finite(gamma, "gamma", "StepLR"))


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch (``torch.optim.lr_scheduler.ExponentialLR``)."""

    kind = FT_SCHED_EXPONENTIAL

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, 0.0, _finite(gamma, "gamma", "ExponentialLR"))


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs, and back up after
    (``torch.optim.lr_scheduler.CosineAnnealingLR``: the same recurrence, periodic past ``T_max``)."""

    kind = FT_SCHED_COSINE_ANNEALING

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(
            optimizer,
            _positive_int(T_max, "T_max", "CosineAnnealingLR"),
            _finite(eta_min, "eta_min", "CosineAnnealingLR"),
        )


# ---------------------------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------------------------
def clip_grad_norm_(parameters: ParamsLike, max_norm: float, norm_type: float | str = 2.0) -> float:
    """Scale the gradients so that their joint ``norm_type``-norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_`` (the coefficient is ``max_norm / (norm + 1e-6)``,
    capped at 1); parameters without a gradient are ignored.  ``norm_type`` is a positive
    number, or ``inf`` (``float("inf")`` or ``"inf"``) for the largest absolute value.

    Returns:
        The total norm of the gradients before clipping (a float; torch returns a tensor).
    """
    tensors = _tensor_list(parameters, "clip_grad_norm_", allow_single=True)
    p = float(norm_type)  # float("inf") parses "inf"
    if not p > 0:
        raise InvalidArgumentError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type!r}")
    total = c_double()
    _L.ft_clip_grad_norm(_handle_array(tensors), len(tensors), float(max_norm), p, byref(total))
    return total.value


def clip_grad_value_(parameters: ParamsLike, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` (``torch.nn.utils.clip_grad_value_``)."""
    tensors = _tensor_list(parameters, "clip_grad_value_", allow_single=True)
    value = float(clip_value)
    if math.isnan(value):
        raise InvalidArgumentError("clip_grad_value_: clip_value is NaN")
    _L.ft_clip_grad_value(_handle_array(tensors), len(tensors), value)


from pyftorch.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402 -- re-exported here

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "optim_defaults",
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "clip_grad_norm_",
    "clip_grad_value_",
    "save_checkpoint",
    "load_checkpoint",
]
