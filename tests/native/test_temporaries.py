"""Expression temporaries (issue 9, items 9 and 10): every procedure given a temporary
releases it, on success and on error; a failing operator releases its operand temporaries;
one temporary assigned to an array of tensors gives every element the value.  Run with
gfortran 12 (never finalises function results) and flang (finalises them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent
N = 2_000  # evaluations per case: a leak of one handle per evaluation shows as +2000

CASES = [
    "failed_operator_in_sum",  # c = a*b + a*f + b/a, a*f fails (leaked 2 per evaluation)
    "failed_operator_of_temporary",  # c = (a*b)*f (leaked 1)
    "unconstructed_operand",  # (a*f) + (a*b), (a*b) - (a*s): the failed side is unconstructed
    "get_shape_of_temporary",  # torch_tensor_get_shape(a*b) (leaked 1)
    "zero_of_temporary",  # torch_tensor_zero(a*b) (leaked 1)
    "zero_grad_of_temporary",  # torch_tensor_zero_grad(a*b) (leaked 1)
    "failing_procedures_given_temporaries",  # to/backward/loss/get_gradient/sum failing with stat=
    "elemental_assignment_of_temporary",  # arr = one * 2d0 (stopped: "not a live tensor")
]


def report_of(exe: Path) -> dict[str, tuple[int, int, bool]]:
    proc = run([str(exe), str(N)], env=fortran_env())
    out = {}
    for line in proc.stdout.splitlines():
        name, *rest = line.split()
        if name == "final":
            out[name] = (int(rest[0]), 0, True)
        else:
            out[name] = (int(rest[0]), int(rest[1]), rest[2] == "T")
    return out


@pytest.fixture(scope="module")
def gfortran_report(fortran):
    return report_of(fortran.build(HERE / "fortran" / "temporaries.f90"))


@pytest.fixture(scope="module")
def flang_report(fortran, flang):
    return report_of(fortran.build(HERE / "fortran" / "temporaries.f90", compiler=flang))


def check(report, case):
    assert case in report, f"the program stopped before case {case}"
    before, after, values_ok = report[case]
    assert after == before, f"{case}: live handles went from {before} to {after} over {N} evaluations"
    assert values_ok, f"{case}: wrong values or statuses"


@pytest.mark.parametrize("case", CASES)
def test_temporaries_with_gfortran(gfortran_report, case):
    check(gfortran_report, case)


@pytest.mark.parametrize("case", CASES)
def test_temporaries_with_flang(flang_report, case):
    check(flang_report, case)


def test_program_ends_with_no_live_handle(gfortran_report, flang_report):
    assert gfortran_report["final"][0] == 0
    assert flang_report["final"][0] == 0
