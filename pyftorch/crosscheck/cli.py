"""``pyftorch crosscheck``: run libftorch side by side with PyTorch autograd and compare.

The built-in suite holds the autograd scenarios and the training cases: every loss
(``-k 'loss_*'``: value and input gradient), optimiser (``-k 'optim_*'``: loss, parameters
and learning rate after each of 20 steps against torch.optim), scheduler (``-k 'sched_*'``:
the learning-rate sequence) and clipping mode (``-k 'clip_*'``).
Prints one row per case (case, device, dtype, max abs err, max rel err, ok) and exits
non-zero on any mismatch.  ``--random N`` adds N hypothesis-drawn scenarios from a printed
seed (``--seed S`` reproduces a run).  ``--json`` prints a machine-readable report instead.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from pyftorch.crosscheck.engine import DEVICES, DTYPES, TOLERANCES, CaseResult, run_suite

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pyftorch crosscheck",
        description="Run scenarios through libftorch (ctypes) and through torch in Python, step by step, and "
        "compare every value and gradient.",
        epilog="Exit status: 0 all cases agree, 1 a mismatch (or a skip with --fail-on-skip), 2 usage error.",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "all"),
        default="all",
        help="device(s) to run on (default: all; CUDA cases skip, with the reason, without CUDA)",
    )
    p.add_argument("--dtype", choices=("float32", "float64", "all"), default="all", help="dtype(s) (default: all)")
    p.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    p.add_argument("--random", type=int, default=0, metavar="N", help="also run N random scenarios (hypothesis)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the random scenarios (default: fresh)")
    p.add_argument("--no-builtin", action="store_true", help="skip the built-in suite (with --random)")
    p.add_argument(
        "-k",
        dest="pattern",
        default=None,
        metavar="PATTERN",
        help="run only built-in cases whose name matches this glob or substring "
        "(training cases: loss_*, optim_*, sched_*, clip_*)",
    )
    p.add_argument("--list", action="store_true", help="list the built-in cases and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step of every case")
    p.add_argument("--fail-on-skip", action="store_true", help="exit 1 if any case was skipped (for GPU checks)")
    return p


def _fmt(x: float) -> str:
    return f"{x:.3e}" if x != float("inf") else "inf"


def _select(cases: list, pattern: str | None) -> list:
    if not pattern:
        return cases
    return [c for c in cases if fnmatch.fnmatch(c.name, pattern) or pattern in c.name]


def _rows(results: list[CaseResult], random_n: int) -> list[tuple[str, ...]]:
    """Table rows: built-in cases one by one; random ones aggregated plus each failure; skips condensed."""
    rows: list[tuple[str, ...]] = []
    skipped: dict[tuple[str, str], int] = {}
    random_groups: dict[tuple[str, str], list[CaseResult]] = {}
    for r in results:
        if r.status == "skip" and r.case.startswith("random["):
            rows.append((r.case, r.device, r.dtype, "-", "-", "-", "SKIP"))
        elif r.status == "skip":
            skipped[(r.device, r.dtype)] = skipped.get((r.device, r.dtype), 0) + 1
        elif r.case.startswith("random#"):
            random_groups.setdefault((r.device, r.dtype), []).append(r)
            if r.status == "fail":
                rows.append((r.case, r.device, r.dtype, _fmt(r.max_abs), _fmt(r.max_rel), str(r.checks), "FAIL"))
        else:
            rows.append(
                (r.case, r.device, r.dtype, _fmt(r.max_abs), _fmt(r.max_rel), str(r.checks), "ok" if r.ok else "FAIL")
            )
    for (device, dtype), group in random_groups.items():
        failed = sum(1 for r in group if r.status == "fail")
        rows.append(
            (
                f"random[{len(group)}]",
                device,
                dtype,
                _fmt(max(r.max_abs for r in group)),
                _fmt(max(r.max_rel for r in group)),
                str(sum(r.checks for r in group)),
                "ok" if not failed else f"FAIL({failed})",
            )
        )
    for (device, dtype), count in skipped.items():
        rows.append((f"({count} cases)", device, dtype, "-", "-", "-", "SKIP"))
    return rows


def print_table(results: list[CaseResult], out: TextIO, random_n: int = 0, verbose: bool = False) -> None:
    """The human-readable report: the table, failure details, skip reasons and a summary."""
    header = ("case", "device", "dtype", "max abs err", "max rel err", "checks", "ok")
    rows = _rows(results, random_n)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)), file=out)
    for r in results:
        if r.status == "fail" or (verbose and r.status == "pass"):
            print(f"\n{r.case} [{r.device} {r.dtype}] {r.status.upper()}", file=out)
            if r.status == "fail":
                print("  " + r.failure_summary().replace("\n", "\n  "), file=out)
            print("  scenario:\n    " + r.scenario_text.replace("\n", "\n    "), file=out)
            if verbose:
                for s in r.steps:
                    print(
                        f"    step {s.index:2d} {'ok ' if s.ok else 'BAD'} abs {_fmt(s.max_abs)} "
                        f"rel {_fmt(s.max_rel)}  {s.step}",
                        file=out,
                    )
    reasons = sorted({r.skip_reason for r in results if r.status == "skip"})
    for reason in reasons:
        print(f"\nskipped: {reason}", file=out)
    print("\n" + summary_line(results), file=out)


def summary(results: list[CaseResult]) -> dict[str, Any]:
    """Counts and worst errors over all results."""
    ran = [r for r in results if r.status != "skip"]
    return {
        "cases": len(results),
        "passed": sum(r.status == "pass" for r in results),
        "failed": sum(r.status == "fail" for r in results),
        "skipped": sum(r.status == "skip" for r in results),
        "checks": sum(r.checks for r in ran),
        "max_abs_err": max((r.max_abs for r in ran), default=0.0),
        "max_rel_err": max((r.max_rel for r in ran), default=0.0),
    }


def summary_line(results: list[CaseResult]) -> str:
    """One line: verdict, counts and worst errors."""
    s = summary(results)
    verdict = "MISMATCH" if s["failed"] else "all agree"
    return (
        f"{verdict}: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped; {s['checks']} checks; "
        f"max abs err {_fmt(s['max_abs_err'])}, max rel err {_fmt(s['max_rel_err'])}"
    )


def report(
    results: list[CaseResult], devices: Sequence[str], dtypes: Sequence[str], random_n: int, seed: int | None
) -> dict[str, Any]:
    """The JSON report."""
    from pyftorch.runtime import library_info

    s = summary(results)
    for key in ("max_abs_err", "max_rel_err"):
        s[key] = s[key] if s[key] != float("inf") else None
    return {
        "library": library_info(),
        "devices": list(devices),
        "dtypes": list(dtypes),
        "tolerances": {k: {"rtol": t.rtol, "atol": t.atol} for k, t in TOLERANCES.items()},
        "random": {"n": random_n, "seed": seed} if random_n else None,
        "summary": s,
        "ok": s["failed"] == 0,
        "cases": [r.to_dict(steps=not r.case.startswith("random#") or r.status == "fail") for r in results],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pyftorch crosscheck``; returns the exit status."""
    args = _parser().parse_args(list(argv) if argv is not None else None)
    from pyftorch.crosscheck.suite import builtin_suite

    cases = _select(builtin_suite(), args.pattern)
    if args.list:
        width = max((len(case.name) for case in cases), default=0)
        for case in cases:
            print(f"{case.name:{width}s}  {case.description}")
        return EXIT_OK
    if args.random < 0:
        print("pyftorch crosscheck: --random needs N >= 0", file=sys.stderr)
        return EXIT_USAGE
    if args.pattern and not cases and not args.random:
        print(f"pyftorch crosscheck: no built-in case matches {args.pattern!r} (see --list)", file=sys.stderr)
        return EXIT_USAGE
    devices = list(DEVICES) if args.device == "all" else [args.device]
    dtypes = list(DTYPES) if args.dtype == "all" else [args.dtype]

    from pyftorch.errors import LibraryLoadError

    try:
        import pyftorch.core  # noqa: F401 -- load the library now, with a clear error if it cannot be
    except LibraryLoadError as exc:
        print(f"pyftorch crosscheck: {exc}", file=sys.stderr)
        return EXIT_MISMATCH

    results: list[CaseResult] = [] if args.no_builtin else run_suite(cases, devices, dtypes)
    seed = None
    if args.random:
        try:
            from pyftorch.crosscheck.generate import new_seed, run_random
        except ImportError as exc:
            print(f"pyftorch crosscheck: --random needs hypothesis (pip install hypothesis): {exc}", file=sys.stderr)
            return EXIT_USAGE
        seed = args.seed if args.seed is not None else new_seed()
        note = (
            f"random: {args.random} scenarios, seed {seed} "
            f"(reproduce: pyftorch crosscheck --random {args.random} --seed {seed})"
        )
        print(note, file=sys.stderr if args.json else sys.stdout, flush=True)
        results += run_random(args.random, seed, devices, dtypes)

    if args.json:
        json.dump(report(results, devices, dtypes, args.random, seed), sys.stdout, indent=2)
        print()
    else:
        print_table(results, sys.stdout, args.random, args.verbose)
        if seed is not None:
            print(f"random seed: {seed}")
    failed = any(r.status == "fail" for r in results)
    skipped = any(r.status == "skip" for r in results)
    if failed or (args.fail_on_skip and skipped):
        return EXIT_MISMATCH
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
