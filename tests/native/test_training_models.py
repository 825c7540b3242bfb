"""TorchScript models from Fortran: checkpoint/restart, errors, and a long training loop
whose handles and memory stay flat."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyftorch.torchscript import save_torchscript
from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent


def mlp(n_in: int, n_out: int, seed: int, dtype=torch.float64) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_out)).to(dtype)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    bogus = d / "not-a-model.pt"
    bogus.write_text("this is not TorchScript\n")
    return {
        "mlp": save_torchscript(mlp(3, 2, seed=1), d / "mlp.pt"),
        "other": save_torchscript(mlp(5, 2, seed=2), d / "other.pt"),
        "bogus": bogus,
        "dir": d,
    }


def state(path: Path) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in torch.jit.load(str(path)).named_parameters()}


def pytorch_run(model_file: Path, first: int, last: int):
    """The checkpoint program's training loop in PyTorch."""
    model = torch.jit.load(str(model_file))
    model.train()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=0.02, weight_decay=0.01, amsgrad=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=150, eta_min=0.001)
    i = np.arange(1, 9)[:, None]
    j = np.arange(1, 4)[None, :]
    for k in range(first, last + 1):
        x = np.sin(0.37 * k + 1.3 * i + 0.7 * j)
        y = np.stack([x[:, 0] * x[:, 1] - 0.5 * jj * x[:, 2] for jj in (1, 2)], axis=1)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
    return {k: v.detach().numpy() for k, v in model.named_parameters()}


def test_restart_from_checkpoint_equals_uninterrupted_run(fortran, models, tmp_path):
    exe = str(fortran.build(HERE / "fortran" / "checkpoint_restart.f90"))
    full, half, resumed, ckpt = (tmp_path / n for n in ("full.pt", "half.pt", "resumed.pt", "ckpt.pt"))
    env = fortran_env()
    run([exe, str(models["mlp"]), str(full), "1", "200", "-", "-"], env=env)
    run([exe, str(models["mlp"]), str(half), "1", "100", str(ckpt), "-"], env=env)
    # a new process, starting again from the initial model file
    run([exe, str(models["mlp"]), str(resumed), "101", "200", "-", str(ckpt)], env=env)
    a, b = state(full), state(resumed)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-12, err_msg=name)
    # ...and the uninterrupted run is PyTorch's run.
    ref = pytorch_run(models["mlp"], 1, 200)
    for name in a:
        np.testing.assert_allclose(a[name], ref[name], rtol=1e-6, atol=1e-12, err_msg=f"vs PyTorch: {name}")
    # the half-way model must differ from the final one, or the test would prove nothing
    assert not all(np.allclose(state(half)[n], a[n]) for n in a)


def test_checkpoint_is_readable_by_torch_load(fortran, models, tmp_path):
    exe = str(fortran.build(HERE / "fortran" / "checkpoint_restart.f90"))
    ckpt = tmp_path / "ckpt.pt"
    run([exe, str(models["mlp"]), str(tmp_path / "m.pt"), "1", "5", str(ckpt), "-"], env=fortran_env())
    saved = torch.load(str(ckpt), weights_only=True)
    assert saved["format"] == "pyftorch-checkpoint"
    assert saved["optimizer"]["name"] == "Adam" and saved["optimizer"]["steps"] == 5
    assert saved["scheduler"]["last_epoch"] == 5
    assert set(saved["model_parameters"]) == set(state(models["mlp"]))


EXPECTED_ERRORS = {
    "missing_model_file": (10, "torch_model_load", "cannot open model file"),
    "not_torchscript": (11, "torch_model_load", "is not a TorchScript model"),
    "loss_shape_mismatch": (3, "torch_loss_mse", "input has shape [2] but target has shape [3]"),
    "optimiser_without_requires_grad": (8, "torch_optim_Adam", "does not require gradients"),
    "frozen_model_parameters": (8, "torch_optim_SGD", "does not require gradients"),
    "checkpoint_of_another_model": (8, "torch_checkpoint_load", "belongs to a different model"),
    "missing_checkpoint": (10, "torch_checkpoint_load", "cannot open checkpoint file"),
    "not_a_checkpoint": (10, "torch_checkpoint_load", "is not a pyftorch checkpoint"),
}


@pytest.fixture(scope="module")
def training_errors(fortran, models):
    exe = fortran.build(HERE / "fortran" / "training_errors.f90")
    proc = run(
        [str(exe), str(models["mlp"]), str(models["other"]), str(models["bogus"]), str(models["dir"])],
        env=fortran_env(),
    )
    assert proc.stdout.rstrip().endswith("finished")
    out = {}
    for line in proc.stdout.splitlines():
        label, _, rest = line.partition(" ")
        stat, _, message = rest.partition(" ")
        if stat.isdigit():
            out[label] = (int(stat), message)
    return out


@pytest.mark.parametrize("case", sorted(EXPECTED_ERRORS))
def test_training_error_reports_stat_and_message(training_errors, case):
    stat, procedure, cause = EXPECTED_ERRORS[case]
    got_stat, message = training_errors[case]
    assert got_stat == stat, message
    assert message.startswith(procedure + ":"), message
    assert cause in message, message


@pytest.mark.slow
def test_training_loop_keeps_handles_and_memory_flat(fortran, models):
    """10^5 steps of forward, MSE, backward, clipping and an Adam step (gfortran)."""
    exe = fortran.build(HERE / "fortran" / "train_leak.f90")
    out = run([str(exe), str(models["mlp"]), "100000"], env=fortran_env()).stdout.split()
    h0, h1, rss0, rss1 = (int(v) for v in out[-4:])
    assert h1 == h0, f"live handles went from {h0} to {h1}"
    assert rss1 - rss0 < 1024, f"resident memory grew by {rss1 - rss0} kB"
    assert math.isfinite(float(out[1]))
