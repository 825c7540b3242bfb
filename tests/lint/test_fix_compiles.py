"""Regression suite: `--fix` never breaks a build.

Every fixture and every example is copied, compiled with ``gfortran -fsyntax-only`` against
the real ``ftorch`` module (with ``-cpp`` for the extensions gfortran preprocesses and the
fixture directory on the include path), run through ``pyftorch lint --fix``, and compiled
again.  A file that does not compile as written (parse-error fixtures, fixtures that use a
module that does not exist) is left out; the test checks that enough files remain for the
comparison to mean something, and that the fixes changed some of them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lint.conftest import FIXTURES, REPO, run_cli

GFORTRAN = shutil.which("gfortran")
REAL_INCLUDE = REPO / "build" / "install" / "include" / "ftorch"
CPP_EXTS = {".F", ".FOR", ".FTN", ".F90", ".F95", ".F03", ".F08", ".fpp", ".FPP"}
SOURCES = sorted(p for p in FIXTURES.iterdir() if p.is_file()) + sorted((REPO / "examples").rglob("*.f90"))

pytestmark = [
    pytest.mark.skipif(GFORTRAN is None, reason="gfortran is not installed"),
    pytest.mark.skipif(
        not (REAL_INCLUDE / "ftorch.mod").exists(),
        reason=f"the native library is not built yet: {REAL_INCLUDE}/ftorch.mod does not exist (run `make build`)",
    ),
]


def _compile(path: Path, workdir: Path) -> subprocess.CompletedProcess:
    args = [GFORTRAN, "-fsyntax-only", f"-I{REAL_INCLUDE}", f"-I{FIXTURES}", f"-J{workdir}"]
    if path.suffix in CPP_EXTS:
        args.append("-cpp")
    if path.suffix.lower() in (".f", ".for", ".ftn"):
        args.append("-ffixed-form")
    return subprocess.run([*args, str(path)], cwd=workdir, capture_output=True, text=True, timeout=120)


def test_fix_keeps_every_compiling_file_compiling(tmp_path):
    compiled, changed, failures = [], [], []
    for src in SOURCES:
        work = tmp_path / src.stem
        work.mkdir()
        dst = work / src.name
        shutil.copy(src, dst)
        if _compile(dst, work).returncode != 0:
            continue
        compiled.append(src.name)
        rc, _out, err = run_cli([src.name, "--no-cache", "--fix", "-I", str(FIXTURES)], cwd=work)
        assert rc in (0, 1), err
        if dst.read_text() != src.read_text():
            changed.append(src.name)
        proc = _compile(dst, work)
        if proc.returncode != 0:
            failures.append(f"{src.name}:\n{proc.stderr}")
    assert not failures, "\n".join(failures)
    # not vacuous: most fixtures compile, and the fixable ones were changed
    assert len(compiled) >= 25, compiled
    assert {"FT001_pos.f90", "FT004_pos.f90", "FT004_cpp_pos.F90"} <= set(changed), changed
