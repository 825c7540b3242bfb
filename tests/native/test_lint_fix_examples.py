"""FT001's fix is safe on real programs: every example with its `only:` lists removed
(bare `use ftorch`), then fixed by `pyftorch lint --fix`, compiles, links and runs with
exactly the output of the original."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, fortran_env
from tests.native.test_distributed import distributed_build, mpi  # noqa: F401  (fixtures of the MPI example)

EXAMPLES = sorted((ROOT / "examples").rglob("*.f90"))
USE_ONLY = re.compile(
    r"^([ \t]*use[ \t]+(?:ftorch\w*))[ \t]*,[ \t]*only[ \t]*:(?:[^\n]*&[ \t]*\n)*[^\n]*\n", re.I | re.M
)


def strip_only_lists(text: str) -> str:
    """Every `use ftorch..., only: ...` (with continuation lines) becomes a bare `use`."""
    return USE_ONLY.sub(lambda m: m.group(1) + "\n", text)


def _build(example: Path, source: Path, name: str, fortran, request) -> Path:
    if example.name == "lorenz96_ensemble.f90":  # an MPI program: mpif90 and libftorch_mpi
        from tests.native.test_distributed import MpiBuilder

        request.getfixturevalue("mpi")  # skips, with the reason, without mpirun/mpif90/libftorch_mpi
        builder = MpiBuilder(request.getfixturevalue("install"), source.parent / f"mpi-{name}")
        return builder.build(source)
    return fortran.build(source, name=name)


def _run(exe: Path, example: Path, workdir: Path) -> str:
    if example.name == "lorenz96_ensemble.f90":  # a short run on two ranks
        pytest.importorskip("torch")
        from pyftorch.demo import load_example
        from tests.native.test_distributed import mpi_env

        demo = load_example(example.parent / "distributed_training.py")
        config = demo.Config(spinup=50, steps=20, log_every=5)
        nml = config.write_namelist(workdir / "config.nml")
        model = demo.make_initial_model(config, workdir / "model.pt")
        out = workdir / "out"
        out.mkdir()
        proc = subprocess.run(
            [*demo.mpirun_command(2), str(exe), str(nml), str(model), str(out)],
            capture_output=True,
            text=True,
            env=mpi_env(),
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + "".join(p.read_text() for p in sorted(out.glob("losses_rank*.dat")))
    if example.name == "lorenz96_online.f90":  # a short run of the online-training example
        pytest.importorskip("torch")
        from pyftorch.demo import load_example

        demo = load_example(example.parent / "online_training.py")
        config = demo.Config(spinup=50, steps=30, log_every=5)
        nml = config.write_namelist(workdir / "config.nml")
        model = demo.make_initial_model(config, workdir / "model.pt")
        out = workdir / "out"
        out.mkdir()
        proc = subprocess.run(
            [str(exe), str(nml), str(model), str(out)], capture_output=True, text=True, env=fortran_env(), timeout=600
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + (out / "losses.dat").read_text()
    proc = subprocess.run([str(exe)], capture_output=True, text=True, env=fortran_env(), cwd=workdir, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_examples_are_covered():
    names = {p.name for p in EXAMPLES}
    assert {"autograd.f90", "lorenz96_online.f90"} <= names
    for path in EXAMPLES:
        assert USE_ONLY.search(path.read_text()), f"{path.name} has no `use ftorch, only:` to strip"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_fix_of_bare_use_compiles_links_and_runs_identically(example, fortran, tmp_path, request):
    if shutil.which("gfortran") is None:
        pytest.skip("gfortran is not installed")
    bare = strip_only_lists(example.read_text())
    assert bare != example.read_text() and not re.search(r"use\s+ftorch\w*\s*,\s*only", bare, re.I)
    work = tmp_path / "fixed"
    work.mkdir()
    target = work / example.name
    target.write_text(bare)
    proc = subprocess.run(
        [sys.executable, "-m", "pyftorch", "lint", "--no-cache", "--select", "FT001", "--fix", target.name],
        cwd=work,
        capture_output=True,
        text=True,
    )
    fixed = target.read_text()
    assert "Fixed" in proc.stderr, proc.stdout + proc.stderr
    assert re.search(r"use\s+ftorch\s*,\s*only\s*:", fixed, re.I), fixed
    original = tmp_path / "original"
    original.mkdir()
    (original / example.name).write_text(example.read_text())
    original_exe = _build(example, original / example.name, example.stem + "-original", fortran, request)
    fixed_exe = _build(example, target, example.stem + "-fixed", fortran, request)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _run(fixed_exe, example, tmp_path / "b") == _run(original_exe, example, tmp_path / "a")
