"""pyftorch.crosscheck: the built-in suite, random scenarios, the CLI, and proof that it can fail."""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import re
from ctypes import byref, c_void_p

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import pyftorch as ft
from pyftorch import _lib
from pyftorch.core import Tensor
from pyftorch.crosscheck import builtin_suite, run_case, run_suite, training_suite
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
    required = {
        "+",
        "-",
        "*",
        "/",
        "**",
        "neg",
        "sum",
        "mean",
        "scalar",
        "chain",
        "broadcast",
        "accumulation",
        "zero_grad",
        "retain_graph",
        "external_gradient",
        "view",
        "error",
    }
    assert required <= tags, required - tags
    names = {s.name for s in builtin_suite()}
    assert {"accumulate_2", "accumulate_3", "retain_graph_reuse", "retain_graph_missing"} <= names
    text = "\n".join(s.text() for s in builtin_suite())
    assert "expect autograd error" in text and "gradient(" in text and "s(1,)" in text


# --- random scenarios ----------------------------------------------------------------------------------
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_random_scenarios_agree(scenario):
    for dtype in ("float32", "float64"):
        result = run_case(scenario, "cpu", dtype)
        assert result.status == "pass", f"{dtype}\n{result.failure_summary()}\n{scenario.text()}"


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
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
    for case in training_suite():
        assert re.search(rf"^{re.escape(case.name)}\s+cpu\s+float64\s+\S+\s+\S+\s+\d+\s+ok", out, re.M), case.name
    assert re.search(rf"all agree: {2 * len(builtin_suite())} passed, 0 failed, 0 skipped", out)


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
    proc = python_subprocess(
        "import sys; from pyftorch.cli import main; sys.exit(main(['crosscheck', '--device', 'cpu', '-k', 'chain_*']))"
    )
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
    scenario = Scenario(
        "singular", (Leaf("a", np.array([0.0, 1.0])), Eval("y", Bin("/", Var("a"), Var("a"))), Backward("y"))
    )
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


# --- training cases: losses, optimisers, schedulers, clipping ---------------------------------------------
from pyftorch.crosscheck.training import (  # noqa: E402
    TRAINING_TOLERANCES,
    ClipCase,
    LossCase,
    OptimCase,
    SchedulerCase,
    TorchTrainingBackend,
)

TRAINING_KINDS = ("loss_", "optim_", "sched_", "clip_")


def _by_prefix(results, prefix):
    return [r for r in results if r.case.startswith(prefix)]


def test_training_cases_pass_and_agree_almost_bit_for_bit():
    results = run_suite(training_suite(), ["cpu"], ["float32", "float64"])
    failures = [f"{r.case} {r.dtype}:\n{r.failure_summary()}" for r in results if r.status != "pass"]
    assert not failures, "\n".join(failures)
    assert len(results) == 2 * len(training_suite())
    for prefix in TRAINING_KINDS:
        group = _by_prefix(results, prefix)
        assert group and all(r.checks > 0 for r in group), prefix
    for r in results:  # far inside the issue's 1e-6 (float64) and 1e-4 (float32) relative
        assert r.max_rel <= TRAINING_TOLERANCES[r.dtype].rtol, (r.case, r.dtype, r.max_rel)
    assert TRAINING_TOLERANCES["float64"].rtol <= 1e-6 and TRAINING_TOLERANCES["float32"].rtol <= 1e-4
    optim_case = next(r for r in results if r.case == "optim_adam_amsgrad_wd_betas" and r.dtype == "float32")
    assert [s.step for s in optim_case.steps] == ["construct"] + [f"step {k}" for k in range(1, 21)]
    assert optim_case.checks == 1 + 20 * 4  # lr at construction; loss, w, b, lr after each step


def test_training_cases_cover_what_the_issue_asks_for():
    cases = training_suite()
    losses = [c for c in cases if isinstance(c, LossCase)]
    optims = [c for c in cases if isinstance(c, OptimCase)]
    scheds = [c for c in cases if isinstance(c, SchedulerCase)]
    clips = [c for c in cases if isinstance(c, ClipCase)]
    assert len(losses) + len(optims) + len(scheds) + len(clips) == len(cases)
    # every loss x every reduction; non-default beta/delta; class indices, probabilities, label smoothing
    combos = {(c.loss, c.reduction) for c in losses}
    for loss in (
        "mse_loss",
        "l1_loss",
        "smooth_l1_loss",
        "huber_loss",
        "cross_entropy",
        "binary_cross_entropy_with_logits",
    ):
        assert {(loss, r) for r in ("mean", "sum", "none")} <= combos, loss
    assert any(c.loss == "smooth_l1_loss" and c.options.get("beta", 1.0) != 1.0 for c in losses)
    assert any(c.loss == "huber_loss" and c.options.get("delta", 1.0) != 1.0 for c in losses)
    ce = [c for c in losses if c.loss == "cross_entropy"]
    for reduction in ("mean", "sum", "none"):
        assert any(c.target_is_index and c.reduction == reduction for c in ce)
        assert any(not c.target_is_index and c.reduction == reduction for c in ce)
    assert any(c.target_is_index and c.options.get("label_smoothing") for c in ce)
    assert any(not c.target_is_index and c.options.get("label_smoothing") for c in ce)
    # every optimiser with >= 2 non-default hyper-parameter sets, 20 steps, and the named options
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        sets = [c.options for c in optims if c.optimizer == name and c.options]
        assert len(sets) >= 2 and any(not c.options for c in optims if c.optimizer == name), name
        assert any(o.get("weight_decay") for o in sets), name
    assert all(c.steps == 20 for c in optims)

    def has(name, *keys):
        return any(c.optimizer == name and all(c.options.get(k) for k in keys) for c in optims)

    assert has("SGD", "nesterov", "momentum", "weight_decay") and has("Adam", "amsgrad") and has("AdamW", "amsgrad")
    assert has("RMSprop", "centered", "momentum") and has("Adagrad", "lr_decay", "initial_accumulator_value")
    # schedulers: each kind, ~30 epochs, cosine annealing past T_max
    assert {c.scheduler for c in scheds} == {"StepLR", "ExponentialLR", "CosineAnnealingLR"}
    assert all(c.epochs >= 30 for c in scheds)
    assert any(c.scheduler == "CosineAnnealingLR" and c.epochs > 2 * c.options["T_max"] for c in scheds)
    # clipping: norm types 2 and inf, and by value
    assert {c.norm_type for c in clips if c.mode == "norm"} >= {2.0, float("inf")}
    assert any(c.mode == "value" for c in clips)


def _torch_observations(case):
    backend = TorchTrainingBackend("cpu", "float64")
    return list(case.procedure(backend))


def test_training_cases_are_not_vacuous():
    """The reference runs move: parameters change, rates change, clipping clips, gradients are non-zero."""
    for case in training_suite():
        obs = _torch_observations(case)
        if isinstance(case, OptimCase):
            final = obs[-1][1]
            assert not np.allclose(final["w"], case.w, rtol=1e-3, atol=0), case.name
            assert not np.allclose(final["b"], case.b, rtol=1e-3, atol=0), case.name
        elif isinstance(case, SchedulerCase):
            lrs = [o["lr"][0] for _, o in obs]
            assert len(set(lrs)) >= (2 if case.options.get("T_max") == 1 else 4), case.name
            if case.scheduler == "CosineAnnealingLR":  # past T_max the rate rises again
                assert any(b > a for a, b in itertools.pairwise(lrs)), case.name
        elif isinstance(case, ClipCase):
            before, after = obs[0][1], obs[1][1]
            changed = any(
                before[k] is not None and not np.array_equal(before[k], after[k])
                for k in before
                if k.startswith("grad(")
            )
            assert changed == (case.name != "clip_norm_no_clipping"), case.name
            if case.mode == "norm":
                assert (after["total_norm"][0] > case.max_norm) == changed, case.name
        else:
            grad = obs[1][1]["grad(input)"]
            assert np.count_nonzero(grad) == grad.size, case.name


def test_cli_training_cases(capsys):
    assert main(["--device", "cpu", "-k", "optim_*"]) == 0
    out = capsys.readouterr().out
    n = sum(c.name.startswith("optim_") for c in training_suite())
    assert re.search(rf"all agree: {2 * n} passed, 0 failed", out)
    assert re.search(r"^optim_adamw_amsgrad_eps\s+cpu\s+float32\s+\S+\s+\S+\s+81\s+ok", out, re.M)
    assert "op_add" not in out and "loss_mse_mean" not in out
    assert main(["--device", "cpu", "--dtype", "float64", "--json", "-k", "sched_cosine*"]) == 0
    report = json.loads(capsys.readouterr().out)
    case = next(c for c in report["cases"] if c["case"] == "sched_cosine_past_tmax")
    assert case["status"] == "pass" and len(case["steps"]) == 31 and "CosineAnnealingLR" in case["scenario"]
    assert main(["--list", "-k", "clip_*"]) == 0
    assert "clip_norm_inf" in capsys.readouterr().out


# --- fault injection in the training API: the checks can fail ---------------------------------------------
def _training_results(prefixes=TRAINING_KINDS, dtypes=("float32", "float64")):
    cases = [c for c in training_suite() if c.name.startswith(tuple(prefixes))]
    return run_suite(cases, ["cpu"], list(dtypes))


def _names(prefix):
    return {c.name for c in training_suite() if c.name.startswith(prefix)}


def test_fault_optimizer_step_with_a_wrong_learning_rate(monkeypatch):
    """ft_optim_step wrapped: each update uses lr * (1 + 1e-3); every optimiser case fails, nothing else."""
    lib = _lib.load()
    real_step, get_lr, set_lr = lib.ft_optim_step, lib.ft_optim_get_lr, lib.ft_optim_set_lr

    def wrong_step(handle):
        lr = ctypes.c_double()
        get_lr(handle, byref(lr))
        set_lr(handle, lr.value * (1 + 1e-3))
        try:
            return real_step(handle)
        finally:
            set_lr(handle, lr.value)

    monkeypatch.setattr(lib, "ft_optim_step", wrong_step)
    results = _training_results()
    failed = _failed(results)
    assert {r.case for r in results if r.case.startswith("optim_") and r.status == "fail"} == _names("optim_")
    assert all(r.status == "fail" for r in _by_prefix(results, "optim_"))  # both dtypes
    assert not failed - _names("optim_")  # losses, schedulers (lr restored), clipping unaffected
    case = next(r for r in results if r.case == "optim_sgd_plain" and r.dtype == "float64")
    assert "step 1 [step 1] w:" in case.failure_summary() and case.leaked_handles == 0


def test_fault_learning_rate_handed_to_the_library(monkeypatch):
    """ft_optim_new gets lr * (1 + 1e-3): optimiser and scheduler cases fail from construction on."""
    lib = _lib.load()
    real_new = lib.ft_optim_new

    def wrong_new(kind, params, n, options, out):
        options._obj.lr *= 1 + 1e-3
        return real_new(kind, params, n, options, out)

    monkeypatch.setattr(lib, "ft_optim_new", wrong_new)
    results = _training_results()
    assert _failed(results) == _names("optim_") | _names("sched_")
    case = next(r for r in results if r.case == "sched_steplr" and r.dtype == "float32")
    assert "step 0 [construct] lr:" in case.failure_summary()


def test_fault_loss_value(monkeypatch):
    """ft_loss wrapped to scale its result by 1 + 1e-4: every loss case fails, in value and gradient."""
    lib = _lib.load()
    real_loss, real_scalar = lib.ft_loss, lib.ft_tensor_binary_scalar

    def wrong_loss(kind, x, y, reduction, param, out):
        status = real_loss(kind, x, y, reduction, param, out)
        out._obj.value = _scale_handle(lib, real_scalar, out._obj.value, 1.0 + 1e-4)
        return status

    monkeypatch.setattr(lib, "ft_loss", wrong_loss)
    results = _training_results(("loss_", "optim_"))
    assert _failed(results) == _names("loss_")  # the optimiser cases build their loss from operators
    assert all(r.status == "fail" for r in _by_prefix(results, "loss_"))
    case = next(r for r in results if r.case == "loss_cross_entropy_index_mean" and r.dtype == "float32")
    summary = case.failure_summary()
    assert "] loss:" in summary and "grad(input)" in summary
    assert case.max_rel == pytest.approx(1e-4, rel=1e-2)


def test_fault_clip_grad_norm(monkeypatch):
    """ft_clip_grad_norm gets max_norm * 1.01: cases that clip fail; the one below max_norm does not."""
    lib = _lib.load()
    real_clip = lib.ft_clip_grad_norm

    def wrong_clip(params, n, max_norm, norm_type, total):
        return real_clip(params, n, max_norm * 1.01, norm_type, total)

    monkeypatch.setattr(lib, "ft_clip_grad_norm", wrong_clip)
    failed = _failed(_training_results(("clip_", "optim_rmsprop_clip")))
    assert failed == (_names("clip_norm") - {"clip_norm_no_clipping"}) | {"optim_rmsprop_clip_norm"}


def test_fault_clip_grad_value(monkeypatch):
    lib = _lib.load()
    real_clip = lib.ft_clip_grad_value
    monkeypatch.setattr(lib, "ft_clip_grad_value", lambda params, n, value: real_clip(params, n, value * 1.1))
    assert _failed(_training_results(("clip_",))) == _names("clip_value")


def test_fault_scheduler_skips_a_step(monkeypatch):
    """Every fifth ft_scheduler_step does nothing: scheduler cases and optimiser cases with a scheduler fail."""
    lib = _lib.load()
    real_step = lib.ft_scheduler_step
    calls = [0]

    def skipping(handle):
        calls[0] += 1
        return 0 if calls[0] % 5 == 0 else real_step(handle)

    monkeypatch.setattr(lib, "ft_scheduler_step", skipping)
    failed = _failed(_training_results(("sched_", "optim_")))
    assert failed == _names("sched_") | {"optim_sgd_momentum_steplr", "optim_adamw_cosine"}


def test_fault_training_tolerance_is_dtype_appropriate(monkeypatch):
    """A relative error of 1e-9 in the learning rate fails float64 but is below float32's resolution."""
    lib = _lib.load()
    real_new = lib.ft_optim_new

    def slightly_wrong(kind, params, n, options, out):
        options._obj.lr *= 1 + 1e-9
        return real_new(kind, params, n, options, out)

    monkeypatch.setattr(lib, "ft_optim_new", slightly_wrong)
    results = _training_results(("optim_adam_plain", "optim_sgd_plain", "sched_exponentiallr"))
    assert all(r.status == "fail" for r in results if r.dtype == "float64")
    assert all(r.status == "pass" for r in results if r.dtype == "float32")


def test_fault_library_error_in_a_training_case(monkeypatch):
    """An error on the library side only is a mismatch, reported with the message; nothing leaks."""
    lib = _lib.load()
    real_step = lib.ft_optim_step
    calls = [0]

    def failing(handle):
        calls[0] += 1
        if calls[0] == 3:
            raise ft.TorchError("injected failure", function="ft_optim_step")
        return real_step(handle)

    monkeypatch.setattr(lib, "ft_optim_step", failing)
    result = run_case(next(c for c in training_suite() if c.name == "optim_adam_plain"), "cpu", "float64")
    assert result.status == "fail" and result.leaked_handles == 0
    assert "injected failure" in result.failure_summary() and len(result.steps) == 4


def test_fault_leaked_training_handles_fail_the_case(monkeypatch):
    from pyftorch.crosscheck import training

    monkeypatch.setattr(training.LibraryTrainingBackend, "close_all", lambda self: None)
    result = run_case(next(c for c in training_suite() if c.name == "optim_sgd_plain"), "cpu", "float64")
    assert result.status == "fail" and result.leaked_handles == 5  # w, b, x, y and the optimiser
    gc.collect()  # the backend is gone now: its objects' finalisers release the handles
