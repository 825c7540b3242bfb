"""The package as a user gets it: a wheel with libftorch inside, in fresh virtual environments.

1. ``pip install <wheel>[torch]``: build and run ``examples/autograd`` with the flags of
   ``pyftorch config`` and with CMake's ``find_package(FTorch)``, from a directory that is
   not a checkout, then ``pyftorch crosscheck`` and ``pyftorch demo``.
2. ``pip install <wheel>`` (no extra): no torch, and ``pyftorch lint`` works.
3. A source build in an environment without torch skips the native library and says so.

pip's cache is reused, so the torch wheel is unpacked, not downloaded.  Install times are
written to ``build/test-install/timings.json`` (no test asserts them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "test-install"
TIMINGS = WORK / "timings.json"
#: Gradients of Q = a*b at a = [2, 3], b = [6, 4]: dQ/da = b, dQ/db = a (examples/autograd).
EXPECTED_LINES = ("dQ/da =    6.0000    4.0000", "dQ/db =    2.0000    3.0000")


def wheel_path() -> Path:
    wheels = sorted(Path(os.environ["PYFTORCH_WHEEL_DIR"]).glob("pyftorch-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {os.environ['PYFTORCH_WHEEL_DIR']}, found {wheels}"
    return wheels[0]


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("cwd", WORK)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def clean_env(venv: Path) -> dict:
    """The environment of a user who activated the venv: no checkout on any path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYFTORCH_LIB", "PYFTORCH_PREFIX", "LD_LIBRARY_PATH", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def record(name: str, seconds: float) -> None:
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[name] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(data, indent=2) + "\n")


def make_venv(name: str, spec: str) -> tuple[Path, dict]:
    venv = WORK / name
    shutil.rmtree(venv, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "venv", venv])
    env = clean_env(venv)
    start = time.perf_counter()
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", spec], env=env)
    record(f"pip install {name}", time.perf_counter() - start)
    return venv, env


@pytest.fixture(scope="module")
def wheel() -> Path:
    path = wheel_path()
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data["wheel"] = path.name
    data["wheel size MB"] = round(path.stat().st_size / 1e6, 2)
    WORK.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(data, indent=2) + "\n")
    return path


@pytest.fixture(scope="module")
def full(wheel):
    return make_venv("venv-torch", f"{wheel}[torch]")


@pytest.fixture(scope="module")
def light(wheel):
    return make_venv("venv-lint", str(wheel))


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def pyftorch(venv: Path, env: dict, *args, cwd=None) -> str:
    return run([venv / "bin" / "pyftorch", *args], env=env, cwd=cwd or WORK).stdout.strip()


# --- the wheel itself ------------------------------------------------------------------------


def test_wheel_carries_the_native_build(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "pyftorch/_native/lib/libftorch.so",
        "pyftorch/_native/include/ftorch.h",
        "pyftorch/_native/include/ftorch/ftorch.mod",
        "pyftorch/_native/share/ftorch/fortran/ftorch.f90",
        "pyftorch/_native/share/ftorch/fortran/ftorch_tensor.f90",
        "pyftorch/_native/lib/cmake/FTorch/FTorchConfig.cmake",
        "pyftorch/_native/lib/cmake/FTorch/FTorchTargets.cmake",
        "pyftorch/_native/lib/pkgconfig/ftorch.pc",
        "pyftorch/examples/autograd/autograd.f90",
        "pyftorch/examples/online_training/lorenz96_online.f90",
        "pyftorch/examples/distributed_training/lorenz96_ensemble.f90",
        "preprocess/rules/ft001_bare_use.py",
    ):
        assert required in names, f"{required} is missing from {wheel.name}"
    # A native library makes the wheel platform-specific.
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    torch_reqs = [line for line in text.splitlines() if line.startswith("Requires-Dist: torch")]
    assert torch_reqs == ['Requires-Dist: torch==2.13.0; extra == "torch"'], torch_reqs


def test_wheel_carries_no_build_machine_paths(wheel, tmp_path):
    libs = [n for n in zipfile.ZipFile(wheel).namelist() if re.search(r"_native/lib/lib[^/]*\.so$", n)]
    assert "pyftorch/_native/lib/libftorch.so" in libs
    for name in libs:  # libftorch, and libftorch_mpi where MPI was found
        zipfile.ZipFile(wheel).extract(name, tmp_path)
        dynamic = run(["readelf", "-d", tmp_path / name]).stdout
        runpath = re.search(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", dynamic).group(1)
        assert runpath.split(":") == ["$ORIGIN", "$ORIGIN/../../../torch/lib"], (name, runpath)
    pc = zipfile.ZipFile(wheel).read("pyftorch/_native/lib/pkgconfig/ftorch.pc").decode()
    assert pc.startswith("prefix=${pcfiledir}/../..\n"), pc.splitlines()[0]


def test_wheel_carries_the_speedups(wheel):
    """The C extension of the binding's hot calls (pyftorch/_speedups.c) sits next to libftorch."""
    names = zipfile.ZipFile(wheel).namelist()
    found = [n for n in names if re.fullmatch(r"pyftorch/_native/lib/_speedups\.cpython-[^/]+\.so", n)]
    assert len(found) == 1, [n for n in names if "_speedups" in n]


# --- pip install <wheel>[torch] --------------------------------------------------------------


def test_config_points_into_site_packages(full):
    venv, env = full
    native = site_packages(venv) / "pyftorch" / "_native"
    assert pyftorch(venv, env, "config", "--library") == str(native / "lib" / "libftorch.so")
    assert pyftorch(venv, env, "config", "--cmake-prefix") == str(native)
    assert pyftorch(venv, env, "config", "--cflags") == f"-I{native}/include/ftorch -I{native}/include"
    assert pyftorch(venv, env, "config", "--torch-version").split("+")[0] == "2.13.0"
    assert pyftorch(venv, env, "config", "--fc").endswith("gfortran")
    # pkg-config reads the shipped .pc file from where pip put it.
    if shutil.which("pkg-config"):
        pc_env = dict(env, PKG_CONFIG_PATH=str(native / "lib" / "pkgconfig"))
        libs = run(["pkg-config", "--libs", "ftorch"], env=pc_env).stdout.split()
        libdir = next(flag[2:] for flag in libs if flag.startswith("-L"))
        assert Path(libdir).resolve() == native / "lib"


def test_installed_binding_uses_the_speedups(full):
    venv, env = full
    script = "import pyftorch.core as c, pyftorch._lib as l; print(c._speedups is not None, l.speedups_reason)"
    out = run([venv / "bin" / "python", "-c", script], env=env).stdout
    assert out.split()[0] == "True", out


def test_autograd_example_with_config_flags(full, tmp_path):
    venv, env = full
    source = site_packages(venv) / "pyftorch" / "examples" / "autograd" / "autograd.f90"
    cflags = pyftorch(venv, env, "config", "--cflags").split()
    libs = pyftorch(venv, env, "config", "--libs").split()
    exe = tmp_path / "autograd"
    run(["gfortran", f"-J{tmp_path}", *cflags, source, *libs, "-o", exe], env=env, cwd=tmp_path)
    out = run([exe], env=env, cwd=tmp_path).stdout
    for line in EXPECTED_LINES:
        assert line in out, out


def test_autograd_example_with_find_package(full, tmp_path):
    venv, env = full
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    source = site_packages(venv) / "pyftorch" / "examples" / "autograd"
    prefix = pyftorch(venv, env, "config", "--cmake-prefix")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run(
        [
            "cmake",
            "-S",
            source,
            "-B",
            tmp_path / "b",
            *generator,
            f"-DCMAKE_PREFIX_PATH={prefix}",
            "-DCMAKE_Fortran_COMPILER=gfortran",
        ],
        env=env,
        cwd=tmp_path,
    )
    run(["cmake", "--build", tmp_path / "b"], env=env, cwd=tmp_path)
    out = run([tmp_path / "b" / "autograd"], env=env, cwd=tmp_path).stdout
    for line in EXPECTED_LINES:
        assert line in out, out


def test_crosscheck_from_the_installed_package(full):
    venv, env = full
    out = pyftorch(venv, env, "crosscheck")  # exits non-zero on any mismatch
    assert re.search(r"all agree: [1-9][0-9]* passed, 0 failed", out), out


def test_python_binding_from_the_installed_package(full):
    venv, env = full
    code = (
        "import pyftorch as ft\n"
        "a = ft.tensor([2.0, 3.0], requires_grad=True); b = ft.tensor([6.0, 4.0], requires_grad=True)\n"
        "(a * b + a * b * a).sum().backward()\n"
        "print(a.grad.numpy().tolist(), b.grad.numpy().tolist())\n"
    )
    out = run([venv / "bin" / "python", "-c", code], env=env).stdout
    # d/da sum(ab + a^2 b) = b + 2ab, d/db = a + a^2
    assert out.strip() == "[30.0, 28.0] [6.0, 12.0]"


def test_demo_from_the_installed_package(full, tmp_path):
    """`pyftorch demo` builds the example programs that ship in the package."""
    venv, env = full
    out = pyftorch(venv, env, "demo", "--steps", "40", "--out", tmp_path / "demo", cwd=tmp_path)
    for line in EXPECTED_LINES:
        assert line in out, out
    assert "== 2. Online training" in out and "== 3." in out and "== 4." in out, out
    assert (tmp_path / "demo" / "bin" / "lorenz96_online").is_file()


def test_bench_says_it_needs_a_checkout(full):
    venv, env = full
    proc = subprocess.run(
        [venv / "bin" / "pyftorch", "bench", "--quick"], env=env, cwd=WORK, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "source checkout" in proc.stderr and "make bench" in proc.stderr


# --- pip install <wheel>: the lint-only install ---------------------------------------------


def test_lint_install_has_no_torch(light):
    venv, env = light
    proc = subprocess.run([venv / "bin" / "python", "-c", "import torch"], env=env, capture_output=True)
    assert proc.returncode != 0, "torch was installed without the [torch] extra"


def test_lint_runs_without_torch(light, tmp_path):
    venv, env = light
    examples = site_packages(venv) / "pyftorch" / "examples"
    out = pyftorch(venv, env, "lint", examples, cwd=tmp_path)
    assert "All checks passed" in out, out
    # ... and it finds what it should: a bare `use ftorch` (FT001) in a fresh file.
    bad = tmp_path / "bad.f90"
    bad.write_text("program p\n  use ftorch\n  implicit none\n  type(torch_tensor) :: t\nend program p\n")
    proc = subprocess.run(
        [venv / "bin" / "pyftorch", "lint", bad], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "FT001" in proc.stdout, proc.stdout + proc.stderr


def test_source_build_without_torch_is_pure_python(light, tmp_path):
    """Without torch in the target environment, the native build is skipped, with a message."""
    venv, env = light
    env = dict(env, PYFTORCH_BUILD_NATIVE="auto")
    proc = run(
        [venv / "bin" / "python", "-m", "pip", "wheel", "-v", "--no-deps", "-w", tmp_path, ROOT], env=env, cwd=tmp_path
    )
    wheels = list(tmp_path.glob("pyftorch-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-any.whl"), wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert not any("_native" in n for n in names)
    assert "pyftorch/examples/autograd/autograd.f90" in names
    assert "skipping libftorch: torch is not installed" in proc.stdout + proc.stderr
