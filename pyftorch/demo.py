"""``pyftorch demo``: the main job, from a source checkout or an installed package.

1. autograd from Fortran: a small program with gradients checked by hand (examples/autograd);
2. online training inside a Fortran simulation's time loop, reproduced step by step in
   PyTorch (examples/online_training), with a plot of both loss curves;
3. the built-in cross-check suite: the same library driven from Python, against PyTorch;
4. when MPI is installed: one model trained by an ensemble of MPI ranks
   (examples/distributed_training), every rank's loss curve plotted.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pyftorch import config as ftconfig
from pyftorch._locate import examples_dir, find_install, source_checkout


def compile_fortran(source: Path, exe: Path) -> Path:
    """Compile a program against the installed ftorch with `pyftorch config`'s flags."""
    install = find_install()
    exe.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        ftconfig.fortran_compiler(install),
        "-O2",
        f"-J{exe.parent}",
        *ftconfig.cflags(install).split(),
        str(source),
        *ftconfig.libs(install).split(),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True)
    return exe


def load_example(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pyftorch demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: build/demo in a checkout, else ./pyftorch-demo)",
    )
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: 1000)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    examples = examples_dir()
    if examples is None:
        print(
            "pyftorch demo: the example programs are missing from this installation "
            "(they ship in the package and in a source checkout's examples/); reinstall pyftorch",
            file=sys.stderr,
        )
        return 2
    if not ftconfig.has_fortran(find_install()):
        print(f"pyftorch demo: {ftconfig.no_fortran_message(find_install())}", file=sys.stderr)
        return 2
    root = source_checkout()
    out = args.out or (root / "build" / "demo" if root else Path.cwd() / "pyftorch-demo")

    print("== 1. Autograd from Fortran (examples/autograd) ==")
    exe = compile_fortran(examples / "autograd" / "autograd.f90", out / "bin" / "autograd")
    print(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)

    print("== 2. Online training in a Fortran time loop, matched by PyTorch (examples/online_training) ==")
    example = load_example(examples / "online_training" / "online_training.py")
    exe = compile_fortran(examples / "online_training" / "lorenz96_online.f90", out / "bin" / "lorenz96_online")
    config = example.Config() if args.steps is None else example.Config(steps=args.steps)
    result = example.run(exe, out / "online_training", config)

    print("\n== 3. The same library from Python, against PyTorch (pyftorch crosscheck, CPU) ==")
    from pyftorch.crosscheck.cli import summary_line
    from pyftorch.crosscheck.engine import run_suite
    from pyftorch.crosscheck.suite import builtin_suite

    results = run_suite(builtin_suite(), devices=("cpu",))
    groups = {
        "operators and autograd": lambda n: not n.startswith(("loss_", "optim_", "sched_", "clip_")),
        "losses": lambda n: n.startswith("loss_"),
        "optimisers": lambda n: n.startswith("optim_"),
        "schedulers": lambda n: n.startswith("sched_"),
        "clipping": lambda n: n.startswith("clip_"),
    }
    for label, member in groups.items():
        print(f"  {label:<24} {summary_line([r for r in results if member(r.case)])}")
    print("  full table: pyftorch crosscheck; random scenarios: pyftorch crosscheck --random 500")
    crosscheck_ok = all(r.status != "fail" for r in results)
    distributed_ok = distributed_demo(examples, out, args.steps)
    return 0 if result.ok and crosscheck_ok and distributed_ok else 1


def distributed_demo(examples: Path, out: Path, steps: int | None) -> bool:
    """Section 4: data-parallel training of one model by an ensemble of MPI ranks
    (examples/distributed_training); skipped, saying why, without MPI or distributed support."""
    import shutil

    from pyftorch import _lib

    print("\n== 4. One model trained by an ensemble of MPI ranks (examples/distributed_training) ==")
    install = find_install()
    missing = [tool for tool in ("mpirun", "mpif90") if shutil.which(tool) is None]
    if (
        missing
        or not _lib.load().ft_distributed_available()
        or not list((install.prefix / "lib").glob("libftorch_mpi.so*"))
    ):
        why = f"{' and '.join(missing)} not found" if missing else "libftorch was built without distributed support"
        print(f"  skipped: {why} (install openmpi-bin, libopenmpi-dev and libgloo-dev, then rebuild)")
        return True
    example = load_example(examples / "distributed_training" / "distributed_training.py")
    exe = out / "bin" / "lorenz96_ensemble"
    exe.parent.mkdir(parents=True, exist_ok=True)
    libdir = install.prefix / "lib"
    subprocess.run(
        [
            "mpif90",
            "-O2",
            f"-J{exe.parent}",
            *ftconfig.cflags(install).split(),
            str(examples / "distributed_training" / "lorenz96_ensemble.f90"),
            f"-L{libdir}",
            "-lftorch_mpi",
            *ftconfig.libs(install).split(),
            "-o",
            str(exe),
        ],
        check=True,
    )
    config = example.Config() if steps is None else example.Config(steps=steps)
    return example.run(exe, out / "distributed_training", 2, config).ok
