"""Memory: no handle or memory growth in long time loops, with a compiler that never
finalises function results (gfortran 12) and with one that does (flang); and valgrind
finds no invalid access in the autograd example."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, fortran_env, run

HERE = Path(__file__).resolve().parent
N_EXPR = 1_000_000  # evaluations of `c = a * b + a / b` per phase (three operators)
N_STEP = 100_000  # re-construct + mean of a temporary + backward + get_gradient
RSS_LIMIT_KB = 1024


def leak_report(exe: Path) -> dict[str, tuple[int, int, int, int]]:
    out = run([str(exe), str(N_EXPR), str(N_STEP)], env=fortran_env()).stdout
    report = {}
    for line in out.splitlines():
        name, *numbers = line.split()
        report[name] = tuple(int(n) for n in numbers)
    assert set(report) == {"view", "owned", "step"}, out
    return report


def assert_flat(report, compiler):
    for phase, (h0, h1, rss0, rss1) in report.items():
        assert h1 == h0, f"{compiler}/{phase}: live handles went from {h0} to {h1}"
        assert rss1 - rss0 < RSS_LIMIT_KB, f"{compiler}/{phase}: resident memory grew by {rss1 - rss0} kB"


@pytest.mark.slow
def test_no_leak_with_gfortran(fortran):
    """gfortran 12 never finalises operator results: temporaries must be consumed."""
    version = subprocess.run(["gfortran", "-dumpversion"], capture_output=True, text=True).stdout.strip()
    report = leak_report(fortran.build(HERE / "fortran" / "leak_loop.f90"))
    print(f"gfortran {version}: {report}")
    assert_flat(report, f"gfortran {version}")


@pytest.mark.slow
def test_no_leak_with_a_finalising_compiler(fortran, flang):
    """flang finalises function results: releasing consumed temporaries must be harmless."""
    report = leak_report(fortran.build(HERE / "fortran" / "leak_loop.f90", compiler=flang))
    print(f"{flang}: {report}")
    assert_flat(report, flang)


@pytest.mark.slow
def test_valgrind_finds_no_invalid_access_in_the_autograd_example(fortran):
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (make test installs it)")
    exe = fortran.build(ROOT / "examples" / "autograd" / "autograd.f90", flags=("-O0", "-g"))
    proc = subprocess.run(
        ["valgrind", "--error-exitcode=1", str(exe)], capture_output=True, text=True, env=fortran_env()
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Invalid read" not in proc.stderr and "Invalid write" not in proc.stderr
    assert "ERROR SUMMARY: 0 errors" in proc.stderr
    assert "dQ/da" in proc.stdout


def test_spec_example_runs_under_flang(fortran, flang):
    exe = fortran.build(ROOT / "examples" / "autograd" / "autograd.f90", compiler=flang)
    gfortran_exe = fortran.build(ROOT / "examples" / "autograd" / "autograd.f90")
    assert run([str(exe)], env=fortran_env()).stdout == run([str(gfortran_exe)], env=fortran_env()).stdout
