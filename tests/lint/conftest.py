"""Shared helpers for the linter tests.  The repository root is put on sys.path from this
file's location, so the tests never depend on an installed package."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
SCHEMA = HERE / "sarif-schema-2.1.0.json"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@contextlib.contextmanager
def chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(args, cwd=None):
    """Run ``preprocess.cli.main`` in-process; return (exit code, stdout, stderr)."""
    from preprocess.cli import main

    out, err = io.StringIO(), io.StringIO()
    with chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def lint_source(tmp_path, text, name="t.f90", extra=()):
    """Write ``text`` to a file and lint it; return the diagnostics as (code, line, col) tuples
    plus the raw concise output."""
    p = Path(tmp_path) / name
    p.write_text(text)
    code, out, _err = run_cli([name, "--no-cache", "--output-format", "concise", *extra], cwd=tmp_path)
    found = []
    for line in out.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit():
            found.append((parts[3].split()[0], int(parts[1]), int(parts[2])))
    return code, found, out


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("lint-cache"))
