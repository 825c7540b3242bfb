"""A user's own CMake project finds the installed library with find_package(FTorch)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT, fortran_env, run


def test_find_package_ftorch_builds_and_runs(install, tmp_path):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    source = ROOT / "examples" / "autograd"
    build = tmp_path / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run(["cmake", "-S", str(source), "-B", str(build), *generator, f"-DCMAKE_PREFIX_PATH={install.prefix}"])
    run(["cmake", "--build", str(build)])
    out = run([str(build / "autograd")], env=fortran_env()).stdout
    assert "dQ/da =    6.0000    4.0000" in out


def test_pkg_config_file_matches_pyftorch_config(install):
    from pyftorch import config

    pc_dir = install.library.parent / "pkgconfig"
    pc = (pc_dir / "ftorch.pc").read_text()
    assert "-lftorch" in pc
    # The prefix is relative to the .pc file, so that a moved prefix (a wheel) stays valid.
    prefix = pc.splitlines()[0]
    assert prefix.startswith("prefix=${pcfiledir}/"), prefix
    assert (pc_dir / prefix.removeprefix("prefix=${pcfiledir}/")).resolve() == install.prefix.resolve()
    assert f"-I{install.module_dir}" in config.cflags(install)
