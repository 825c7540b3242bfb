"""Shared fixtures of the pyftorch tests.

* Every test must leave libftorch's live-handle count where it found it (autouse fixture).
* The whole run must end with no live handle at all (session-finish hook): a leaked
  handle pins a tensor and its autograd graph, in Fortran programs as in Python.
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # this checkout's pyftorch, never another installed copy
    sys.path.insert(0, str(REPO))


def _live_handles() -> int | None:
    """The library's live-handle count, or None if no test has loaded the library yet."""
    from pyftorch import _lib

    lib = _lib.loaded()
    return None if lib is None else int(lib.ft_live_handles())


@pytest.fixture(autouse=True)
def _no_leaked_handles():
    """Fail a test that leaves more (or fewer) live library handles than it found."""
    before = _live_handles() or 0  # nothing can be live before the library is loaded
    yield
    after = _live_handles()
    if after is not None and after != before:
        gc.collect()  # cycles (e.g. through a traceback) may still hold tensors
        after = _live_handles()
    if after is not None and after != before:
        pytest.fail(f"the test changed libftorch's live-handle count from {before} to {after}", pytrace=False)


_FINAL_REPORT: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole run the library must hold no live handle (else the run fails)."""
    try:
        from pyftorch import _lib
    except Exception:  # noqa: BLE001 -- pyftorch not importable: other failures say why
        return
    lib = _lib.loaded()
    if lib is None:
        return
    gc.collect()
    live = int(lib.ft_live_handles())
    _FINAL_REPORT.append(f"libftorch live handles at the end of the test run: {live}"
                         + (" -- LEAK: failing the run" if live else ""))
    if live:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:
    for line in _FINAL_REPORT:
        terminalreporter.write_line(line, red="LEAK" in line, green="LEAK" not in line)


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -c code`` with this checkout first on the path."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=str(REPO))


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
