"""``pyftorch lint``: command-line front end.  :func:`main` returns the exit code and never
raises: 0 clean, 1 findings (parse errors included), 2 usage or configuration error."""

from __future__ import annotations

import argparse
import difflib
import os
import sys

from . import __version__
from .config import DEFAULT_EXCLUDE, FORMATS, ConfigError, load

EXAMPLES = """\
examples:
  pyftorch lint                         lint every Fortran file under the current directory
  pyftorch lint src --select FT0        only the import rules
  pyftorch lint --ignore scalar-operand --output-format github
  pyftorch lint --fix src/model.f90     apply the fixes of FT001 and FT004
  pyftorch lint --explain FT002

configuration: [tool.pyftorch.lint] in pyproject.toml or [pyftorch.lint] in setup.cfg
suppression:   `! noqa`, `! noqa: FT002, FT003` on a line of the statement;
               `! pyftorch: noqa` anywhere in a file
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Usage(message)


class _Usage(Exception):
    pass


def build_parser():
    p = _Parser(
        prog="pyftorch lint",
        description="Check Fortran code that uses ftorch.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", help="files or directories (default: .)")
    p.add_argument("--output-format", choices=FORMATS, help="output format (default: concise)")
    p.add_argument(
        "--select", action="append", help="comma-separated codes, names or prefixes to enable (replaces config)"
    )
    p.add_argument("--extend-select", action="append", help="codes, names or prefixes to enable in addition")
    p.add_argument("--ignore", action="append", help="codes, names or prefixes to disable")
    p.add_argument("--exclude", action="append", help="comma-separated gitignore-style patterns (replace the defaults)")
    p.add_argument("--extend-exclude", action="append", help="patterns to exclude in addition")
    p.add_argument("--fix", action="store_true", help="apply fixes in place, then report what remains")
    p.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    p.add_argument("--statistics", action="store_true", help="print counts per rule instead of findings")
    p.add_argument("--explain", metavar="CODE", help="print the documentation of a rule and exit")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    p.add_argument("--cache-dir", help="cache directory (default: <project root>/.pyftorch_cache)")
    p.add_argument("--jobs", "-j", type=int, help="worker processes for parsing (default: CPU count)")
    p.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="cpp define used when a file needs preprocessing",
    )
    p.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="include directory for cpp and Fortran include",
    )
    cpp = p.add_mutually_exclusive_group()
    cpp.add_argument(
        "--cpp",
        dest="cpp",
        action="store_const",
        const=True,
        default=None,
        help="run the C preprocessor on every file (default: like gfortran, on .F90/.F/.fpp... "
        "and on files with # directives)",
    )
    cpp.add_argument(
        "--no-cpp",
        dest="cpp",
        action="store_const",
        const=False,
        help="never run the C preprocessor (directives are parsed, both branches)",
    )
    p.add_argument(
        "--max-file-size",
        metavar="SIZE",
        help="files larger than this are reported (FT900), not parsed: bytes, or with a K/M/G suffix (default: 4M)",
    )
    p.add_argument("--config", help="path to a pyproject.toml, setup.cfg or standalone TOML file")
    p.add_argument("--no-respect-gitignore", action="store_true", help="lint files that .gitignore excludes")
    p.add_argument("--version", action="version", version=f"pyftorch lint {__version__}")
    return p


def _split(v):
    if not v:
        return []
    if isinstance(v, str):
        v = [v]
    return [x.strip() for item in v for x in item.split(",") if x.strip()]


def _resolve(selectors, what):
    from .rules import resolve

    out = set()
    for s in selectors:
        hit = resolve(s)
        if not hit:
            raise _Usage(f"unknown rule selector in {what}: `{s}`")
        out.update(r.code for r in hit)
    return out


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except _Usage as exc:
        print(f"pyftorch lint: error: {exc}", file=sys.stderr)
        print("Run `pyftorch lint --help` for usage.", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"pyftorch lint: configuration error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse --help / --version
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except KeyboardInterrupt:
        return 2
    except BaseException as exc:  # noqa: BLE001 -- never a traceback: exit 2 with the cause
        print(f"pyftorch lint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _explain(code):
    from .rules import all_rules

    for r in all_rules():
        if r.code == code.upper() or r.name == code.lower():
            fix = "fixable" if r.fixable else "not fixable"
            print(f"# {r.code} ({r.name})\n\nDefault severity: {r.severity}; {fix}.\n\n{r.doc()}")
            return 0
    raise _Usage(f"unknown rule `{code}` (see the rules table in preprocess/README.md)")


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.explain:
        return _explain(args.explain)
    if args.jobs is not None and args.jobs < 1:
        raise _Usage("--jobs must be at least 1")
    if args.fix and args.diff:
        raise _Usage("--fix and --diff cannot be used together")
    cfg = load(args.config)
    from .rules import all_rules

    all_codes = {r.code for r in all_rules()}
    select = _resolve(_split(args.select) or cfg.get("select") or ["ALL"], "select")
    select |= _resolve(cfg.get("extend-select", []) + _split(args.extend_select), "extend-select")
    ignore = _resolve(cfg.get("ignore", []) + cfg.get("extend-ignore", []) + _split(args.ignore), "ignore")
    selected = frozenset((select & all_codes) - ignore)
    excludes = _split(args.exclude) or cfg.get("exclude") or list(DEFAULT_EXCLUDE)
    excludes = list(excludes) + cfg.get("extend-exclude", []) + _split(args.extend_exclude)
    respect = cfg.get("respect-gitignore", True) and not args.no_respect_gitignore
    paths = args.paths or ["."]
    from .discovery import discover
    from .engine import run
    from .runner import Settings

    files, missing = discover(paths, cfg.root, excludes, respect)
    if missing:
        for m in missing:
            print(f"pyftorch lint: error: no such file or directory: {m}", file=sys.stderr)
        return 2
    include_dirs = [os.path.join(cfg.root, d) if not os.path.isabs(d) else d for d in cfg.get("include-dirs", [])]
    from .config import parse_size

    max_size = cfg.get("max-file-size")
    if args.max_file_size is not None:
        try:
            max_size = parse_size(args.max_file_size)
        except ValueError as exc:
            raise _Usage(f"--max-file-size: {exc}") from None
    settings = Settings(
        select=selected,
        defines=tuple(cfg.get("defines", []) + args.defines),
        include_dirs=tuple(include_dirs + [os.path.abspath(d) for d in args.include_dirs]),
        reexport_modules=tuple(m.lower() for m in cfg.get("reexport-modules", [])),
        cpp=args.cpp if args.cpp is not None else cfg.get("cpp"),
    )
    if max_size is not None:
        settings.max_file_size = max_size
    cache_dir = None
    if not args.no_cache:
        cd = args.cache_dir or cfg.get("cache-dir") or ".pyftorch_cache"
        cache_dir = cd if os.path.isabs(cd) else os.path.join(cfg.root, cd)
    fmt = args.output_format or cfg.get("output-format") or "concise"
    progress = sys.stderr.isatty()

    result = run(files, settings, cache_dir, args.jobs, progress)
    _report_skipped(result)
    if args.diff:
        return _diff(result)
    if args.fix:
        fixed_total = 0
        for _ in range(5):
            n = _apply_fixes(result.diagnostics)
            if not n:
                break
            fixed_total += n
            result = run(files, settings, cache_dir, args.jobs, progress)
        if fixed_total:
            print(f"Fixed {fixed_total} error{'s' if fixed_total != 1 else ''}.", file=sys.stderr)
    diags = result.diagnostics
    _emit(diags, fmt, args.statistics)
    if args.exit_zero:
        return 0
    return 1 if diags else 0


def _report_skipped(result):
    """Paths that are not regular files are skipped, like ruff does: a warning on stderr,
    no finding, no effect on the exit code."""
    for disp, reason in result.skipped:
        print(f"pyftorch lint: warning: skipped {disp}: {reason}, not a regular file", file=sys.stderr)


def _emit(diags, fmt, stats):
    from . import reporters
    from .rules import all_rules

    if stats:
        sys.stdout.write(reporters.statistics(diags))
        return
    if fmt == "concise":
        out = reporters.concise(diags)
    elif fmt == "full":
        cache = {}

        def read_lines(path):
            if path not in cache:
                try:
                    with open(path, "rb") as fh:
                        from .source import decode

                        cache[path] = decode(fh.read()).split("\n")
                except OSError:
                    cache[path] = []
            return cache[path]

        out = reporters.full(diags, read_lines)
    elif fmt == "json":
        out = reporters.as_json(diags)
    elif fmt == "sarif":
        out = reporters.sarif(diags, all_rules())
    else:
        out = reporters.github(diags)
    sys.stdout.write(out)
    sys.stdout.flush()


def _choose_fixes(diags):
    """Group fixes by file, keeping only fixes whose edits do not overlap."""
    by_file = {}
    for d in diags:
        if d.fix is None:
            continue
        chosen = by_file.setdefault(d.path, [])
        spans = [((e.line, e.column), (e.end_line, e.end_column)) for e in d.fix.edits]
        clash = any(
            not (b2 <= a1 or b1 <= a2)
            for f in chosen
            for e in f.edits
            for (a1, b1) in [((e.line, e.column), (e.end_line, e.end_column))]
            for (a2, b2) in spans
        )
        if not clash:
            chosen.append(d.fix)
    return by_file


def _fixed_text(path, fixes):
    from .fixes import apply_edits
    from .source import decode

    with open(path, "rb") as fh:
        data = fh.read()
    text = decode(data)
    new = apply_edits(text, [e for f in fixes for e in f.edits])
    return data, text, new


def _encode(new, data):
    from .source import encode_like

    return encode_like(new, data)


def _apply_fixes(diags) -> int:
    n = 0
    for path, fixes in _choose_fixes(diags).items():
        try:
            data, text, new = _fixed_text(path, fixes)
        except OSError:
            continue
        if new != text:
            with open(path, "wb") as fh:
                fh.write(_encode(new, data))
            n += len(fixes)
    return n


def _diff(result) -> int:
    changed = 0
    nfix = 0
    for path, fixes in sorted(_choose_fixes(result.diagnostics).items()):
        try:
            _data, text, new = _fixed_text(path, fixes)
        except OSError:
            continue
        if new == text:
            continue
        changed += 1
        nfix += len(fixes)
        sys.stdout.writelines(
            difflib.unified_diff(
                text.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
            )
        )
    if nfix:
        print(f"Would fix {nfix} error{'s' if nfix != 1 else ''}.", file=sys.stderr)
    return 1 if changed else 0
