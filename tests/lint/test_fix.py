"""--fix round trip: fixing the fixtures removes every fixable finding, a second run has
nothing left to fix, and the fixed files still compile.

Two compile checks:
* against the real ftorch module, when ``<repo>/build/install/include/ftorch/ftorch.mod``
  exists (skipped with a reason until the native library is built);
* against ``tests/lint/stub/ftorch.f90``, a compile-only stand-in with FTorch's interfaces,
  whenever gfortran is installed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.lint.conftest import FIXTURES, HERE, REPO, run_cli

FIXABLE = ["FT001_pos.f90", "FT001_pos_fixed.f", "FT004_pos.f90"]
REAL_INCLUDE = REPO / "build" / "install" / "include" / "ftorch"
GFORTRAN = shutil.which("gfortran")


def _fixed_copy(tmp_path, name):
    dst = tmp_path / name
    shutil.copy(FIXTURES / name, dst)
    before = run_cli([name, "--no-cache", "--output-format", "json"], cwd=tmp_path)[1]
    _rc, out, err = run_cli([name, "--no-cache", "--fix", "--output-format", "json"], cwd=tmp_path)
    return dst, before, out, err


@pytest.mark.parametrize("name", FIXABLE)
def test_fix_removes_fixable_findings(tmp_path, name):
    import json

    dst, before, after, err = _fixed_copy(tmp_path, name)
    assert any(d["fix"] for d in json.loads(before))
    assert not any(d["fix"] for d in json.loads(after)), after
    assert "Fixed" in err
    assert dst.read_text() != (FIXTURES / name).read_text()
    # idempotent: nothing left to change
    rc, diff, _ = run_cli([name, "--no-cache", "--diff"], cwd=tmp_path)
    assert diff == "" and rc == 0


def test_fix_results_are_the_expected_text(tmp_path):
    dst, *_ = _fixed_copy(tmp_path, "FT004_pos.f90")
    text = dst.read_text()
    assert "use ftorch, only: torch_tensor, assignment(=), &\n                    operator(*)\n" in text
    assert "use ftorch, only: torch_tensor_print\n" in text
    dst, *_ = _fixed_copy(tmp_path, "FT001_pos_fixed.f")
    lines = dst.read_text().splitlines()
    assert lines[2] == "      USE FTORCH, only: assignment(=), operator(-), operator(*),"
    assert lines[3] == "     &      operator(/), torch_tensor, torch_tensor_backward"
    assert all(len(line) <= 72 for line in lines[1:])


def _compile(files, include_dir, workdir):
    for f in files:
        proc = subprocess.run(
            [GFORTRAN, "-fsyntax-only", f"-I{include_dir}", str(f)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"{f.name} does not compile after --fix:\n{proc.stderr}"


@pytest.mark.skipif(GFORTRAN is None, reason="gfortran is not installed")
def test_fixed_fixtures_compile_against_stub_module(tmp_path):
    stub_dir = tmp_path / "stub"
    stub_dir.mkdir()
    proc = subprocess.run(
        [GFORTRAN, "-c", str(HERE / "stub" / "ftorch.f90")], cwd=stub_dir, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    fixed = [_fixed_copy(tmp_path, name)[0] for name in FIXABLE]
    _compile(fixed, stub_dir, tmp_path)


@pytest.mark.skipif(GFORTRAN is None, reason="gfortran is not installed")
@pytest.mark.skipif(
    not (REAL_INCLUDE / "ftorch.mod").exists(),
    reason=f"the native library is not built yet: {REAL_INCLUDE}/ftorch.mod does not exist (run `make build`)",
)
def test_fixed_fixtures_compile_against_real_module(tmp_path):
    fixed = [_fixed_copy(tmp_path, name)[0] for name in FIXABLE]
    _compile(fixed, REAL_INCLUDE, tmp_path)
