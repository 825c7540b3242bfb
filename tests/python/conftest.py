"""Fixtures of the Python-binding tests.  The live-handle checks that apply to every test
(per test, and at the end of the run) live in tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # this checkout's pyftorch, never another installed copy
    sys.path.insert(0, str(REPO))


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -c code`` with this checkout first on the path."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=str(REPO)
    )


@pytest.fixture
def python_subprocess():
    """``run_python(code, env=None)``: a fresh interpreter with this checkout's pyftorch."""
    return run_python


@pytest.fixture
def lib():
    """The loaded libftorch (pyftorch._lib.Library)."""
    from pyftorch import _lib

    return _lib.load()


def cuda_skip_reason() -> str | None:
    """None when libftorch and torch both have CUDA, else the reason GPU tests skip."""
    from pyftorch.crosscheck.engine import cuda_skip_reason as reason

    return reason()


@pytest.fixture
def cuda():
    """Skip (naming the reason) unless CUDA is usable by both libftorch and torch."""
    reason = cuda_skip_reason()
    if reason:
        pytest.skip(reason)
    return "cuda"
