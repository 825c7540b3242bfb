"""pyftorch.crosscheck: the built-in suite, random scenarios, the CLI, and proof that it can fail."""
from __future__ import annotations

import json
import re
from ctypes import byref, c_void_p

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import pyftorch as ft
from pyftorch import _lib
from pyftorch.core import Tensor
from pyftorch.crosscheck import builtin_suite, run_case, run_suite
from pyftorch.crosscheck.cli import main
from pyftorch.crosscheck.engine import TOLERANCES, Tolerance, compare_arrays
from pyftorch.crosscheck.expr import Bin, Var, variables
from pyftorch.crosscheck.generate import run_random, scenarios
from pyftorch.crosscheck.scenario import Backward, Eval, Leaf, Scenario

FT_MUL, FT_DIV = 2, 3
SEED = 20261126


# --- the built-in suite ------------------------------------------------------------------------------
def test_builtin_suite_passes_on_cpu():
    results = run_suite(builtin_suite(), ["cpu"], ["float32", "float64"])
    failures = [f"{r.case} {r.dtype}:\n{r.failure_summary()}" for r in results if r.status != "pass"]
    assert not failures, "\n".join(failures)
    assert len(results) == 2 * len(builtin_suite()) and sum(r.checks for r in results) > 1000


def test_builtin_suite_covers_what_the_issue_asks_for():
    tags = set().union(*(s.tags for s in builtin_suite()))
    required = {"+", "-", "*", "/", "**", "neg", "sum", "mean", "scalar", "chain", "broadcast", "accumulation",
                "zero_grad", "retain_graph", "external_gradient", "view", "error"}
    assert required <= tags, required - tags
    names = {s.name for s in builtin_suite()}
    assert {"accumulate_2", "accumulate_3", "retain_graph_reuse", "retain_graph_missing"} <= names
    text = "\n".join(s.text() for s in builtin_suite())
    assert "expect autograd error" in text and "gradient(" in text and "s(1,)" in text


# --- random scenarios ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_random_scenarios_agree(scenario):
    for dtype in ("float32", "float64"):
        result = run_case(scenario, "cpu", dtype)
        assert result.status == "pass", f"{dtype}\n{result.failure_summary()}\n{scenario.text()}"


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_generated_expressions_stay_away_from_singular_points(scenario):
    """Every drawn expression is finite and bounded, and some leaf it reads requires grad."""
    from pyftorch.crosscheck.generate import _np_eval

    values = {s.name: s.data for s in scenario.steps if isinstance(s, Leaf)}
    grad_leaves = {s.name for s in scenario.steps if isinstance(s, Leaf) and s.requires_grad}
    evals = [s for s in scenario.steps if isinstance(s, Eval)]
    assert evals and isinstance(scenario.steps[len(values)], Eval)
    for step in evals:
        val = _np_eval(step.expr, values)
        assert np.all(np.isfinite(val)) and np.max(np.abs(val)) <= 1e3, (str(step), val)
        assert variables(step.expr) & grad_leaves
        assert not isinstance(step.expr, Var)


def test_random_runs_are_reproducible_from_the_seed():
    first = [r.scenario_text for r in run_random(8, SEED, ["cpu"], ["float64"])]
    again = [r.scenario_text for r in run_random(8, SEED, ["cpu"], ["float64"])]
    other = [r.scenario_text for r in run_random(8, SEED + 1, ["cpu"], ["float64"])]
    assert len(first) == 8 and first == again and first != other


def test_cli_builtin_suite_cpu(capsys):
    assert main(["--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for case in builtin_suite():
        assert re.search(rf"^{case.name}\s+cpu\s+float32\s+\S+\s+\S+\s+\d+\s+ok", out, re.M), case.name
    assert re.search(r"all agree: 80 passed, 0 failed, 0 skipped", out)


def test_cli_random_500_passes_and_prints_the_seed(capsys):
    assert main(["--device", "cpu", "--random", "500", "--seed", str(SEED), "--no-builtin"]) == 0
    out = capsys.readouterr().out
    assert f"seed {SEED}" in out and f"--random 500 --seed {SEED}" in out
    assert re.search(r"^random\[500\]\s+cpu\s+float32 .* ok\s*$", out, re.M)
    assert re.search(r"^random\[500\]\s+cpu\s+float64 .* ok\s*$", out, re.M)
    assert "1000 passed, 0 failed" in out


def test_cli_random_without_seed_prints_a_fresh_one(capsys):
    assert main(["--device", "cpu", "--dtype", "float64", "--random", "3", "--no-builtin"]) == 0
    out = capsys.readouterr().out
    seed = re.search(r"random: 3 scenarios, seed (\d+)", out)
    assert seed and f"random seed: {seed.group(1)}" in out


def test_cli_json_report(capsys):
    assert main(["--device", "cpu", "--dtype", "float64", "--json", "-k", "op_*", "--random", "2", "--seed", "5"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "seed 5" in captured.err  # the seed goes to stderr in JSON mode, and into the report
    assert report["ok"] is True and report["random"] == {"n": 2, "seed": 5}
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] == 10
    case = next(c for c in report["cases"] if c["case"] == "op_div")
    assert case["device"] == "cpu" and case["dtype"] == "float64" and case["status"] == "pass"
    assert {"max_abs_err", "max_rel_err", "checks", "steps", "scenario"} <= set(case)
    assert all({"index", "step", "max_abs_err", "max_rel_err", "ok"} <= set(s) for s in case["steps"])
    assert report["tolerances"]["float32"] == {"rtol": 1e-5, "atol": 1e-6}


def test_cli_cuda_without_cuda_skips_with_the_reason(capsys):
    if ft.cuda_available():
        pytest.skip("CUDA is available here")
    assert main(["--device", "cuda", "-k", "op_add"]) == 0
    out = capsys.readouterr().out
    assert "SKIP" in out and "skipped: CUDA not available" in out and "0 failed, 2 skipped" in out
    assert main(["--device", "cuda", "-k", "op_add", "--fail-on-skip"]) == 1
    capsys.readouterr()


def test_cli_usage(capsys):
    assert main(["--list"]) == 0
    assert "retain_graph_missing" in capsys.readouterr().out
    assert main(["-k", "no_such_case"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["--device", "tpu"])
    assert info.value.code == 2
    capsys.readouterr()


def test_dispatcher_runs_crosscheck(python_subprocess):
    proc = python_subprocess("import sys; from pyftorch.cli import main; "
                             "sys.exit(main(['crosscheck', '--device', 'cpu', '-k', 'chain_*']))")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "chain_ftorch_example" in proc.stdout and "all agree" in proc.stdout


# --- comparison unit tests ---------------------------------------------------------------------------------
def test_compare_arrays_reports_errors_and_tolerances():
    tol = Tolerance(rtol=1e-5, atol=1e-6)
    ref = np.array([1.0, -2.0, 0.0])
    ok = compare_arrays("x", ref * (1 + 1e-7), ref, tol)
    assert ok.ok and 0 < ok.max_rel <= 1.1e-7
    bad = compare_arrays("x", ref + np.array([0, 1e-3, 0]), ref, tol)
    assert not bad.ok and bad.max_abs == pytest.approx(1e-3) and bad.max_rel == pytest.approx(5e-4)
    assert "worst at (1,)" in bad.detail
    assert not compare_arrays("x", np.ones(2), np.ones(3), tol).ok
    assert not compare_arrays("x", np.ones(2, np.float32), np.ones(2), tol).ok
    assert not compare_arrays("x", np.array([np.nan]), np.array([1.0]), tol).ok
    assert compare_arrays("x", np.array([np.inf]), np.array([np.inf]), tol).ok


def test_non_finite_reference_fails_a_case():
    scenario = Scenario("singular", (Leaf("a", np.array([0.0, 1.0])), Eval("y", Bin("/", Var("a"), Var("a"))),
                                     Backward("y")))
    result = run_case(scenario, "cpu", "float64")
    assert result.status == "fail" and "singular point" in result.failure_summary()
    assert run_case(scenario, "cpu", "float64", require_finite=False).status == "pass"  # NaN == NaN


# --- fault injection: the check can fail ------------------------------------------------------------------
def _failed(results) -> set[str]:
    return {r.case for r in results if r.status == "fail"}


def _scale_handle(lib, real_scalar, handle: int, factor: float) -> int:
    """A new handle holding handle * factor (keeps the autograd graph); deletes the old one."""
    out = c_void_p()
    real_scalar(FT_MUL, handle, factor, 0, 0, byref(out))
    lib.ft_tensor_delete(handle)
    return out.value


def test_fault_python_level_gradient_read(monkeypatch):
    """A wrong gradient read in Python (Tensor.grad perturbed) makes cases with gradients fail."""
    original = Tensor.grad

    def perturbed(self):
        g = original.fget(self)
        if g is None:
            return None
        try:
            return g * 1.001
        finally:
            g.close()

    monkeypatch.setattr(Tensor, "grad", property(perturbed))
    results = run_suite(builtin_suite(), ["cpu"], ["float32", "float64"])
    failed = _failed(results)
    assert {"op_mul", "accumulate_3", "retain_graph_reuse", "external_gradient", "zero_grad_between"} <= failed
    case = next(r for r in results if r.case == "op_mul" and r.dtype == "float64")
    assert "grad(a)" in case.failure_summary() and case.max_rel == pytest.approx(1e-3, rel=1e-6)


def test_fault_c_level_gradient_read(monkeypatch, capsys):
    """A gradient read that is wrong in the C call itself (ft_tensor_get_gradient wrapped)."""
    lib = _lib.load()
    real_get, real_scalar = lib.ft_tensor_get_gradient, lib.ft_tensor_binary_scalar

    def wrong_get_gradient(t, holder):
        status = real_get(t, holder)
        holder._obj.value = _scale_handle(lib, real_scalar, holder._obj.value, 1.0 + 1e-3)
        return status

    monkeypatch.setattr(lib, "ft_tensor_get_gradient", wrong_get_gradient)
    assert main(["--device", "cpu"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^op_add\s+cpu\s+float32 .*FAIL", out, re.M)
    assert "MISMATCH" in out and "grad(a)" in out


def test_fault_c_level_operator_value(monkeypatch):
    """A wrong operator result (ft_tensor_binary perturbed for '/') fails values and gradients."""
    lib = _lib.load()
    real_binary, real_scalar = lib.ft_tensor_binary, lib.ft_tensor_binary_scalar

    def wrong_binary(op, a, b, flags, out):
        status = real_binary(op, a, b, flags, out)
        if op == FT_DIV:
            out._obj.value = _scale_handle(lib, real_scalar, out._obj.value, 1.0 + 1e-4)
        return status

    monkeypatch.setattr(lib, "ft_tensor_binary", wrong_binary)
    results = run_suite(builtin_suite(), ["cpu"], ["float32", "float64"])
    failed = _failed(results)
    assert {"op_div", "chain_all_ops", "broadcast_one_element_div"} <= failed
    assert "op_add" not in failed and "op_mul" not in failed  # only '/' was broken
    case = next(r for r in results if r.case == "op_div" and r.dtype == "float32")
    assert any("step 2 [y = (a / b)] y:" in line for line in case.failure_summary().splitlines())
    random_results = run_random(30, SEED, ["cpu"], ["float64"])
    assert any(r.status == "fail" for r in random_results)  # random scenarios catch it too


def test_fault_c_level_backward_runs_twice(monkeypatch):
    """A backward that accumulates twice (doubled gradients) is caught."""
    lib = _lib.load()
    real_backward = lib.ft_tensor_backward

    def double_backward(t, grad, retain_graph):
        real_backward(t, grad, 1)
        return real_backward(t, grad, retain_graph)

    monkeypatch.setattr(lib, "ft_tensor_backward", double_backward)
    failed = _failed(run_suite(builtin_suite(), ["cpu"], ["float64"]))
    assert {"op_add", "accumulate_2", "external_gradient", "backward_on_leaf"} <= failed


def test_fault_c_level_missing_error(monkeypatch):
    """A library that silently ignores a freed graph (no AutogradError) is caught."""
    lib = _lib.load()
    real_backward = lib.ft_tensor_backward

    def forgiving_backward(t, grad, retain_graph):
        try:
            return real_backward(t, grad, retain_graph)
        except ft.AutogradError:
            return 0

    monkeypatch.setattr(lib, "ft_tensor_backward", forgiving_backward)
    failed = _failed(run_suite(builtin_suite(), ["cpu"], ["float64"]))
    assert {"retain_graph_missing", "retain_graph_reuse", "no_requires_grad_error"} <= failed
    assert "op_add" not in failed


def test_fault_tolerance_is_dtype_appropriate(monkeypatch):
    """A relative error of 1e-9 in scalar operators fails float64 but is below float32's resolution."""
    lib = _lib.load()
    real_scalar = lib.ft_tensor_binary_scalar

    def slightly_wrong(op, a, s, scalar_first, flags, out):
        status = real_scalar(op, a, s, scalar_first, flags, out)
        out._obj.value = _scale_handle(lib, real_scalar, out._obj.value, 1.0 + 1e-9)
        return status

    cases = [s for s in builtin_suite() if s.name == "scalar_mul"]
    monkeypatch.setattr(lib, "ft_tensor_binary_scalar", slightly_wrong)
    f64 = run_case(cases[0], "cpu", "float64")
    f32 = run_case(cases[0], "cpu", "float32")
    assert f64.status == "fail" and 5e-10 < f64.max_rel < 2e-9
    assert f32.status == "pass" and f32.max_rel <= TOLERANCES["float32"].rtol


def test_fault_leaked_handle_fails_the_case(monkeypatch):
    """A library call that leaks a handle is caught by the per-case live-handle check."""
    lib = _lib.load()
    real_neg = lib.ft_tensor_neg
    leaked: list[int] = []

    def leaky_neg(a, flags, out):
        extra = c_void_p()
        real_neg(a, flags, byref(extra))
        leaked.append(extra.value)
        return real_neg(a, flags, out)

    monkeypatch.setattr(lib, "ft_tensor_neg", leaky_neg)
    try:
        result = run_case(next(s for s in builtin_suite() if s.name == "op_neg"), "cpu", "float64")
        assert result.status == "fail" and result.leaked_handles == 1
        assert "1 library handle(s) leaked" in result.failure_summary()
    finally:
        for h in leaked:
            lib.ft_tensor_delete(h)


