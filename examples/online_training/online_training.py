"""Online training from Fortran, reproduced in PyTorch.

1. write the configuration (a Fortran namelist) and the initial TorchScript model,
2. run the Fortran program lorenz96_online, which trains the model inside its time loop,
3. run the same simulation and the same training in Python with torch.optim,
4. compare the loss curves (every logged step) and the final parameters, and plot both.

    python examples/online_training/online_training.py --fortran-exe PATH --out DIR

`pyftorch demo` builds the Fortran program and calls run().
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Config:
    """Shared by the Fortran run (as a namelist) and the Python reproduction."""

    k: int = 40
    spinup: int = 500
    steps: int = 1000
    log_every: int = 5
    forcing: float = 8.0
    dt: float = 0.005
    learning_rate: float = 3.0e-3
    eta_min: float = 1.0e-4
    max_norm: float = 1.0
    hidden: int = 32
    seed: int = 0

    def write_namelist(self, path: Path) -> Path:
        """Write the Fortran program's settings; reals as exact double-precision literals."""
        names = ("k", "spinup", "steps", "log_every", "forcing", "dt", "learning_rate", "eta_min", "max_norm")
        literal = lambda v: str(v) if isinstance(v, int) else f"{v:.17e}".replace("e", "d")  # noqa: E731
        body = ",\n".join(f"  {name} = {literal(getattr(self, name))}" for name in names)
        path.write_text(f"&config\n{body}\n/\n")
        return path


@dataclass
class Run:
    """A training run's record: logged steps, losses and learning rates, final state."""

    steps: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    final_state: np.ndarray
    parameters: dict[str, np.ndarray]


def make_initial_model(config: Config, path: Path) -> Path:
    """The MLP with fixed initial weights, saved as TorchScript."""
    import torch

    from pyftorch.torchscript import save_torchscript

    torch.manual_seed(config.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, config.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(config.hidden, config.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(config.hidden, 1),
    )
    return save_torchscript(model, path)


# --- the simulation, operation for operation as in lorenz96_online.f90 ---------------------


def initial_state(config: Config) -> np.ndarray:
    return config.forcing + 0.01 * np.sin(np.arange(1, config.k + 1, dtype=np.float64))


def advection(x: np.ndarray) -> np.ndarray:
    return (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1)


def tendency(x: np.ndarray, forcing: float) -> np.ndarray:
    return advection(x) - x + forcing


def rk4_step(x: np.ndarray, config: Config) -> np.ndarray:
    dt, f = config.dt, config.forcing
    k1 = tendency(x, f)
    k2 = tendency(x + 0.5 * dt * k1, f)
    k3 = tendency(x + 0.5 * dt * k2, f)
    k4 = tendency(x + dt * k3, f)
    return x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def stencil_features(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (k, 4) and targets (k, 1) in float32, laid out like the Fortran arrays."""
    stencil = np.stack([np.roll(x, 2), np.roll(x, 1), x, np.roll(x, -1)], axis=1)
    features = np.asfortranarray((stencil / 10.0).astype(np.float32))
    target = np.asfortranarray((advection(x) / 100.0).astype(np.float32)[:, None])
    return features, target


def train_in_python(config: Config, model_path: Path) -> Run:
    """The Fortran program's run in PyTorch, from the same initial model and data."""
    import torch

    model = torch.jit.load(str(model_path))
    model.train()
    params = list(model.parameters())
    optimiser = torch.optim.Adam(params, lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.steps, eta_min=config.eta_min)
    x = initial_state(config)
    for _ in range(config.spinup):
        x = rk4_step(x, config)
    steps, losses, lrs = [], [], []
    for n in range(1, config.steps + 1):
        features, target = stencil_features(x)
        optimiser.zero_grad()
        # from_numpy keeps the Fortran (column-major) strides of the Fortran program's tensors
        output = model(torch.from_numpy(features))
        loss = torch.nn.functional.mse_loss(output, torch.from_numpy(target))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.max_norm)
        optimiser.step()
        if n % config.log_every == 0 or n == 1:
            steps.append(n)
            losses.append(loss.item())
            lrs.append(optimiser.param_groups[0]["lr"])
        schedule.step()
        x = rk4_step(x, config)
    parameters = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    return Run(np.array(steps), np.array(losses), np.array(lrs), x, parameters)


def read_fortran_run(out_dir: Path) -> Run:
    import torch

    table = np.loadtxt(out_dir / "losses.dat", ndmin=2)
    model = torch.jit.load(str(out_dir / "model_trained.pt"))
    parameters = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    return Run(table[:, 0].astype(int), table[:, 1], table[:, 2], np.loadtxt(out_dir / "final_state.dat"), parameters)


@dataclass
class Comparison:
    logged_steps: int
    last_step: int
    max_loss_rel_error: float
    max_lr_rel_error: float
    max_param_rel_error: float
    state_max_abs_error: float
    first_loss: float
    last_loss: float
    loss_tolerance: float = 1e-4
    fortran: Run | None = dataclasses.field(default=None, repr=False)
    python: Run | None = dataclasses.field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.max_loss_rel_error <= self.loss_tolerance and self.max_lr_rel_error <= 1e-12

    def report(self) -> str:
        rows = [
            ("logged steps compared", f"{self.logged_steps} (steps 1..{self.last_step})"),
            ("loss, first -> last", f"{self.first_loss:.4e} -> {self.last_loss:.4e}"),
            ("max relative loss error", f"{self.max_loss_rel_error:.2e}  (tolerance {self.loss_tolerance:.0e})"),
            ("max relative learning-rate error", f"{self.max_lr_rel_error:.2e}"),
            ("max relative parameter error", f"{self.max_param_rel_error:.2e}"),
            ("simulation state, max abs difference", f"{self.state_max_abs_error:.2e}"),
            ("verdict", "MATCH" if self.ok else "MISMATCH"),
        ]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def compare(fortran: Run, python: Run) -> Comparison:
    if not np.array_equal(fortran.steps, python.steps):
        raise ValueError("the two runs logged different steps")
    rel = lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))  # noqa: E731
    param_errors = [
        float(np.max(np.abs(fortran.parameters[n] - p)) / max(float(np.max(np.abs(p))), 1e-30))
        for n, p in python.parameters.items()
    ]
    return Comparison(
        logged_steps=len(fortran.steps),
        last_step=int(fortran.steps[-1]),
        max_loss_rel_error=rel(fortran.losses, python.losses),
        max_lr_rel_error=rel(fortran.lrs, python.lrs),
        max_param_rel_error=max(param_errors),
        state_max_abs_error=float(np.max(np.abs(fortran.final_state - python.final_state))),
        first_loss=float(fortran.losses[0]),
        last_loss=float(fortran.losses[-1]),
        fortran=fortran,
        python=python,
    )


def plot(fortran: Run, python: Run, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(3, 1))
    top.semilogy(fortran.steps, fortran.losses, lw=2.5, alpha=0.6, label="Fortran (pyftorch)")
    top.semilogy(python.steps, python.losses, "k--", lw=1, label="Python (PyTorch)")
    top.set_ylabel("MSE loss")
    top.set_title("Lorenz-96: online training of the advection term")
    top.legend()
    rel = np.abs(fortran.losses - python.losses) / np.abs(python.losses)
    if np.any(rel > 0):
        bottom.semilogy(fortran.steps, rel, ".", ms=3)
    else:
        bottom.set_yticks([])
        bottom.text(
            0.5,
            0.5,
            f"identical at all {len(rel)} logged steps (relative difference 0)",
            transform=bottom.transAxes,
            ha="center",
            va="center",
        )
    bottom.set_ylabel("relative difference")
    bottom.set_xlabel("time step")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run(fortran_exe: Path, out_dir: Path, config: Config | None = None, echo=print) -> Comparison:
    """The whole demonstration; returns the comparison (raises if the Fortran run fails)."""
    config = config if config is not None else Config()
    out_dir.mkdir(parents=True, exist_ok=True)
    namelist = config.write_namelist(out_dir / "online_training.nml")
    model = make_initial_model(config, out_dir / "model_initial.pt")
    echo(f"Fortran: {fortran_exe.name} (Lorenz-96, K={config.k}, {config.steps} training steps)")
    proc = subprocess.run([str(fortran_exe), str(namelist), str(model), str(out_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the Fortran program failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    for line in lines[:3] + ["  ..."] + lines[-4:]:
        echo("  " + line.strip() if line != "  ..." else line)
    echo("Python: the same simulation and training with torch.optim")
    fortran, python = read_fortran_run(out_dir), train_in_python(config, model)
    result = compare(fortran, python)
    echo(result.report())
    try:
        echo(f"  plot: {plot(fortran, python, out_dir / 'loss_curves.png')}")
    except ImportError:  # matplotlib is optional: pip install 'pyftorch[plot]'
        echo("  plot: skipped, matplotlib is not installed (pip install 'pyftorch[plot]')")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fortran-exe", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("online_training_out"))
    parser.add_argument("--steps", type=int, default=Config.steps)
    args = parser.parse_args(argv)
    result = run(args.fortran_exe, args.out, dataclasses.replace(Config(), steps=args.steps))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
