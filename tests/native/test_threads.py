"""Threads (issue 9, items 1 and 2): the Fortran error state is per thread and the Fortran
modules are re-entrant.  An OpenMP program hammers the deferred-error path
(torch_set_stop_on_error(.false.) + torch_get_last_error) and the stat=/errmsg= path from 8
threads, then runs forward/backward on per-thread tensors concurrently and checks the
gradients against their derivative."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import fortran_env

HERE = Path(__file__).resolve().parent
THREADS = 8
N_OPS = 20_000  # failing operators per thread per repeat
REPEATS = 10  # 8 x 20,000 x 10 = 1.6 million failing operators
N_STAT = 125_000  # failing stat= calls per thread: 10^6 in all
N_BACKWARD = 2_000  # forward/backward/get_gradient cycles per thread


def torch_libdir() -> Path:
    import torch

    return Path(torch.__file__).resolve().parent / "lib"


@pytest.fixture(scope="module")
def stress(fortran) -> dict[str, list[str]]:
    """Run the OpenMP program once at the acceptance sizes; its report, by first word."""
    # torch/lib in the program's RUNPATH: the program and LibTorch share torch's libgomp
    # (build-and-binding notes, section 3 item 6).
    exe = fortran.build(HERE / "fortran" / "threads.f90", flags=("-O2", "-fopenmp", f"-Wl,-rpath,{torch_libdir()}"))
    proc = subprocess.run(
        [str(exe), str(THREADS), str(N_OPS), str(REPEATS), str(N_STAT), str(N_BACKWARD)],
        capture_output=True,
        text=True,
        env=fortran_env(),
        timeout=600,
    )
    assert proc.returncode == 0, f"the OpenMP program died ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    report: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        word, *rest = line.split()
        report.setdefault(word, []).extend(rest)
    return report


def counts(report, phase) -> dict[str, int]:
    calls, lost, foreign, empty, bad = map(int, report[phase])
    return {"calls": calls, "lost": lost, "foreign": foreign, "empty": empty, "bad": bad}


def test_deferred_errors_are_per_thread(stress):
    """Item 1: 8 threads x 20,000 failing operators x 10, each followed by
    torch_get_last_error: no crash, every message is the thread's own, none lost."""
    got = counts(stress, "errors")
    assert got == {"calls": THREADS * N_OPS * REPEATS, "lost": 0, "foreign": 0, "empty": 0, "bad": 0}


def test_stat_errmsg_path_never_returns_an_empty_message(stress):
    """Item 2: 10^6 failing calls through stat=/errmsg= from 8 threads: every one reports a
    status and this thread's full message."""
    got = counts(stress, "stat")
    assert got == {"calls": THREADS * N_STAT, "lost": 0, "foreign": 0, "empty": 0, "bad": 0}


def test_concurrent_backward_on_per_thread_tensors(stress):
    got = counts(stress, "backward")
    assert got == {"calls": THREADS * N_BACKWARD, "lost": 0, "foreign": 0, "empty": 0, "bad": 0}


def test_stress_program_leaks_no_handle_and_shares_torchs_libgomp(stress):
    before, after = map(int, stress["handles"])
    assert after == before == 0
    assert len(stress["libgomp"]) == 1, f"more than one OpenMP runtime loaded: {stress['libgomp']}"
    assert Path(stress["libgomp"][0]).resolve().parent == torch_libdir()


def test_fortran_modules_keep_no_mutable_static_state(install, tmp_path):
    """Every Fortran module, compiled as the build compiles it (gfortran -frecursive), has no
    mutable static storage: no module variables, no SAVEd locals, and none of the static
    string lengths gfortran 12 gives deferred-length character function results (the cause
    of item 2's empty messages).  Compiler-generated type descriptors are read-only data."""
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) is not installed")
    src_dir = install.prefix / "share" / "ftorch" / "fortran"
    offenders = []
    for name in (src_dir / "fortran-sources.txt").read_text().split():
        obj = tmp_path / (Path(name).stem + ".o")
        subprocess.run(
            ["gfortran", "-O2", "-frecursive", "-c", f"-J{tmp_path}", str(src_dir / name), "-o", str(obj)],
            check=True,
            capture_output=True,
            cwd=tmp_path,
        )
        symbols = subprocess.run(["nm", str(obj)], check=True, capture_output=True, text=True).stdout
        for line in symbols.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "bBdDsS" and "__vtab_" not in parts[2] and "__def_init_" not in parts[2]:
                offenders.append(f"{name}: {parts[2]}")
    assert offenders == [], "mutable static storage in the Fortran modules:\n" + "\n".join(offenders)
