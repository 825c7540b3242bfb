"""Assignment of operator results into tensors that view Fortran arrays (issue 13).

Such a result is deferred and computed straight into the array by LibTorch's out= kernel.
The driver (fortran/fused_assign.f90) exercises every operator form, aliasing (exact and
partial overlap of the target with an operand), broadcasting, the error paths, deferred
temporaries handed to procedures, and autograd; every value is recomputed here with
PyTorch, with the semantics of computing the result first and then copying it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent
N = 12
N_LEAK = 1_000_000
RSS_LIMIT_KB = 1024


def _inputs(dtype=torch.float64):
    i = torch.arange(1, N + 1, dtype=torch.float64)
    return (1 + i / 8).to(dtype), (2 - i / 16).to(dtype), torch.tensor([0.5], dtype=dtype)


def _expected() -> dict[str, torch.Tensor]:
    x, y, m = _inputs()
    x32, y32, _ = _inputs(torch.float32)
    big = torch.arange(1, 2 * N + 1, dtype=torch.float64)

    def shifted(write_lo: bool, fn) -> torch.Tensor:
        # lo views big[0:N], hi views big[1:N+1]; the result is computed, then copied.
        b = big.clone()
        src = b[1 : N + 1] if write_lo else b[0:N]
        value = fn(src.clone())
        (b[0:N] if write_lo else b[1 : N + 1]).copy_(value)
        return b[: N + 1]

    x2 = x.reshape(4, 3).T  # Fortran x2(3, 4) = reshape(x, [3, 4]), seen in C order
    mul_chain = (x * y) * (x * y)
    grad_x = x.clone().requires_grad_(True)
    (grad_x * y + grad_x).backward(torch.ones(N, dtype=torch.float64))
    # Each assignment into the view cuts its history: only the last graph (q = a*y) counts.
    xa = x.clone().requires_grad_(True)
    q = torch.zeros(N, dtype=torch.float64)
    for value in (lambda: xa * y + xa, lambda: 2.0 * xa, lambda: xa * y):
        q = q.detach()
        q.copy_(value())
    q.backward(torch.ones(N, dtype=torch.float64))
    grad_after_reassign = xa.grad
    xe = x.clone().requires_grad_(True)
    e1 = torch.zeros(N, dtype=torch.float64)
    e1.copy_(xe * y)
    e2 = torch.zeros(N, dtype=torch.float64)
    e2.copy_(xe * y)
    e2.backward(torch.ones(N, dtype=torch.float64))
    xs = x.clone().requires_grad_(True)
    (xs * xs).backward(torch.ones(N, dtype=torch.float64))
    grad_after_saved_reassign = xs.grad
    return {
        "mul": x * y,
        "add": x + y,
        "sub": x - y,
        "div": x / y,
        "pow": x**y,
        "muladd": x * y + x,
        "scale": 2.0 * x,
        "times_int": x * 3,
        "plus_real": x + 1.5,
        "real_minus": 1.5 - x,
        "real_over": 4.0 / x,
        "over_real": x / 4.0,
        "pow_int": x**2,
        "pow_real": x**1.5,
        "real_pow": 2.0**x,
        "neg": -x,
        "chain": (x - y) * (x + y) / (y * y),
        "mul32": x32 * y32,
        "scale32": 2.0 * x32 + y32,
        "self_mul": x * y,
        "self_rsub": y - x,
        "self_square_plus": x * x + x,
        "overlap_down": shifted(True, lambda hi: hi * y),
        "overlap_up": shifted(False, lambda lo: lo * y),
        "overlap_up_scalar": shifted(False, lambda lo: lo + 1.0),
        # q2 is printed in Fortran (column-major) order: transpose back before flattening.
        "broadcast_one": (x2 * m).T.reshape(-1),
        "broadcast_scalar_result": (m * m).expand(N),
        "broadcast_left": m * x,
        "shape_error_untouched": -torch.ones(N, dtype=torch.float64),
        "dtype_error_untouched": -torch.ones(N, dtype=torch.float32),
        "handles_after_errors": torch.zeros(1, dtype=torch.float64),
        "sum_of_product": (x * y).sum().reshape(1),
        "to_from_product": x * y + 1.0,
        "rank_of_product": torch.ones(1, dtype=torch.float64),
        "owned_then_view": x * y,
        "owned_chain": mul_chain + 0.0,
        "through_procedure": x * y * 2.0,
        "grad_value": x * y + x,
        "grad_of_a": grad_x.grad,
        "grad_after_reassign": grad_after_reassign,
        "grad_after_saved_reassign": grad_after_saved_reassign,
        "elemental_views_first": e1,
        "elemental_views_second": e2,
        "elemental_views_grad": xe.grad,
        "elemental_broadcast": (m * m).expand(N + 3),
    }


ERRORS = {
    # name: (status, message as the library reported it before the deferred path existed)
    "shape_error": (
        3,
        "assignment(=): cannot assign a value of shape [12] to a tensor of shape [3, 4] that views a Fortran array",
    ),
    "broadcast_error": (3, "operator(*): operands of operator(*) have shapes [12] and [3, 4], which do not broadcast"),
    "dtype_error": (4, "assignment(=): cannot assign a float64 value to a float32 tensor that views a Fortran array"),
    "operand_dtype_error": (
        4,
        "operator(*): operands of operator(*) have different dtypes (float64 and float32); "
        "convert one with torch_tensor_to",
    ),
}


def _parse(stdout: str) -> dict[str, tuple[int, str]]:
    out = {}
    for line in stdout.splitlines():
        name, status, *rest = line.split(" ", 2)
        out[name] = (int(status), rest[0] if rest else "")
    return out


@pytest.fixture(scope="module")
def report(fortran) -> dict[str, tuple[int, str]]:
    exe = fortran.build(HERE / "fortran" / "fused_assign.f90")
    return _parse(run([str(exe)], env=fortran_env()).stdout)


@pytest.mark.parametrize("name", sorted(_expected()))
def test_value_matches_pytorch(report, name):
    want = _expected()[name]
    status, text = report[name]
    assert status == 0, f"{name}: status {status}"
    got = np.array(text.split(), dtype=np.float64)
    rtol = 1e-6 if want.dtype == torch.float32 else 1e-14
    np.testing.assert_allclose(got, want.detach().to(torch.float64).numpy(), rtol=rtol, atol=0, err_msg=name)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_unchanged(report, name):
    status, message = ERRORS[name]
    assert report[name] == (status, message)


def test_view_saved_for_backward_then_overwritten_is_reported(report):
    """A fused write bumps the version counter, as any in-place write does."""
    status, message = report["saved_then_overwritten"]
    assert status != 0 and "modified by an inplace operation" in message


def test_grad_view_saved_for_backward_then_reassigned_is_reported(report):
    """Cutting a reassigned view's history leaves a copy saved by another graph alone."""
    status, message = report["grad_view_saved_then_reassigned"]
    assert status != 0 and "modified by an inplace operation" in message


def test_no_handle_left(report):
    assert report["live_at_end"] == (0, "0")


def _leak_report(exe: Path) -> dict[str, tuple[int, ...]]:
    proc = subprocess.run([str(exe), str(N_LEAK)], capture_output=True, text=True, env=fortran_env())
    assert proc.returncode == 0, proc.stderr
    report = {}
    for line in proc.stdout.splitlines():
        name, *numbers = line.split()
        report[name] = tuple(int(v) for v in numbers)
    assert set(report) == {"mul", "muladd", "scale", "sum_of_temp", "end"}, proc.stdout
    return report


def _assert_flat(report, compiler):
    for name, (h0, h1, r0, r1) in report.items():
        assert h1 == h0, f"{compiler}/{name}: live handles went from {h0} to {h1}"
        assert r1 - r0 < RSS_LIMIT_KB, f"{compiler}/{name}: resident memory grew by {r1 - r0} kB"
    assert report["end"][1] == 0


@pytest.mark.slow
def test_million_deferred_assignments_leak_nothing_with_gfortran(fortran):
    _assert_flat(_leak_report(fortran.build(HERE / "fortran" / "fused_leak.f90")), "gfortran")


@pytest.mark.slow
def test_million_deferred_assignments_leak_nothing_with_flang(fortran, flang):
    _assert_flat(_leak_report(fortran.build(HERE / "fortran" / "fused_leak.f90", compiler=flang)), flang)
