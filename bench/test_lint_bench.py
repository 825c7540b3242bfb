"""Lint benchmark: `pyftorch lint` (cold and cached) against `fortitude check` on the same
generated tree, where 2% of the files use ftorch.

With ``--benchmark-disable`` (CI) the tree is small (5,000 lines) and each command runs
once, as a smoke test.  For the real measurement run by hand:

    .venv/bin/python -m pytest bench/test_lint_bench.py -s

which generates ~200,000 lines (override with PYFTORCH_LINT_BENCH_LINES) and prints cold
and cached times, fortitude's time, the ratio and lines/s.  Every command runs in a fresh
process, interpreter start-up included, as a user would see it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench" / "lint"))
from gen_tree import generate  # noqa: E402

TIMES: dict = {}


@pytest.fixture(scope="module")
def tree(request, tmp_path_factory):
    disabled = request.config.getoption("benchmark_disable", default=False)
    lines = int(os.environ.get("PYFTORCH_LINT_BENCH_LINES", 5_000 if disabled else 200_000))
    out = tmp_path_factory.mktemp("lint-tree")
    files, total, nft = generate(str(out), lines=lines, ftorch_fraction=0.02)
    return {"path": out, "files": files, "lines": total, "ftorch_files": nft}


def _lint(tree, *extra):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "preprocess", ".", "--statistics", *extra], cwd=tree["path"],
                          env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - t0, proc


def _record(key, fn, benchmark):
    samples = []

    def run():
        dt, proc = fn()
        samples.append(dt)
        return proc

    proc = benchmark.pedantic(run, rounds=3 if not benchmark.disabled else 1, iterations=1)
    TIMES[key] = min(samples)
    return proc


def test_lint_cold(benchmark, tree):
    proc = _record("cold", lambda: _lint(tree, "--no-cache"), benchmark)
    assert proc.returncode == 1, proc.stderr
    counts = {line.split()[1]: int(line.split()[0]) for line in proc.stdout.splitlines()}
    # each ftorch module imports an unused operator(/) (FT004) and everything parses
    assert counts == {"FT004": tree["ftorch_files"]}, proc.stdout


def test_lint_cached(benchmark, tree):
    cache = tree["path"] / ".pyftorch_cache"
    shutil.rmtree(cache, ignore_errors=True)
    _dt, warm = _lint(tree)
    assert warm.returncode == 1 and cache.is_dir()
    proc = _record("cached", lambda: _lint(tree), benchmark)
    assert proc.stdout == warm.stdout


def test_fortitude(benchmark, tree):
    exe = shutil.which("fortitude") or str(Path(sys.executable).with_name("fortitude"))
    if not os.path.exists(exe):
        pytest.skip("fortitude-lint is not installed")

    def run():
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "check", "--output-format", "concise", "--statistics", "."], cwd=tree["path"],
                              capture_output=True, text=True, timeout=1800)
        return time.perf_counter() - t0, proc

    proc = _record("fortitude", run, benchmark)
    assert proc.returncode in (0, 1), proc.stderr


def test_report(tree):
    """Print the side-by-side numbers (shown with -s)."""
    assert {"cold", "cached"} <= set(TIMES)
    lines = tree["lines"]
    report = [f"tree: {tree['files']} files, {lines} lines, {tree['ftorch_files']} use ftorch",
              f"pyftorch lint, cold:   {TIMES['cold']:.2f} s ({lines / TIMES['cold']:,.0f} lines/s)",
              f"pyftorch lint, cached: {TIMES['cached']:.2f} s ({lines / TIMES['cached']:,.0f} lines/s)"]
    if "fortitude" in TIMES:
        f = TIMES["fortitude"]
        report.append(f"fortitude check:       {f:.2f} s ({lines / f:,.0f} lines/s)")
        report.append(f"ratio lint/fortitude: cold {TIMES['cold'] / f:.2f}x, cached {TIMES['cached'] / f:.2f}x")
    print("\n" + "\n".join(report))
