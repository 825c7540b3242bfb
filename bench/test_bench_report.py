"""The report side of `pyftorch bench` (table, ratios, targets, comparison, plot), on a
synthetic pytest-benchmark JSON: fast, and needs neither torch nor the library."""

from __future__ import annotations

import importlib.util
import json

import pytest

from pyftorch import bench as report

# Per-operation seconds: (fortran, cxx, torch, pyftorch).
TIMES = {
    ("mul", 1, "float64"): (0.55e-6, 0.50e-6, 1.0e-6, 2.0e-6),
    ("mul", 1_000_000, "float64"): (301e-6, 300e-6, 330e-6, 303e-6),
    ("from_array", 1, "float64"): (0.12e-6, 0.07e-6, 0.35e-6, 3.5e-6),
    ("from_array", 1_000_000, "float64"): (0.12e-6, 0.07e-6, 0.35e-6, 3.5e-6),
}
OPS = 1000


def write(path, times, scale=1.0):
    benchmarks = []
    for (case, size, dtype), values in times.items():
        for variant, t in zip(report.VARIANTS, values):
            benchmarks.append(
                {
                    "name": f"{case}[{size}-{dtype}-{variant}]",
                    "stats": {"median": t * OPS * scale},
                    "extra_info": {
                        "case": case,
                        "size": size,
                        "dtype": dtype,
                        "variant": variant,
                        "ops_per_call": OPS,
                        "operator": case == "mul",
                        "description": case,
                    },
                }
            )
    benchmarks.append({"name": "unrelated", "stats": {"median": 1.0}, "extra_info": {}})
    path.write_text(json.dumps({"benchmarks": benchmarks, "machine_info": {}}))
    return path


def test_per_operation_times_and_ratios(tmp_path):
    results = report.load(write(tmp_path / "r.json", TIMES))
    assert results.times[("mul", 1, "float64")]["cxx"] == pytest.approx(0.5e-6)
    text = report.table(results)
    row = next(line for line in text.splitlines() if line.startswith("mul") and " 1 " in line)
    assert "0.55 us" in row and "0.5 us" in row
    # Fortran/C++, Python/Fortran, pyftorch/Fortran, pyftorch/Python
    assert row.split()[-4:] == ["1.10", "1.82", "3.64", "2.00"]
    assert [line.split()[1] for line in text.splitlines()[2:]] == ["1", "1e6", "1", "1e6"]


def test_targets(tmp_path):
    checks = report.targets(report.load(write(tmp_path / "r.json", TIMES)))
    operator, floor, *views, train, binding = checks
    assert train.met is None  # no training-step case yet
    # pyftorch over Python at size 1: mul 2.0/1.0 (met, at the limit), from_array 3.5/0.35 (missed).
    assert binding.met is False and binding.detail == "mul/float64 2.00, from_array/float64 10.00"
    # No array-backed (view_*) case in these times: each view target says so, none passes.
    assert views and all(v.met is None and v.detail == "not measured" for v in views)
    assert operator.met is True and "mul/float64 1.10" in operator.detail
    # Python is 10% over the floor at 1e6; from_array does no per-element work and is exempt.
    assert floor.met is False and "mul/float64/Python 1.100" in floor.detail
    assert "nothing is copied: from_array" in floor.detail
    # pyftorch's fixed cost at size 1 (1.5 us) over the 1e6 floor (300 us):
    assert "at most 1.0050 (mul/float64/pyftorch)" in floor.detail


def test_large_size_alone_is_not_exempt(tmp_path):
    times = {k: v for k, v in TIMES.items() if k[1] == 1_000_000}
    (floor,) = [c for c in report.targets(report.load(write(tmp_path / "r.json", times))) if "1e6" in c.name]
    assert "nothing is copied" not in floor.detail and floor.met is False


def test_compare_with_a_baseline(tmp_path):
    now = report.load(write(tmp_path / "now.json", TIMES))
    base = report.load(write(tmp_path / "base.json", TIMES, scale=2.0))
    text = report.comparison(now, base)
    assert "-50.0%" in text
    assert "Compared with the baseline" in report.report(now, base)


def test_cli_reports_on_saved_json_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = write(tmp_path / "r.json", TIMES)
    png = tmp_path / "out" / "bench.png"
    assert report.main(["--load", str(path), "--plot", str(png), "--compare", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Fortran/C++" in out and "Targets:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_step_target(tmp_path):
    times = {("train_step", 32, "float32"): (60e-6, 57e-6, 100e-6, 90e-6)}
    (train,) = [c for c in report.targets(report.load(write(tmp_path / "r.json", times))) if "training" in c.name]
    assert train.met is True and "0.60x Python, 1.05x C++" in train.detail


def test_training_step_with_eager_variant(tmp_path, capsys):
    # (fortran, cxx, torch, pyftorch, eager): the eager column and ratio appear, the target
    # is judged against the TorchScript run ("Python") and misses at 1.2x C++.
    times = {**TIMES, ("train_step", 32, "float32"): (120e-6, 100e-6, 200e-6, 300e-6, 240e-6)}
    path = write(tmp_path / "r.json", times)
    results = report.load(path)
    text = report.table(results)
    assert "Py eager" in text.splitlines()[0] and "Py eager/Fortran" in text.splitlines()[0]
    row = next(line for line in text.splitlines() if line.startswith("train_step"))
    assert row.split()[1:3] == ["32", "float32"] and "240 us" in row
    assert row.split()[-5:] == ["1.20", "1.67", "2.50", "2.00", "1.50"]  # the last: pyftorch/Python
    mul = next(line for line in text.splitlines() if line.startswith("mul"))
    assert mul.split()[-2] == "-"  # no eager variant for the operators
    (train,) = [c for c in report.targets(results) if "training" in c.name]
    assert train.met is False and "32/float32: 0.60x Python, 1.20x C++ (0.50x Python eager)" in train.detail
    if importlib.util.find_spec("matplotlib") is not None:
        assert report.main(["--load", str(path), "--plot", str(tmp_path / "p.png")]) == 0
        assert "Python eager" in capsys.readouterr().out
