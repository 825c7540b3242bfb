"""Every error case reports a status and a message naming the call; nothing crashes."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent

# case -> (stat, the procedure named in the message, words of the cause)
EXPECTED = {
    "unconstructed_tensor": (1, "torch_tensor_backward", "not constructed"),
    "operator_shape_mismatch": (3, "operator(*)", "shapes [2] and [3], which do not broadcast"),
    "assignment_shape_mismatch": (3, "assignment(=)", "shape [3] to a tensor of shape [2]"),
    "operator_dtype_mismatch": (4, "operator(*)", "different dtypes (float32 and float64)"),
    "second_backward_freed_graph": (6, "torch_tensor_backward", "retain_graph=.true."),
    "get_gradient_without_gradient": (7, "torch_tensor_get_gradient", "has no gradient yet"),
    "gradient_holder_wrong_shape": (
        3,
        "torch_tensor_get_gradient",
        "holder has shape [2] but the gradient has shape [3]",
    ),
    "external_gradient_wrong_shape": (3, "torch_tensor_backward", "external gradient has shape [3]"),
    "second_delete": (2, "torch_tensor_delete", "already deleted"),
    "cuda_unavailable": (9, "torch_tensor_zeros", "CUDA"),
    "device_mismatch": (5, "operator(+)", "different devices"),
}


@pytest.fixture(scope="module")
def results(fortran) -> dict[str, tuple[int, str]]:
    exe = fortran.build(HERE / "fortran" / "errors.f90")
    proc = run([str(exe)], env=fortran_env())
    assert proc.stdout.rstrip().endswith("finished"), "the error program must run to its end"
    out = {}
    for line in proc.stdout.splitlines():
        label, _, rest = line.partition(" ")
        stat, _, message = rest.partition(" ")
        if stat.lstrip("-").isdigit():
            out[label] = (int(stat), message)
    return out


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_error_case_reports_stat_and_message(results, case):
    stat, procedure, cause = EXPECTED[case]
    if case == "device_mismatch" and case not in results:
        pytest.skip("needs a CUDA device: two tensors on different devices cannot exist on this machine")
    got_stat, message = results[case]
    assert got_stat == stat, message
    assert message.startswith(procedure + ":"), message
    assert cause in message


def test_successful_calls_report_stat_zero(results):
    assert results["first_delete"] == (0, "")
    assert results["zero_grad_without_gradient"] == (0, "")


def test_failed_operator_yields_unconstructed_tensor(fortran):
    # with torch_set_stop_on_error(.false.) the result of a failed operator holds no handle
    exe = fortran.build(HERE / "fortran" / "errors.f90")
    stdout = run([str(exe)], env=fortran_env()).stdout
    assert "operator_result_constructed F" in stdout


@pytest.mark.parametrize(
    "case, procedure",
    [
        ("operator", "operator(*)"),
        ("backward", "torch_tensor_backward"),
        ("get_gradient", "torch_tensor_get_gradient"),
        ("double_delete", "torch_tensor_delete"),
        ("use_after_delete", "operator(*)"),
    ],
)
def test_failure_without_stat_is_error_stop_with_message(fortran, case, procedure):
    exe = fortran.build(HERE / "fortran" / "fatal.f90")
    proc = subprocess.run([str(exe), case], capture_output=True, text=True, env=fortran_env())
    assert proc.returncode == 1, (
        f"expected error stop, got {proc.returncode} ({signal.Signals(-proc.returncode).name if proc.returncode < 0 else ''})"
    )
    assert f"ftorch: {procedure}: " in proc.stderr
    assert "ERROR STOP" in proc.stderr
    assert "not reached" not in proc.stdout
