"""The ``pyftorch`` command line.

Each sub-command lives in its own module and is imported only when it runs, so
``pyftorch lint`` never loads torch and ``pyftorch config`` starts instantly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

USAGE = """\
usage: pyftorch <command> [options]

commands:
  lint        check Fortran code that uses ftorch (see `pyftorch lint --help`)
  crosscheck  run library results side by side with PyTorch autograd
  config      print compiler and linker flags for Fortran builds
  bench       run the operator and training-step benchmarks
  demo        run the main demonstration (online training example)

Run `pyftorch <command> --help` for the options of one command.
`pyftorch --version` prints the version of pyftorch (and of the library it finds).
"""


def _lint(argv: Sequence[str]) -> int:
    from preprocess.cli import main as lint_main

    return lint_main(list(argv))


def _crosscheck(argv: Sequence[str]) -> int:
    from pyftorch.crosscheck.cli import main as crosscheck_main

    return crosscheck_main(list(argv))


def _config(argv: Sequence[str]) -> int:
    from pyftorch.config import main as config_main

    return config_main(list(argv))


def _bench(argv: Sequence[str]) -> int:
    from pyftorch.bench import main as bench_main

    return bench_main(list(argv))


def _demo(argv: Sequence[str]) -> int:
    from pyftorch.demo import main as demo_main

    return demo_main(list(argv))


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "lint": _lint,
    "crosscheck": _crosscheck,
    "config": _config,
    "bench": _bench,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--version":
        from pyftorch.config import version_line

        print(version_line())
        return 0
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"pyftorch: unknown command {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    try:
        return command(args[1:])
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
