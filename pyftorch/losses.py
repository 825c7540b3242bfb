"""Loss functions of libftorch (``ft_loss``): the functions of ``torch.nn.functional``.

Each takes ``input`` and ``target`` :class:`~pyftorch.Tensor` objects and returns a new
Tensor that records autograd history when ``input`` requires gradients.  ``reduction`` is
``"mean"`` (default), ``"sum"`` or ``"none"``.  As with :meth:`Tensor.sum`, the mean and
sum reductions give a one-element rank-1 tensor (torch gives a 0-d one); ``"none"`` gives
the per-element losses.

Unlike torch, the library never broadcasts ``input`` against ``target``: different shapes
raise :class:`~pyftorch.errors.ShapeError`, different dtypes
:class:`~pyftorch.errors.DTypeError`, different devices :class:`~pyftorch.errors.DeviceError`.
"""

from __future__ import annotations

from ctypes import byref, c_void_p

from pyftorch import _lib
from pyftorch.core import Tensor, _merge_keep
from pyftorch.errors import InvalidArgumentError

_L = _lib.load()

#: ``enum ft_loss_kind``.
FT_LOSS_MSE, FT_LOSS_L1, FT_LOSS_SMOOTH_L1, FT_LOSS_HUBER, FT_LOSS_CROSS_ENTROPY, FT_LOSS_BCE_WITH_LOGITS = range(6)
#: ``reduction`` -> ``enum ft_reduction``.
REDUCTIONS: dict[str, int] = {"none": 0, "mean": 1, "sum": 2}


def _reduction_code(reduction: str) -> int:
    try:
        return REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}") from None


def _loss(kind: int, input: Tensor, target: Tensor, reduction: str, param: float = 0.0) -> Tensor:
    """Call ``ft_loss`` with a NULL output handle: the result is a new Tensor."""
    for name, t in (("input", input), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a pyftorch.Tensor, got {type(t).__name__}")
    code = _reduction_code(reduction)
    out = c_void_p()
    _L.ft_loss(kind, input._get(), target._get(), code, float(param), byref(out))
    return Tensor._wrap(out.value, _merge_keep(input, target))


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)**2`` (``torch.nn.functional.mse_loss``)."""
    return _loss(FT_LOSS_MSE, input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|`` (``torch.nn.functional.l1_loss``)."""
    return _loss(FT_LOSS_L1, input, target, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: quadratic below ``beta``, linear above (``torch.nn.functional.smooth_l1_loss``)."""
    if not beta >= 0:
        raise InvalidArgumentError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    return _loss(FT_LOSS_SMOOTH_L1, input, target, reduction, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss with threshold ``delta`` (``torch.nn.functional.huber_loss``)."""
    if not delta > 0:
        raise InvalidArgumentError(f"huber_loss: delta must be > 0, got {delta!r}")
    return _loss(FT_LOSS_HUBER, input, target, reduction, delta)


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (``torch.nn.functional.cross_entropy``).

    ``input`` has the classes in dimension 1 (``(N, C)``, ``(N, C, d1, ...)``, or ``(C,)``
    unbatched).  ``target`` is either class indices (int64, the input's shape without
    the class dimension) or class probabilities (the input's shape and dtype).
    ``label_smoothing`` in [0, 1] mixes the target with the uniform distribution.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise InvalidArgumentError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return _loss(FT_LOSS_CROSS_ENTROPY, input, target, reduction, label_smoothing)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of logits against targets in [0, 1]
    (``torch.nn.functional.binary_cross_entropy_with_logits``)."""
    return _loss(FT_LOSS_BCE_WITH_LOGITS, input, target, reduction)


__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "REDUCTIONS",
]
