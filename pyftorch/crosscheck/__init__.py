"""Cross-checking libftorch against PyTorch's own autograd, step by step.

A :class:`Scenario` is a list of steps (:class:`Leaf`, :class:`Eval`, :class:`Backward`,
:class:`ZeroGrad`, :class:`ReadGrad`, :class:`Release`).  :func:`run_case` runs one
through libftorch (via :class:`pyftorch.Tensor`) and through ``torch`` on a device and
dtype, comparing every value and gradient; :func:`run_suite` runs many.  Training cases
(:class:`LossCase`, :class:`OptimCase`, :class:`SchedulerCase`, :class:`ClipCase`, in
:mod:`pyftorch.crosscheck.training`) run the same way, through pyftorch's training API
and through ``torch.nn.functional``/``torch.optim``.  :func:`builtin_suite` is the
built-in suite (scenarios, then training cases); :mod:`pyftorch.crosscheck.generate`
draws random scenarios with hypothesis.  The command line is ``pyftorch crosscheck``.

Importing this package is cheap; torch and libftorch load when a case runs.
"""

from pyftorch.crosscheck.engine import (
    DEVICES,
    DTYPES,
    TOLERANCES,
    CaseResult,
    StepResult,
    Tolerance,
    cuda_skip_reason,
    run_case,
    run_suite,
)
from pyftorch.crosscheck.expr import Bin, Const, Neg, Reduce, Var
from pyftorch.crosscheck.scenario import Backward, Eval, Leaf, ReadGrad, Release, Scenario, ZeroGrad
from pyftorch.crosscheck.suite import builtin_suite, training_suite
from pyftorch.crosscheck.training import ClipCase, LossCase, OptimCase, SchedulerCase, TrainingCase

__all__ = [
    "DEVICES",
    "DTYPES",
    "TOLERANCES",
    "CaseResult",
    "StepResult",
    "Tolerance",
    "cuda_skip_reason",
    "run_case",
    "run_suite",
    "Bin",
    "Const",
    "Neg",
    "Reduce",
    "Var",
    "Backward",
    "Eval",
    "Leaf",
    "ReadGrad",
    "Release",
    "Scenario",
    "ZeroGrad",
    "builtin_suite",
    "training_suite",
    "TrainingCase",
    "LossCase",
    "OptimCase",
    "SchedulerCase",
    "ClipCase",
]
