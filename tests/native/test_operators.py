"""Every operator and chains of them, from Fortran, against PyTorch computed in the test.

One generated Fortran driver evaluates all cases in one process: for each case it builds
`a` and `b` (requires_grad) and a one-element tensor `m` from arrays, evaluates the
expression, back-propagates (ones or an external gradient) and writes the value and both
gradients.  PyTorch then evaluates the same expression on the same inputs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.conftest import fortran_env, run

# (name, Fortran expression, PyTorch expression).  `wk` is the tensors' real kind.
EXPRESSIONS = [
    ("add", "a + b", lambda a, b, m: a + b),
    ("sub", "a - b", lambda a, b, m: a - b),
    ("mul", "a * b", lambda a, b, m: a * b),
    ("div", "a / b", lambda a, b, m: a / b),
    ("pow_tensor", "a ** b", lambda a, b, m: a**b),
    ("neg", "-a", lambda a, b, m: -a),
    ("pow_int8", "a ** 2_int8", lambda a, b, m: a**2),
    ("pow_int16", "a ** 3_int16", lambda a, b, m: a**3),
    ("pow_int32", "b ** 2", lambda a, b, m: b**2),
    ("pow_int64", "b ** 3_int64", lambda a, b, m: b**3),
    ("pow_negative_int", "a ** (-2)", lambda a, b, m: a**-2),
    ("pow_real32", "a ** 1.5_real32", lambda a, b, m: a**1.5),
    ("pow_real64", "a ** 2.5_real64", lambda a, b, m: a**2.5),
    ("scalar_pow_tensor", "2.0_wk ** a", lambda a, b, m: 2.0**a),
    ("tensor_plus_real", "a + 1.5_wk", lambda a, b, m: a + 1.5),
    ("real_plus_tensor", "1.5_wk + a", lambda a, b, m: 1.5 + a),
    ("tensor_minus_real", "a - 0.5_wk", lambda a, b, m: a - 0.5),
    ("real_minus_tensor", "0.5_wk - a", lambda a, b, m: 0.5 - a),
    ("tensor_times_real", "a * 2.5_wk", lambda a, b, m: a * 2.5),
    ("real_times_tensor", "2.5_wk * b", lambda a, b, m: 2.5 * b),
    ("tensor_over_real", "a / 4.0_wk", lambda a, b, m: a / 4.0),
    ("real_over_tensor", "4.0_wk / b", lambda a, b, m: 4.0 / b),
    ("other_real_kinds", "a * 3.0_real64 - 2.0_real32 * b", lambda a, b, m: a * 3.0 - 2.0 * b),
    ("integer_scalars", "3 * a + b / 2 - 1_int64", lambda a, b, m: 3 * a + b / 2 - 1),
    ("one_element_times", "m * a", lambda a, b, m: m * a),
    ("one_element_divides", "b / m", lambda a, b, m: b / m),
    ("one_element_minus", "m - b", lambda a, b, m: m - b),
    ("chain_muladd", "a * b + a / b", lambda a, b, m: a * b + a / b),
    ("chain_quotient", "(a - b) * (a + b) / (b * b)", lambda a, b, m: (a - b) * (a + b) / (b * b)),
    ("chain_powers", "-(a ** 2) * b + a ** 3 - b / a", lambda a, b, m: -(a**2) * b + a**3 - b / a),
    ("chain_spec", "m * (a ** 3 - b * b / m)", lambda a, b, m: m * (a**3 - b * b / m)),
    ("chain_rational", "((a + b) ** 2) / (a * b + 3.0_wk)", lambda a, b, m: ((a + b) ** 2) / (a * b + 3.0)),
    ("chain_scalars", "2.0_wk * a * b - a / 3.0_wk + (-b) ** 2", lambda a, b, m: 2.0 * a * b - a / 3.0 + (-b) ** 2),
]
KINDS = {"real32": (np.float32, torch.float32), "real64": (np.float64, torch.float64)}
SHAPES = {1: (5,), 2: (3, 4), 3: (2, 3, 4)}
# mode: how the result is produced and seeded
#   view: `q = expr` writes into a tensor viewing a Fortran array
#   owned: `r = expr` into an unconstructed tensor, then copied out with `q = r`
MODES = [("view", False), ("view", True), ("owned", False), ("owned", True)]
TOLERANCE = {"real32": dict(rtol=2e-6, atol=1e-6), "real64": dict(rtol=1e-13, atol=1e-13)}


def fortran_case_block(kind: str, rank: int) -> str:
    colons = ",".join([":"] * rank)
    dims = ",".join(f"shp({i + 1})" for i in range(rank))
    cases = "\n".join(
        f"    case ('{name}')\n      if (owned) then\n        r = {expr}\n      else\n        tq = {expr}\n      end if"
        for name, expr, _ in EXPRESSIONS
    )
    return f"""
  subroutine run_{kind}_{rank}d(expr, shp, owned, seeded, infile, outfile)
    integer, parameter :: wk = {kind}
    character(len=*), intent(in) :: expr, infile, outfile
    integer, intent(in) :: shp(:)
    logical, intent(in) :: owned, seeded
    real(wk), allocatable, target :: xa({colons}), xb({colons}), xg({colons}), q({colons})
    real(wk), allocatable, target :: ga({colons}), gb({colons})
    real(wk), target :: xm(1)
    type(torch_tensor) :: a, b, m, g, tq, r, tga, tgb
    integer :: u, sa, sb
    allocate (xa({dims}), xb({dims}), xg({dims}))
    allocate (q({dims}), ga({dims}), gb({dims}))
    open (newunit=u, file=infile, access='stream', form='unformatted', status='old')
    read (u) xa, xb, xg, xm
    close (u)
    q = 0
    ga = 0
    gb = 0
    call torch_tensor_from_array(a, xa, torch_kCPU, requires_grad=.true.)
    call torch_tensor_from_array(b, xb, torch_kCPU, requires_grad=.true.)
    call torch_tensor_from_array(m, xm, torch_kCPU)
    call torch_tensor_from_array(tq, q, torch_kCPU)
    select case (expr)
{cases}
    case default
      error stop 'unknown expression'
    end select
    if (owned) then
      tq = r
      if (seeded) then
        call torch_tensor_from_array(g, xg, torch_kCPU)
        call torch_tensor_backward(r, g)
      else
        call torch_tensor_backward(r)
      end if
    else
      if (seeded) then
        call torch_tensor_from_array(g, xg, torch_kCPU)
        call torch_tensor_backward(tq, g)
      else
        call torch_tensor_backward(tq)
      end if
    end if
    call torch_tensor_from_array(tga, ga, torch_kCPU)
    call torch_tensor_from_array(tgb, gb, torch_kCPU)
    call torch_tensor_get_gradient(tga, a, stat=sa)
    call torch_tensor_get_gradient(tgb, b, stat=sb)
    open (newunit=u, file=outfile, access='stream', form='unformatted', status='replace')
    write (u) q, ga, gb, int(sa, int32), int(sb, int32)
    close (u)
  end subroutine run_{kind}_{rank}d
"""


def fortran_driver() -> str:
    calls = "\n".join(
        f"    else if (kind == '{kind}' .and. rank == {rank}) then\n"
        f"      call run_{kind}_{rank}d(trim(expr), shp(1:rank), owned, seeded, trim(infile), trim(outfile))"
        for kind, rank in itertools.product(KINDS, SHAPES)
    ).replace("    else if", "    if", 1)
    blocks = "".join(fortran_case_block(kind, rank) for kind, rank in itertools.product(KINDS, SHAPES))
    return f"""! Generated by tests/native/test_operators.py
program operator_driver
  use, intrinsic :: iso_fortran_env, only: int8, int16, int32, int64, real32, real64
  use ftorch, only: assignment(=), operator(+), operator(-), operator(*), operator(/), operator(**), &
                    torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, &
                    torch_tensor_get_gradient, torch_live_tensors
  implicit none
  character(len=64) :: expr, kind
  character(len=512) :: infile, outfile, manifest
  integer :: rank, shp(3), u, ios
  logical :: owned, seeded
  call get_command_argument(1, manifest)
  open (newunit=u, file=trim(manifest), status='old', action='read')
  do
    read (u, *, iostat=ios) expr, kind, rank, shp, owned, seeded, infile, outfile
    if (ios /= 0) exit
{calls}
    end if
  end do
  close (u)
  write (*, '(a, i0)') 'live tensors at exit: ', torch_live_tensors()
contains
{blocks}
end program operator_driver
"""


@dataclass
class Case:
    expr: str
    kind: str
    rank: int
    mode: str
    seeded: bool

    @property
    def id(self) -> str:
        return f"{self.expr}-{self.kind}-{self.rank}d-{self.mode}-{'seeded' if self.seeded else 'ones'}"


CASES = [
    Case(name, kind, rank, mode, seeded)
    for name, _, _ in EXPRESSIONS
    for kind in KINDS
    for rank in SHAPES
    for mode, seeded in MODES
]


def make_inputs(case: Case, rng: np.random.Generator):
    dtype = KINDS[case.kind][0]
    shape = SHAPES[case.rank]
    a = rng.uniform(0.5, 1.5, shape).astype(dtype)  # positive: real powers
    b = (rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)).astype(dtype)  # |b| >= 0.5
    g = rng.normal(size=shape).astype(dtype)
    m = np.array([1.5], dtype=dtype)
    return a, b, g, m


@pytest.fixture(scope="module")
def driver_results(fortran, tmp_path_factory):
    """Run every case through the Fortran driver once; map case id -> (inputs, outputs)."""
    work = tmp_path_factory.mktemp("operators")
    source = work / "operator_driver.f90"
    source.write_text(fortran_driver())
    exe = fortran.build(source)
    rng = np.random.default_rng(20261126)
    lines, inputs = [], {}
    for i, case in enumerate(CASES):
        a, b, g, m = make_inputs(case, rng)
        infile, outfile = work / f"in{i}.bin", work / f"out{i}.bin"
        infile.write_bytes(b"".join(x.tobytes(order="F") for x in (a, b, g, m)))
        shp = list(SHAPES[case.rank]) + [1] * (3 - case.rank)
        lines.append(
            f"'{case.expr}' '{case.kind}' {case.rank} {shp[0]} {shp[1]} {shp[2]} "
            f"{'T' if case.mode == 'owned' else 'F'} {'T' if case.seeded else 'F'} '{infile}' '{outfile}'"
        )
        inputs[case.id] = (case, (a, b, g, m), outfile)
    manifest = work / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    proc = run([str(exe), str(manifest)], env=fortran_env())
    return inputs, proc.stdout


def read_outputs(outfile: Path, dtype, shape):
    raw = outfile.read_bytes()
    n = math.prod(shape)
    size = np.dtype(dtype).itemsize * n
    q, ga, gb = (np.frombuffer(raw[i * size : (i + 1) * size], dtype=dtype).reshape(shape, order="F") for i in range(3))
    sa, sb = np.frombuffer(raw[3 * size :], dtype=np.int32)
    return q, ga, gb, int(sa), int(sb)


def torch_reference(case: Case, a, b, g, m):
    tdtype = KINDS[case.kind][1]
    ta = torch.tensor(a, dtype=tdtype, requires_grad=True)
    tb = torch.tensor(b, dtype=tdtype, requires_grad=True)
    tm = torch.tensor(m, dtype=tdtype)
    fn = dict((name, f) for name, _, f in EXPRESSIONS)[case.expr]
    q = fn(ta, tb, tm)
    q.backward(torch.tensor(g, dtype=tdtype) if case.seeded else torch.ones_like(q))
    grad = lambda t: None if t.grad is None else t.grad.numpy()  # noqa: E731
    return q.detach().numpy(), grad(ta), grad(tb)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_value_and_gradients_match_pytorch(case, driver_results):
    inputs, _ = driver_results
    _, (a, b, g, m), outfile = inputs[case.id]
    q, ga, gb, sa, sb = read_outputs(outfile, KINDS[case.kind][0], SHAPES[case.rank])
    ref_q, ref_ga, ref_gb = torch_reference(case, a, b, g, m)
    tol = TOLERANCE[case.kind]
    np.testing.assert_allclose(q, ref_q, **tol, err_msg="value")
    for got, stat, ref, name in ((ga, sa, ref_ga, "a"), (gb, sb, ref_gb, "b")):
        if ref is None:
            assert stat == 7, f"PyTorch has no gradient for {name}; Fortran must report torch_stat_no_gradient"
        else:
            assert stat == 0, f"Fortran get_gradient({name}) failed with stat {stat}"
            np.testing.assert_allclose(got, ref, **tol, err_msg=f"d/d{name}")


def test_driver_releases_every_tensor(driver_results):
    _, stdout = driver_results
    # Every tensor is a local of the case subroutine, finalised at its exit.
    assert "live tensors at exit: 0" in stdout
