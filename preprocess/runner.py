"""Linting one file: load, parse (with the cpp retry), run the rules, map lines, noqa."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field

from .diagnostics import Diagnostic
from .lexer import lex
from .source import DEFAULT_MAX_FILE_SIZE, decode, is_fixed_form, neutralise, run_cpp, wants_cpp

_NOQA = re.compile(r"\bnoqa\b(?:\s*:\s*(?P<codes>[A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*))?", re.I)
_FILE_NOQA = re.compile(
    r"^!\s*pyftorch\s*:\s*noqa\b(?:\s*:\s*(?P<codes>[A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*))?", re.I
)


@dataclass
class Settings:
    select: frozenset = frozenset()
    defines: tuple = ()
    include_dirs: tuple = ()
    reexport_modules: tuple = ()
    fixed_form: bool | None = None  # None: from the extension
    cpp: bool | None = None  # None: like gfortran (see source.wants_cpp); True/False: --cpp/--no-cpp
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE

    def key(self) -> str:
        return repr(
            (
                sorted(self.select),
                self.defines,
                self.include_dirs,
                sorted(self.reexport_modules),
                self.cpp,
                self.max_file_size,
            )
        )


@dataclass
class Noqa:
    file_all: bool = False
    file_codes: set = field(default_factory=set)
    lines: dict = field(default_factory=dict)  # line -> None (all) or set of codes/names


def noqa_of(comments: dict) -> Noqa:
    nq = Noqa()
    for line, text in comments.items():
        body = text.lstrip()
        fm = _FILE_NOQA.match(body)
        if fm:
            if fm.group("codes"):
                nq.file_codes.update(c.strip().upper() for c in fm.group("codes").split(","))
            else:
                nq.file_all = True
            continue
        m = _NOQA.search(body)
        if m:
            if m.group("codes"):
                nq.lines.setdefault(line, set())
                if nq.lines[line] is not None:
                    nq.lines[line].update(c.strip().upper() for c in m.group("codes").split(","))
            else:
                nq.lines[line] = None
    return nq


def suppressed(d: Diagnostic, nq: Noqa) -> bool:
    if nq.file_all:
        return True
    keys = {d.code.upper(), d.name.upper()}
    if keys & nq.file_codes:
        return True
    if d.code == "FT900":
        return False
    lo, hi = d.noqa_lines or (d.line, d.end_line)
    for ln in range(lo, hi + 1):
        if ln in nq.lines:
            codes = nq.lines[ln]
            if codes is None or keys & codes:
                return True
    return False


def lint_text(path: str, display: str, data: bytes, settings: Settings, exports: dict):
    """Lint one file's bytes; returns (diagnostics, parsed?).  Never raises.

    Everything (parse and rules) runs on a thread with a large stack and a raised recursion
    limit, so the depth of an expression never decides whether a file can be checked."""
    from .parsing import run_big_stack

    try:
        return run_big_stack(_lint_text, path, display, data, settings, exports)
    except RecursionError:
        return [_internal(display, RecursionError("nesting too deep"))], False
    except Exception as exc:  # noqa: BLE001 - last resort: report, never propagate
        return [_internal(display, exc)], False


def _relex(lexed, text, changed, fixed):
    """The lexer's view of ``text`` (a reduction of the text ``lexed`` came from): only the
    statements the reduction changed are lexed again."""
    stmts, comments, amps = lexed
    if not changed:
        return lexed
    lines = text.split("\n")
    dirty = set()
    for a, b in changed:
        dirty.update(range(a, b + 1))
    s2, c2, a2 = lex([ln if i in dirty else "" for i, ln in enumerate(lines, 1)], fixed=fixed)
    merged = [st for st in stmts if st.first_line not in dirty] + s2
    merged.sort(
        key=lambda st: (st.first_line, st.tokens[0].line if st.tokens else 0, st.tokens[0].col if st.tokens else 0)
    )
    return (
        merged,
        {**{k: v for k, v in comments.items() if k not in dirty}, **c2},
        {**{k: v for k, v in amps.items() if k not in dirty}, **a2},
    )


def _attempt(text, fixed, settings, path, modules, lexed=None):
    """Reduce and parse ``text``; return (tree, parsed text, failure, lexer view of it)."""
    from .parsing import ParseFailure, parse_text
    from .reduce import classify, ftorch_names, reduce_text

    if lexed is None:
        lexed = lex(text, fixed=fixed)
    stmts = lexed[0]
    relevant, plain = classify(stmts, ftorch_names(stmts, modules))
    red = reduce_text(text, stmts, fixed, relevant, plain)
    try:
        tree = parse_text(red.text, fixed, list(settings.include_dirs), path)
        return tree, red.text, None, _relex(lexed, red.text, red.changed, fixed)
    except ParseFailure as exc:
        failure = exc
    except BaseException as exc:  # noqa: BLE001 - defensive: never let a parser problem escape
        failure = ParseFailure(None, f"{type(exc).__name__}: {exc}"[:200], "internal")
    if red.any and (failure.line is None or any(a <= failure.line <= b for a, b in red.changed)):
        # the reduction should never make valid code invalid; if it did, parse the original
        try:
            return parse_text(text, fixed, list(settings.include_dirs), path), text, None, lexed
        except ParseFailure:
            pass
        except BaseException:  # noqa: BLE001 - the linter reports, it never raises
            pass
    return None, red.text, failure, _relex(lexed, red.text, red.changed, fixed)


def _lint_text(path, display, data, settings, exports):
    from . import ftorch_api as api
    from . import rules as rules_mod
    from .parsing import ParseFailure

    original = decode(data)
    fixed = is_fixed_form(path, original) if settings.fixed_form is None else settings.fixed_form
    text = neutralise(original)
    own_lexed = lex(text, fixed=fixed)
    stmts, own_comments, _amps = own_lexed
    modules = set(api.ALIASES) | set(exports) | set(settings.reexport_modules)
    rules = [r for r in rules_mod.all_rules() if r.code in settings.select]
    diags: list[Diagnostic] = []
    tree, line_map, parsed_text, failure, parsed_lexed = None, None, text, None, own_lexed
    cpp_state = None  # None: not run; "ok"; "failed"; "as-is" (cpp ran, but only the raw text parsed)
    cpp_text = None
    if wants_cpp(path, text, settings.cpp):
        try:
            cpp_text, lmap = run_cpp(text, path, list(settings.defines), list(settings.include_dirs))
        except RuntimeError:
            cpp_state = "failed"
        else:
            cpp_state = "ok"
            cpp_text = neutralise(cpp_text)
            tree, reduced, failure, parsed_lexed = _attempt(cpp_text, fixed, settings, path, modules)
            line_map, parsed_text = lmap, reduced
            if failure is not None and failure.line is not None:
                mapped = lmap.map(failure.line)
                failure = ParseFailure(mapped[1] if mapped[0] is not None else None, failure.excerpt, failure.kind)
    if tree is None:
        tree2, reduced, failure2, lexed2 = _attempt(text, fixed, settings, path, modules, own_lexed)
        if tree2 is not None or failure is None:
            tree, failure, line_map, parsed_text, parsed_lexed = tree2, failure2, None, reduced, lexed2
            if tree2 is not None and cpp_state is not None:
                cpp_state = "as-is"
    from .analysis import FileContext

    try:
        ctx = FileContext(path, display, parsed_text, fixed, tree, exports, settings, line_map, original, parsed_lexed)
        ctx.cpp_state = cpp_state
        ctx.cpp_text = cpp_text if line_map is not None else None
        ctx.original_stmts = stmts
    except BaseException as exc:  # noqa: BLE001 - the linter reports, it never raises
        ctx = None
        diags.append(_internal(display, exc))
    if tree is None:
        fail = failure or ParseFailure(None, "", "internal")
        if "FT900" in settings.select:
            diags.append(_parse_diag(display, text, fail))
        if ctx is not None:
            for r in rules:
                if r.line_based:
                    diags.extend(_safe(r, ctx, display))
    elif ctx is not None:
        for r in rules:
            diags.extend(_safe(r, ctx, display))
    if line_map is not None:
        diags = _map_lines(diags, display, line_map, parsed_text, original)
    # suppression comments from the original text (and included files)
    comments = {display: own_comments}
    if ctx is not None:
        for src in ctx.sources.values():
            comments[src.path] = src.comments
    noqas = {p: noqa_of(c) for p, c in comments.items()}
    out = [d for d in diags if not suppressed(d, noqas.get(d.path, Noqa()))]
    seen, uniq = set(), []
    for d in sorted(out, key=Diagnostic.sort_key):
        k = (d.path, d.line, d.column, d.code, d.message)
        if k not in seen:
            seen.add(k)
            uniq.append(d)
    return uniq, tree is not None


def _safe(rule, ctx, display):
    try:
        return list(rule.check(ctx))
    except RecursionError:
        return [_internal(display, RecursionError(f"{rule.code}: nesting too deep"))]
    except Exception as exc:  # noqa: BLE001 - the linter reports, it never raises
        return [_internal(display, exc, rule.code)]


def _internal(display, exc, code=""):
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].name}:{tb[-1].lineno}" if tb else ""
    return Diagnostic(
        "FT900",
        "parse-error",
        f"internal error while checking{(' ' + code) if code else ''}: "
        f"{type(exc).__name__}: {exc}{where} (please report)"[:300],
        "error",
        display,
        1,
        1,
        1,
        1,
    )


def _parse_diag(display, text, fail):
    lines = text.split("\n")
    line = fail.line if fail.line and 1 <= fail.line <= max(len(lines), 1) else 1
    raw = lines[line - 1] if line - 1 < len(lines) else ""
    col = len(raw) - len(raw.lstrip()) + 1
    excerpt = fail.excerpt or raw.strip()
    if fail.kind == "recursion":
        msg = "fparser could not parse this file: expression or nesting too deep"
    elif fail.kind == "internal" and not fail.line:
        msg = f"fparser could not parse this file ({excerpt})" if excerpt else "fparser could not parse this file"
    else:
        msg = f"fparser could not parse this statement: `{excerpt}`" if excerpt else "fparser could not parse this file"
    end_col = max(len(raw) + 1, col)
    return Diagnostic("FT900", "parse-error", msg, "error", display, line, col, line, end_col, None, (line, line))


def _map_lines(diags, display, lmap, parsed_text, original):
    """Map diagnostics on the preprocessed text back to the original lines.

    A line that cpp left as it was keeps its columns and its fix (edits are moved to the
    original line numbers).  On a line that cpp changed (a macro expanded) the columns of
    the expansion mean nothing in the file, so the finding covers the written statement
    and has no fix."""
    from dataclasses import replace

    from .diagnostics import Fix

    parsed_lines = parsed_text.split("\n")
    orig_lines = original.split("\n")

    def same(ln):
        """Original line number of parsed line ``ln`` if cpp left it unchanged, else None."""
        f, ol = lmap.map(ln)
        if f is None or not (f == display or display.endswith(f) or f.endswith(display)):
            return None
        pl = parsed_lines[ln - 1] if 0 < ln <= len(parsed_lines) else None
        if not (0 < ol <= len(orig_lines)) or orig_lines[ol - 1] != pl:
            return None
        return ol

    out = []
    for d in diags:
        if d.path != display:
            out.append(d)
            continue
        f1, l1 = lmap.map(d.line)
        f2, l2 = lmap.map(d.end_line)
        if f1 is not None and f1 != display and not display.endswith(f1) and not f1.endswith(display):
            continue
        if f1 is None:
            l1 = d.line
        if f2 is None or f2 != f1:
            l2 = l1 + (d.end_line - d.line)
        fix = d.fix
        if fix is not None:
            edits = []
            for e in fix.edits:
                lines = [same(ln) for ln in range(e.line, e.end_line + 1)]
                if any(x is None for x in lines) or lines != list(range(lines[0], lines[0] + len(lines))):
                    edits = None
                    break
                edits.append(replace(e, line=lines[0], end_line=lines[-1]))
            fix = Fix(fix.message, tuple(edits), fix.applicability) if edits else None
        col, end_col = d.column, d.end_column
        if any(same(ln) is None for ln in range(d.line, d.end_line + 1)) and 0 < l1 <= len(orig_lines):
            raw = orig_lines[l1 - 1]
            col = len(raw) - len(raw.lstrip()) + 1
            l2 = l1
            end_col = max(len(raw.rstrip()) + 1, col)
        nl = d.noqa_lines
        if nl:
            nl = (lmap.map(nl[0])[1] or l1, lmap.map(nl[1])[1] or l2)
        d.line, d.end_line, d.fix, d.noqa_lines = l1, max(l2, l1), fix, nl
        d.column, d.end_column = col, end_col
        out.append(d)
    return out
