"""Data-parallel online training of one model by an ensemble of Fortran simulations.

1. write the configuration (a Fortran namelist) and the initial TorchScript model,
2. run ``mpirun -np N lorenz96_ensemble``: one Lorenz-96 ensemble member per rank, one
   model shared through ``torch_model_distribute`` (gradients averaged as DDP does),
3. check that every rank ended with bitwise-identical parameters (the Fortran program
   checks it with a broadcast; here the saved models are compared too),
4. plot every rank's loss curve.

    python examples/distributed_training/distributed_training.py --fortran-exe PATH --out DIR [--np 2]

Build the program with the MPI compiler and libftorch_mpi, e.g.
``mpif90 -O2 $(pyftorch config --cflags) lorenz96_ensemble.f90 -lftorch_mpi $(pyftorch config --libs)``.
`pyftorch demo` builds and runs it when MPI is installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Config:
    k: int = 40
    spinup: int = 500
    steps: int = 500
    log_every: int = 50
    forcing: float = 8.0
    dt: float = 0.005
    learning_rate: float = 3.0e-3
    eta_min: float = 1.0e-4
    hidden: int = 32
    seed: int = 0

    def write_namelist(self, path: Path) -> Path:
        names = ("k", "spinup", "steps", "log_every", "forcing", "dt", "learning_rate", "eta_min")
        literal = lambda v: str(v) if isinstance(v, int) else f"{v:.17e}".replace("e", "d")  # noqa: E731
        path.write_text("&config\n" + ",\n".join(f"  {n} = {literal(getattr(self, n))}" for n in names) + "\n/\n")
        return path


@dataclass
class Result:
    ranks: int
    identical_fortran: bool
    identical_files: bool
    losses: dict[int, np.ndarray]
    steps: np.ndarray

    @property
    def ok(self) -> bool:
        return self.identical_fortran and self.identical_files

    def report(self) -> str:
        rows = [("ranks (ensemble members)", str(self.ranks)), ("training steps", str(len(self.steps)))]
        rows += [(f"rank {r} loss, first -> last", f"{v[0]:.4e} -> {v[-1]:.4e}") for r, v in self.losses.items()]
        rows += [
            ("parameters identical (Fortran broadcast check)", str(self.identical_fortran)),
            ("parameters identical (saved models, bitwise)", str(self.identical_files)),
            ("verdict", "OK" if self.ok else "MISMATCH"),
        ]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def make_initial_model(config: Config, path: Path) -> Path:
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


def mpirun_command(n: int) -> list[str]:
    cmd = ["mpirun", "-np", str(n)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    if n > (os.cpu_count() or 1):
        cmd.append("--oversubscribe")
    return cmd


def plot(result: Result, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r, losses in result.losses.items():
        ax.semilogy(result.steps, losses, lw=1, alpha=0.8, label=f"rank {r}")
    ax.set_xlabel("time step")
    ax.set_ylabel("MSE loss (own ensemble member)")
    ax.set_title(f"Lorenz-96 ensemble: one model trained on {result.ranks} ranks", fontsize=11)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run(fortran_exe: Path, out_dir: Path, ranks: int = 2, config: Config | None = None, echo=print) -> Result:
    import torch

    config = config if config is not None else Config()
    out_dir.mkdir(parents=True, exist_ok=True)
    namelist = config.write_namelist(out_dir / "distributed_training.nml")
    model = make_initial_model(config, out_dir / "model_initial.pt")
    echo(f"Fortran: mpirun -np {ranks} {fortran_exe.name} (Lorenz-96 ensemble, K={config.k}, {config.steps} steps)")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [*mpirun_command(ranks), str(fortran_exe), str(namelist), str(model), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the Fortran program failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        echo("  " + line.strip())
    data = {r: np.loadtxt(out_dir / f"losses_rank{r}.dat") for r in range(ranks)}
    states = [
        {n: p.detach().numpy() for n, p in torch.jit.load(str(out_dir / f"model_rank{r}.pt")).named_parameters()}
        for r in range(ranks)
    ]
    identical = all(np.array_equal(s[n].view(np.uint8), states[0][n].view(np.uint8)) for s in states for n in s)
    result = Result(
        ranks=ranks,
        identical_fortran=f"identical on all {ranks} ranks: T" in proc.stdout,
        identical_files=identical,
        losses={r: d[:, 1] for r, d in data.items()},
        steps=data[0][:, 0],
    )
    echo(result.report())
    try:
        echo(f"  plot: {plot(result, out_dir / 'loss_curves.png')}")
    except ImportError:  # matplotlib is optional: pip install 'pyftorch[plot]'
        echo("  plot: skipped, matplotlib is not installed (pip install 'pyftorch[plot]')")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fortran-exe", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("distributed_training_out"))
    parser.add_argument("--np", type=int, default=2, help="number of ranks (ensemble members)")
    parser.add_argument("--steps", type=int, default=Config.steps)
    args = parser.parse_args(argv)
    result = run(args.fortran_exe, args.out, args.np, dataclasses.replace(Config(), steps=args.steps))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
