"""Marginal callgrind instructions per operation of one benchmark kernel (no wall clock).

    python -m bench.callgrind_ops fortran mul 1 float64 [N1 N2]
    python -m bench.callgrind_ops cxx view_mul_grad 1000 float64

Runs ``build/bench-kernels/bench_driver`` under ``valgrind --tool=callgrind`` twice, for N1 and
N2 operations, collecting only inside the measured loop, and prints
``(Ir(N2) - Ir(N1)) / (N2 - N1)``: set-up, first-call and one-off costs cancel out.  The
loop's symbol is the kernel that the driver's CASES table runs for the case.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "build" / "bench-kernels" / "bench_driver"
SOURCE = ROOT / "bench" / "kernels" / "bench_driver.c"


def loop_symbol(variant: str, case: str) -> str:
    """The C symbol that bench_driver runs for (variant, case), read from its CASES table."""
    for m in re.finditer(r'\{"(\w+)", (\w+), (\w+), -?\d+\}', SOURCE.read_text()):
        if m.group(1) == case:
            return m.group(2) if variant == "fortran" else m.group(3)
    raise SystemExit(f"case {case!r} is not in {SOURCE.name}'s CASES table")


def instructions(variant: str, case: str, size: int, dtype: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--toggle-collect={loop_symbol(variant, case)}",
            f"--callgrind-out-file={out}",
            str(DRIVER),
            variant,
            case,
            str(size),
            dtype,
            str(n),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in callgrind output of {' '.join(cmd)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variant", choices=["fortran", "cxx"])
    p.add_argument("case")
    p.add_argument("size", type=int)
    p.add_argument("dtype", choices=["float32", "float64"])
    p.add_argument("n", type=int, nargs="*", help="two operation counts (default by size)")
    a = p.parse_args(argv)
    n1, n2 = a.n if len(a.n) == 2 else ((2, 6) if a.size >= 100_000 else (500, 1500))
    i1 = instructions(a.variant, a.case, a.size, a.dtype, n1)
    i2 = instructions(a.variant, a.case, a.size, a.dtype, n2)
    print(f"{a.variant} {a.case} size={a.size} {a.dtype}: {(i2 - i1) / (n2 - n1):.1f} instructions/op")
    return 0


if __name__ == "__main__":
    sys.exit(main())
