"""The training-step case: the MLP, its TorchScript file, the data and the reference.

Every variant loads the same TorchScript file (written once per process with
``torch.jit.script``), so all of them start from the same weights, and trains it on the
same batch with the same optimiser settings.  One step is

    forward (requires_grad) -> MSE loss -> backward -> Adam step -> zero_grad

The correctness check runs :data:`bench.test_ops_bench.CHECK_RUNS` steps from a fresh
load and compares the first layer's weight with :func:`reference`, the same steps in
Python PyTorch (``torch.jit.load`` plus ``torch.optim.Adam``).

    python -m bench.training          # write the model files, print their paths

(``build/bench-kernels/bench_driver fortran|cxx train_step 32 float32 N REPEAT MODEL``
needs them.)
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "build" / "bench-models"

#: The MLP: N_IN -> HIDDEN (Tanh) -> HIDDEN (ReLU) -> N_OUT, trained on batches of BATCH.
BATCH, N_IN, HIDDEN, N_OUT = 32, 16, 64, 16
#: Adam's learning rate (the other hyper-parameters are torch's defaults).
LR = 1e-3
SEED = 20261126
#: Number of elements of the checked output: the first layer's weight (HIDDEN x N_IN).
WEIGHT_ELEMENTS = HIDDEN * N_IN

_written: dict[str, Path] = {}


def eager_module(dtype: str):
    """The MLP as a plain nn.Module (deterministic initial weights)."""
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        module = nn.Sequential(
            nn.Linear(N_IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, N_OUT)
        )
    return module.to(getattr(torch, dtype)).train()


def model_file(dtype: str) -> Path:
    """The TorchScript file of the MLP in `dtype`, written once per process (atomically)."""
    if dtype not in _written:
        import warnings

        import torch

        MODEL_DIR.mkdir(parents=True, exist_ok=True)
        path = MODEL_DIR / f"train_mlp-{dtype}.pt"
        fd, tmp = tempfile.mkstemp(dir=MODEL_DIR, suffix=".pt.tmp")
        os.close(fd)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.script(eager_module(dtype)).save(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _written[dtype] = path
    return _written[dtype]


def data(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The batch: inputs (BATCH, N_IN) and targets (BATCH, N_OUT), C order."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((BATCH, N_IN))
    y = np.sin(2.0 * x[:, ::-1])[:, :N_OUT] + 0.1 * rng.standard_normal((BATCH, N_OUT))
    return np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)


def load_scripted(dtype: str):
    """The TorchScript module from the file, in training mode (Python's torch.jit.load)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(model_file(dtype)), map_location="cpu")
    return module.train()


def load_eager(dtype: str):
    """A plain nn.Module with the file's weights (so it starts where the others do)."""
    module = eager_module(dtype)
    module.load_state_dict(load_scripted(dtype).state_dict())
    return module


def first_weight(module) -> np.ndarray:
    """The first layer's weight, flattened in C order, as float64."""
    return next(iter(module.parameters())).detach().double().numpy().reshape(-1).copy()


@functools.cache
def reference(dtype: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(initial, trained) first-layer weight after `steps` steps in Python PyTorch."""
    import torch
    import torch.nn.functional as F

    module = load_scripted(dtype)
    initial = first_weight(module)
    opt = torch.optim.Adam(module.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in data(dtype))
    for _ in range(steps):
        loss = F.mse_loss(module(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return initial, first_weight(module)


def tolerance(dtype: str) -> float:
    """Absolute tolerance on the weights after the check's steps.

    Each Adam step moves a weight by about LR.  The variants compute the same operations,
    but not always with the same kernels (Fortran's input is a column-major view, so the
    GEMMs run transposed; torch::optim::Adam computes exp_avg as mul_+add_ where torch.optim
    uses lerp_), which moves a float32 result by a few ulps.  1e-6 is 30 ulps of a weight
    of 0.25 and 0.05% of one step: far below what a wrong step, a skipped zero_grad or a
    different start would give.
    """
    return 1e-6 if dtype == "float32" else 1e-12


if __name__ == "__main__":
    for name in ("float32", "float64"):
        print(model_file(name))
