#!/usr/bin/env python3
"""Generate ``preprocess/ftorch_api_table.py``: the public names of every Fortran module of ftorch.

The linter (``pyftorch lint``) must know exactly what ``use ftorch`` (and each of FTorch's
per-concern modules) provides, yet it has to work in a lint-only install without the
native sources or fypp.  So the table is generated from ``fsrc/fortran`` (the fypp templates
expanded first) and checked in; ``tests/python/test_api_table.py`` regenerates it and fails
on any difference, so a public name added, removed or renamed in the Fortran sources cannot
go unnoticed by the linter.

Each module must be ``private`` by default; its public names are those listed in
``public ::`` statements and declared with the ``public`` attribute.

Usage: gen_api_table.py [--check] [OUTPUT]   (default OUTPUT: preprocess/ftorch_api_table.py)
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORTRAN = REPO / "fsrc" / "fortran"
OUTPUT = REPO / "preprocess" / "ftorch_api_table.py"


class SourceError(ValueError):
    """A module is not in the form this generator reads."""


def expand(path: Path) -> str:
    """The Fortran text of a source file (fypp templates expanded)."""
    if path.suffix != ".fypp":
        return path.read_text()
    import fypp  # a dev dependency (requirements-dev.txt); the checked-in table needs none

    tool = fypp.Fypp(fypp.FyppOptions())
    return tool.process_text(path.read_text())


def logical_lines(text: str) -> list[str]:
    """Free-form statements: comments stripped, continuations joined, split at `;`."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        stripped = line.lstrip()
        if cur and stripped.startswith("&"):
            stripped = stripped[1:]
        if stripped.endswith("&"):
            cur += stripped[:-1] + " "
            continue
        cur += stripped
        if cur.strip():
            out.extend(s.strip() for s in cur.split(";") if s.strip())
        cur = ""
    return out


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "!":
            return line[:i]
    return line


def _split_top(text: str) -> list[str]:
    """Split at commas outside parentheses and brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _norm_spec(item: str) -> str:
    m = re.fullmatch(r"(operator|assignment)\s*\(\s*(\S+?)\s*\)", item, flags=re.I)
    return f"{m.group(1).lower()}({m.group(2)})" if m else item


def public_names(text: str) -> dict[str, dict[str, str]]:
    """module name -> {public name (source spelling): kind} for every module in ``text``.

    kind is one of "type", "constant", "generic" (operator/assignment), "procedure"."""
    modules: dict[str, dict[str, str]] = {}
    name = None
    depth = 0  # nesting of program units inside the module (contains ...)
    private_default = False
    public: list[str] = []
    kinds: dict[str, str] = {}
    for st in logical_lines(text):
        low = st.lower()
        m = re.match(r"module\s+(\w+)\s*$", low)
        if m and name is None and not low.startswith("module procedure"):
            name, public, kinds, private_default = re.match(r"module\s+(\w+)", st, re.I).group(1), [], {}, False
            continue
        if name is None:
            continue
        if re.match(r"end\s+module\b", low) or (low == "end" and depth == 0):
            if not private_default:
                raise SourceError(f"module {name} is not private by default")
            modules[name.lower()] = {n: _kind(n, kinds) for n in public}
            name = None
            continue
        if re.match(
            r"(pure\s+|impure\s+|elemental\s+|recursive\s+|module\s+)*"
            r"(subroutine|((integer|real|logical|character|type|class)\b.*?\s)?function)\s+\w+",
            low,
        ) and not low.startswith("module procedure"):
            m = re.search(r"(subroutine|function)\s+(\w+)", st, re.I)
            kinds.setdefault(m.group(2).lower(), "procedure")
            depth += 1
            continue
        if re.match(r"end\s*(subroutine|function)\b", low):
            depth -= 1
            continue
        if depth:
            continue
        if low == "private":
            private_default = True
            continue
        m = re.match(r"public\s*(::)?\s*(.*)$", st, re.I)
        if m and m.group(2):
            public += [_norm_spec(p) for p in _split_top(m.group(2))]
            continue
        m = re.match(r"type\s*(,[^:]*)?::\s*(\w+)\s*$", st, re.I)
        if m:
            kinds[m.group(2).lower()] = "type"
            if m.group(1) and re.search(r"\bpublic\b", m.group(1), re.I):
                public.append(m.group(2))
            continue
        m = re.match(r"interface\s+(\w+)\s*$", st, re.I)
        if m:
            kinds.setdefault(m.group(1).lower(), "procedure")
            continue
        m = re.match(r"(integer|real|logical|character|type|complex)\b(.*?)::(.*)$", st, re.I)
        if m:
            attrs = m.group(2)
            entities = [re.match(r"\s*(\w+)", e).group(1) for e in _split_top(m.group(3))]
            for e in entities:
                kinds[e.lower()] = "constant" if re.search(r"\bparameter\b", attrs, re.I) else "variable"
            if re.search(r"\bpublic\b", attrs, re.I):
                public += entities
            continue
        m = re.match(r"use\b.*?\bonly\s*:(.*)$", st, re.I)
        if m:
            for item in _split_top(m.group(1)):
                local = item.split("=>")[0].strip()
                kinds.setdefault(local.lower(), "imported")
    if name is not None:
        raise SourceError(f"module {name} has no end")
    return modules


def _kind(name: str, kinds: dict[str, str]) -> str:
    if name.startswith(("operator(", "assignment(")):
        return "generic"
    return kinds.get(name.lower(), "imported")


def collect(fortran_dir: Path = FORTRAN) -> dict[str, dict[str, str]]:
    """Public names of every module in fsrc/fortran, imported names resolved to their kind."""
    modules: dict[str, dict[str, str]] = {}
    for path in sorted(fortran_dir.iterdir()):
        if path.suffix in (".f90", ".fypp"):
            modules.update(public_names(expand(path)))
    resolved: dict[str, dict[str, str]] = {}
    for mod, names in modules.items():
        resolved[mod] = {}
        for n, kind in names.items():
            if kind == "imported":  # re-exported: take the kind from the module that defines it
                kind = next((m[n] for m in modules.values() if n in m and m[n] != "imported"), "constant")
            resolved[mod][n] = kind
    return resolved


def render(modules: dict[str, dict[str, str]]) -> str:
    out = io.StringIO()
    out.write(
        '"""GENERATED by fsrc/tools/gen_api_table.py from fsrc/fortran: do not edit.\n\n'
        "The public names of each Fortran module of ftorch (source spelling) and their kind\n"
        "(type, constant, procedure, generic).  tests/python/test_api_table.py regenerates this\n"
        'file and fails on any difference; rerun the script after changing a module\'s public list.\n"""\n'
    )
    out.write("from __future__ import annotations\n\n")
    out.write("MODULES: dict[str, dict[str, str]] = {\n")
    for mod in sorted(modules):
        out.write(f"    {mod!r}: {{\n")
        for n in sorted(modules[mod], key=lambda s: (s.lower(), s)):
            out.write(f"        {n!r}: {modules[mod][n]!r},\n")
        out.write("    },\n")
    out.write("}\n")
    return out.getvalue()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    output = Path(args[0]) if args else OUTPUT
    try:
        text = render(collect())
    except SourceError as exc:
        print(f"gen_api_table.py: {exc}", file=sys.stderr)
        return 1
    if check:
        if not output.exists() or output.read_text() != text:
            print(f"{output} is out of date: run fsrc/tools/gen_api_table.py", file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
