"""Writing models for Fortran: TorchScript files that `torch_model_load` reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def save_torchscript(module: Any, path: str | Path, example_inputs: Sequence[Any] | None = None) -> Path:
    """Save ``module`` (a ``torch.nn.Module``) as TorchScript at ``path``.

    The module is compiled with ``torch.jit.script``; if scripting fails (dynamic Python the
    compiler cannot handle) and ``example_inputs`` are given, it is traced with them instead.
    The saved file keeps the module's current weights and its train/eval mode.
    """
    import warnings

    import torch

    path = Path(path)
    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated upstream but remains the format LibTorch C++ loads.
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(module)
    except Exception as exc:  # torch raises several exception types from the compiler
        if example_inputs is None:
            raise RuntimeError(
                f"torch.jit.script could not compile {type(module).__name__} ({exc}); "
                "pass example_inputs to trace it instead"
            ) from exc
        scripted = torch.jit.trace(module, tuple(example_inputs))
    path.parent.mkdir(parents=True, exist_ok=True)
    scripted.save(str(path))
    return path
