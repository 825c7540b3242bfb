"""The wheel built without the Fortran part (``PYFTORCH_BUILD_FORTRAN=0``, as on a machine
without a Fortran compiler): libftorch with the C ABI only, and it says so.

Run by ``make test-install`` after ``make wheel``: the build reuses setuptools' CMake build
directory (``build/py/cmake-ftorch``), so the C++ objects of the full wheel are not compiled
again; only the configuration and the link are redone.  The wheel is then installed with
``pip install --no-deps`` into a fresh virtual environment that sees the project venv's
packages (torch, numpy) through a ``.pth`` file, instead of installing torch again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.install.test_install import ROOT, WORK, clean_env, record, run, site_packages

NATIVE = "pyftorch/_native"


@pytest.fixture(scope="module")
def wheel() -> tuple[Path, str]:
    """(the C-ABI-only wheel, the build's log)."""
    out = WORK / "wheel-no-fortran"
    for old in out.glob("*.whl"):
        old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(clean_env(Path(sys.prefix)), PYFTORCH_BUILD_FORTRAN="0", PYFTORCH_BUILD_NATIVE="1")
    start = time.perf_counter()
    proc = run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", out, ROOT],
        env=env,
        cwd=out,
    )
    record("wheel without Fortran", time.perf_counter() - start)
    wheels = list(out.glob("pyftorch-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def venv(wheel) -> tuple[Path, dict]:
    path = WORK / "venv-no-fortran"
    subprocess.run(["rm", "-rf", str(path)], check=True)
    run([sys.executable, "-m", "venv", path])
    # torch and numpy from the project's environment (a plain path line: its .pth files,
    # among them the editable install of this checkout, are not processed).  torch itself is
    # linked in where pip would put it, which libftorch's RUNPATH ($ORIGIN/../../../torch/lib)
    # expects.
    deps = Path(sysconfig.get_paths()["purelib"])
    (site_packages(path) / "project-deps.pth").write_text(f"{deps}\n")
    (site_packages(path) / "torch").symlink_to(deps / "torch", target_is_directory=True)
    env = clean_env(path)
    run([path / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", wheel[0]], env=env)
    return path, env


def test_build_says_it_builds_the_c_abi_only(wheel):
    _path, log = wheel
    assert "PYFTORCH_BUILD_FORTRAN=0 (set FC, or install gfortran): building the C ABI" in log, log[-3000:]


def test_wheel_has_the_c_abi_and_no_fortran(wheel):
    names = set(zipfile.ZipFile(wheel[0]).namelist())
    assert f"{NATIVE}/lib/libftorch.so" in names
    assert f"{NATIVE}/include/ftorch.h" in names
    assert f"{NATIVE}/include/ftorch_version.h" in names
    assert not [n for n in names if n.endswith(".mod")]
    assert not [n for n in names if n.startswith(f"{NATIVE}/share/ftorch/fortran/")]
    # libftorch_mpi holds Fortran code (torch_distributed_init with a communicator)
    assert not [n for n in names if "libftorch_mpi" in n]
    assert not wheel[0].name.endswith("-none-any.whl"), wheel[0].name  # still platform-specific
    info = json.loads(zipfile.ZipFile(wheel[0]).read(f"{NATIVE}/lib/cmake/FTorch/ftorch-build.json"))
    assert info["fortran_compiler"] == "", info


def test_library_exports_no_fortran_symbols(wheel, tmp_path):
    zipfile.ZipFile(wheel[0]).extract(f"{NATIVE}/lib/libftorch.so", tmp_path)
    symbols = run(["nm", "-D", "--defined-only", tmp_path / NATIVE / "lib" / "libftorch.so"]).stdout
    assert " T ft_version\n" in symbols, symbols[:2000]
    # gfortran's module procedures are __<module>_MOD_<name>, flang's _QM<module>P<name>
    assert "_MOD_" not in symbols and " _QM" not in symbols


def test_config_says_fortran_is_unavailable(venv):
    path, env = venv
    native = site_packages(path) / "pyftorch" / "_native"
    out = run([path / "bin" / "pyftorch", "config", "--library", "--libs"], env=env).stdout.split()
    # in the order of pyftorch config's table: libs, then library
    assert out == [f"-L{native}/lib", f"-Wl,-rpath,{native}/lib", "-lftorch", str(native / "lib" / "libftorch.so")]
    for flag in ("--fc", "--cflags"):
        proc = subprocess.run([path / "bin" / "pyftorch", "config", flag], env=env, capture_output=True, text=True)
        assert proc.returncode == 1 and proc.stdout == "", (flag, proc.stdout, proc.stderr)
        assert "built without the Fortran module" in proc.stderr, proc.stderr
    proc = subprocess.run([path / "bin" / "pyftorch", "demo"], env=env, capture_output=True, text=True, cwd=WORK)
    assert proc.returncode == 2 and "built without the Fortran module" in proc.stderr, proc.stderr


def test_python_binding_works(venv):
    path, env = venv
    a, b = np.array([2.0, -3.0, 0.5]), np.array([6.0, 4.0, -8.0])
    code = (
        "import json, pyftorch as ft\n"
        "from pyftorch._locate import find_install\n"
        f"a = ft.tensor({a.tolist()}, requires_grad=True); b = ft.tensor({b.tolist()})\n"
        "q = a * b; q.sum().backward()\n"
        "print(ft.__file__); print(find_install().library)\n"
        "print(json.dumps([q.numpy().tolist(), a.grad.numpy().tolist()]))\n"
    )
    lines = run([path / "bin" / "python", "-c", code], env=env).stdout.splitlines()
    package = site_packages(path) / "pyftorch"
    assert lines[0] == str(package / "__init__.py")  # the installed wheel, not the checkout
    assert lines[1] == str(package / "_native" / "lib" / "libftorch.so")
    q, grad = json.loads(lines[2])
    assert q == (a * b).tolist()
    assert grad == b.tolist()  # d/da sum(a*b) = b


def test_cmake_package_serves_c_and_warns_fortran(venv, tmp_path):
    """find_package(FTorch) links a C program; a project with Fortran enabled is warned."""
    path, env = venv
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    prefix = run([path / "bin" / "pyftorch", "config", "--cmake-prefix"], env=env).stdout.strip()
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\n"
        "project(consumer LANGUAGES C Fortran)\n"
        "find_package(FTorch REQUIRED)\n"
        "add_executable(version version.c)\n"
        "target_link_libraries(version PRIVATE FTorch::ftorch)\n"
    )
    (src / "version.c").write_text(
        '#include <stdio.h>\n#include "ftorch.h"\nint main(void) { printf("%s\\n", ft_version()); return 0; }\n'
    )
    configure = run(["cmake", "-S", src, "-B", tmp_path / "b", f"-DCMAKE_PREFIX_PATH={prefix}"], env=env, cwd=tmp_path)
    assert "built without its Fortran module" in configure.stderr, configure.stderr
    run(["cmake", "--build", tmp_path / "b"], env=env, cwd=tmp_path)
    out = run([tmp_path / "b" / "version"], env=env, cwd=tmp_path).stdout
    assert out.strip() == (ROOT / "VERSION").read_text().strip()
