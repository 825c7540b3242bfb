"""The public Python API has docstrings and type hints."""

from __future__ import annotations

import inspect

import pytest

import pyftorch
from pyftorch import errors, runtime
from pyftorch.crosscheck import cli as crosscheck_cli
from pyftorch.crosscheck import engine, expr, generate, scenario, suite, training

MODULES = [pyftorch, errors, runtime, engine, expr, scenario, suite, generate, crosscheck_cli, training]


def _library_modules():
    """The modules that load libftorch on import (imported here, not at collection)."""
    import pyftorch._handles as handles
    import pyftorch.checkpoint as checkpoint
    import pyftorch.core as core
    import pyftorch.losses as losses
    import pyftorch.model as model
    import pyftorch.optim as optim

    return [core, handles, model, losses, optim, checkpoint]


def _public_callables():
    seen = set()
    for module in [*_library_modules(), *MODULES]:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    yield f"{module.__name__}.{name}", obj


def test_modules_have_docstrings():
    import pyftorch._lib as lib
    import pyftorch.core as core

    for module in [core, lib, *_library_modules(), *MODULES]:
        assert module.__doc__ and module.__doc__.strip(), module.__name__


@pytest.mark.parametrize("qualname,obj", list(_public_callables()), ids=lambda x: x if isinstance(x, str) else "")
def test_public_callables_have_docstrings_and_hints(qualname, obj):
    assert inspect.getdoc(obj), f"{qualname} has no docstring"
    functions = (
        [obj]
        if inspect.isfunction(obj)
        else [f for n, f in vars(obj).items() if inspect.isfunction(f) and (not n.startswith("_") or n == "__init__")]
    )
    for fn in functions:
        sig = inspect.signature(fn)
        missing = [
            p
            for p, v in sig.parameters.items()
            if p not in ("self", "cls", "draw") and v.annotation is inspect.Parameter.empty
        ]
        assert not missing, f"{qualname}.{fn.__name__}: parameters without type hints: {missing}"
        if fn.__name__ != "__init__":
            assert sig.return_annotation is not inspect.Signature.empty, f"{qualname}.{fn.__name__}: no return type"


def test_tensor_methods_documented():
    from pyftorch.core import Tensor

    for name in (
        "from_numpy",
        "numpy",
        "backward",
        "get_gradient",
        "zero_grad",
        "close",
        "sum",
        "mean",
        "to",
        "detach",
        "item",
    ):
        assert inspect.getdoc(getattr(Tensor, name)), name
    for prop in ("grad", "requires_grad", "device", "dtype", "shape", "is_leaf", "is_view", "closed"):
        assert inspect.getdoc(getattr(Tensor, prop)), prop


def test_training_classes_documented():
    import pyftorch as ft

    for cls in (
        ft.Model,
        ft.Optimizer,
        ft.SGD,
        ft.Adam,
        ft.AdamW,
        ft.RMSprop,
        ft.Adagrad,
        ft.LRScheduler,
        ft.StepLR,
        ft.ExponentialLR,
        ft.CosineAnnealingLR,
    ):
        assert inspect.getdoc(cls), cls
        for name in ("close", "closed"):
            assert inspect.getdoc(getattr(cls, name)), (cls, name)
    for name in ("load", "forward", "parameters", "train", "eval", "training", "save"):
        assert inspect.getdoc(getattr(ft.Model, name)), name
    for name in ("step", "zero_grad", "lr", "steps"):
        assert inspect.getdoc(getattr(ft.Optimizer, name)), name
    for name in ("step", "get_last_lr", "last_epoch"):
        assert inspect.getdoc(getattr(ft.LRScheduler, name)), name
