"""Generate a synthetic Fortran source tree for the lint benchmark.

``python bench/lint/gen_tree.py OUT --lines 200000 --ftorch-fraction 0.02`` writes about
``--lines`` lines of free-form Fortran in modules of about ``--file-lines`` lines each,
spread over sub-directories; a fraction of the files use ftorch (tensor expressions,
autograd calls, and a few findings), the rest is ordinary numerical code.  The output is
deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import os
import random

PLAIN_SUB = """\
  subroutine {name}(n, x, y, z)
    integer, intent(in) :: n
    real(dp), intent(inout) :: x(n), y(n)
    real(dp), intent(out) :: z
    integer :: i, j
    real(dp) :: acc, tmp
    ! accumulate a weighted sum with a small stencil
    acc = 0.0_dp
    do i = 2, n - 1
      tmp = 0.25_dp * (x(i - 1) + 2.0_dp * x(i) + x(i + 1))
      if (tmp > {k}.0_dp) then
        y(i) = tmp - {k}.0_dp * sqrt(abs(tmp))
      else if (tmp < -{k}.0_dp) then
        y(i) = tmp + exp(-abs(tmp) / {k}.0_dp)
      else
        y(i) = tmp
      end if
      do j = 1, 3
        acc = acc + y(i) * real(j, dp) / (1.0_dp + real(i, dp))
      end do
    end do
    z = acc / max(real(n, dp), 1.0_dp)
    write (*, '(a, i0, a, es12.4)') 'step ', n, &
      ' result ', z
    call {other}(n, y, x, acc)
  end subroutine {name}

"""

FTORCH_SUB = """\
  subroutine {name}(a_data, g_data, nsteps)
    real(dp), dimension(2), target, intent(in) :: a_data
    real(dp), dimension(2), target, intent(inout) :: g_data
    integer, intent(in) :: nsteps
    type(torch_tensor) :: a, g, q, scale_t
    integer :: step, layout(1) = [1]
    real(dp), target :: scale_data(1) = [2.0_dp]
    call torch_tensor_from_array(a, a_data, layout, torch_kCPU, requires_grad=.true.)
    call torch_tensor_from_array(g, g_data, layout, torch_kCPU)
    call torch_tensor_from_array(scale_t, scale_data, [1], torch_kCPU)
    do step = 1, nsteps
      q = scale_t * a**2 + a
      call torch_tensor_backward(q)
      call torch_tensor_get_gradient(g, a)
      write (*, *) 'gradient', g_data
      call torch_tensor_zero_grad(a)
    end do
  end subroutine {name}

"""


def gen_module(rng, idx, target_lines, uses_ftorch):
    name = f"mod_{idx:05d}"
    head = [f"! generated module {idx}", f"module {name}", "  use, intrinsic :: iso_fortran_env, only: dp => real64"]
    if uses_ftorch:
        head.append("  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array, assignment(=), &")
        head.append("    operator(*), operator(+), operator(**), torch_tensor_backward, torch_tensor_get_gradient, &")
        head.append("    torch_tensor_zero_grad, operator(/)")
    head += ["  implicit none", "  private", "  public :: run_" + str(idx), "contains", ""]
    body = []
    n = 0
    lines = len(head) + 2
    while lines < target_lines:
        sub = f"s{idx}_{n}"
        other = f"s{idx}_{n + 1}" if rng.random() < 0.9 else "external_kernel"
        if uses_ftorch and n % 4 == 0:
            text = FTORCH_SUB.format(name=sub)
        else:
            text = PLAIN_SUB.format(name=sub, other=other, k=rng.randint(1, 9))
        body.append(text)
        lines += text.count("\n")
        n += 1
    body.append(f"  subroutine run_{idx}()\n  end subroutine run_{idx}\n\n")
    return "\n".join(head) + "\n" + "".join(body) + f"end module {name}\n"


def generate(out: str, lines: int = 200_000, ftorch_fraction: float = 0.02, file_lines: int = 500, seed: int = 1):
    """Write the tree; return (files, total lines, files using ftorch)."""
    rng = random.Random(seed)
    nfiles = max(1, round(lines / file_lines))
    n_ft = max(1, round(nfiles * ftorch_fraction))
    ft_idx = set(rng.sample(range(nfiles), n_ft))
    total = 0
    for i in range(nfiles):
        d = os.path.join(out, f"pkg{i % 10}")
        os.makedirs(d, exist_ok=True)
        text = gen_module(rng, i, file_lines, i in ft_idx)
        total += text.count("\n")
        with open(os.path.join(d, f"mod_{i:05d}.f90"), "w") as fh:
            fh.write(text)
    return nfiles, total, n_ft


LONG_HEAD = """\
! generated: one statement of about {kb} KB, then a tensor product without operator(*)
module long_statement
  use ftorch, only: torch_tensor, assignment(=), operator(+)
  implicit none
  private
  public :: s
contains
  subroutine s(q, a, x)
    type(torch_tensor), intent(inout) :: q, a
    real, intent(in) :: x(10)
    real :: y
"""
LONG_TAIL = """\
    q = a + a * a
  end subroutine s
end module long_statement
"""


def generate_long_statement(path: str, statement_bytes: int = 64 * 1024) -> int:
    """One file whose subroutine holds a single statement of ``statement_bytes`` bytes (a flat
    sum of array elements times constants, over continuation lines of about 100 columns),
    followed by a tensor statement that FT003 reports.  Returns the number of lines."""
    terms, size, i = [], 0, 0
    while size < statement_bytes:
        t = f"x({i % 10 + 1}) * {i}.0"
        terms.append(t)
        size += len(t) + 3
        i += 1
    rows = [" + ".join(terms[k : k + 6]) for k in range(0, len(terms), 6)]
    stmt = "    y = " + " + &\n        ".join(rows) + "\n"
    text = LONG_HEAD.format(kb=statement_bytes // 1024) + stmt + LONG_TAIL
    with open(path, "w") as fh:
        fh.write(text)
    return text.count("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--ftorch-fraction", type=float, default=0.02)
    ap.add_argument("--file-lines", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    files, total, nft = generate(a.out, a.lines, a.ftorch_fraction, a.file_lines, a.seed)
    print(f"wrote {files} files, {total} lines, {nft} using ftorch, to {a.out}")


if __name__ == "__main__":
    main()
