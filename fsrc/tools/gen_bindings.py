#!/usr/bin/env python3
"""Generate the Fortran ``bind(c)`` module ``ftorch_cbind`` from the C headers.

``fsrc/include/ftorch.h`` is the single source of truth of the C ABI.  This script parses it
(and the configured ``ftorch_version.h``) and writes ``ftorch_cbind.f90``: one ``bind(c)``
interface per ``FT_API`` function, an ``integer(c_int)`` parameter per enumerator, a
``bind(c)`` derived type per ``typedef struct {...}``, and the integer and string
``FT_*`` macros.  CMake runs it at build time (like fypp), so a prototype added to the header
gets its Fortran interface on the next build, with no hand-written mirror.

The header must stay in the strict form the parser accepts (it fails loudly otherwise):
one ``FT_API <return type> <name>(<parameters>);`` per function, ``enum <tag> {...};``
with integer-literal, ``1u << n`` or earlier-enumerator values, handle types declared as
``typedef struct X *name;``.

How C parameter types become Fortran dummy arguments (the dummy names are the C names):

=============================  ======================================================
C parameter                    Fortran dummy
=============================  ======================================================
``int``, ``unsigned``          ``integer(c_int), value`` (Fortran has no unsigned)
``int64_t``, ``uint64_t``      ``integer(c_int64_t), value``
``int32_t``, ``size_t``        ``integer(c_int32_t)``, ``integer(c_size_t)``, by value
``float``, ``double``          ``real(c_float)``, ``real(c_double)``, by value
handle (``ft_tensor`` ...)     ``type(c_ptr), value``
``void *``                     ``type(c_ptr), value`` (an address)
``const T *`` (T scalar/handle) ``T, intent(in) :: x(*)`` (an input array)
``const S *`` (S a struct)     ``type(S), intent(in) :: x``
``T *`` / ``S *``              ``T, intent(out) :: x`` (one output value)
``FT_INOUT T *``               ``T, intent(inout) :: x`` (read and written)
``FT_ARRAY T *``               ``T, intent(out) :: x(*)``; with FT_INOUT: intent(inout)
``char *`` / ``const char *``  ``character(kind=c_char), intent(out|in) :: x(*)``
``T **`` / ``void **``         ``type(c_ptr), intent(out)`` (a pointer written back)
=============================  ======================================================

Return types: ``int`` -> ``integer(c_int)`` function, ``int64_t`` -> ``integer(c_int64_t)``,
``double`` -> ``real(c_double)``, any pointer -> ``type(c_ptr)``, ``void`` -> subroutine.

``FT_INOUT`` and ``FT_ARRAY`` are empty macros of ftorch.h: annotations where the C type
alone is ambiguous.

Usage: gen_bindings.py OUTPUT.f90 HEADER.h [MORE_HEADERS.h ...]
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ANNOTATIONS = ("FT_INOUT", "FT_ARRAY")
SCALARS = {
    "int": ("integer(c_int)", "c_int"),
    "unsigned": ("integer(c_int)", "c_int"),
    "int64_t": ("integer(c_int64_t)", "c_int64_t"),
    "uint64_t": ("integer(c_int64_t)", "c_int64_t"),
    "int32_t": ("integer(c_int32_t)", "c_int32_t"),
    "size_t": ("integer(c_size_t)", "c_size_t"),
    "float": ("real(c_float)", "c_float"),
    "double": ("real(c_double)", "c_double"),
}
#: struct field types
FIELDS = {name: SCALARS[name] for name in ("int", "int32_t", "int64_t", "size_t", "float", "double")}
LINE = 100
PROTOTYPE = re.compile(
    r"\bFT_API\b([^;{}()]*?)\b([A-Za-z_]\w*)\s*\(([^()]*)\)\s*;", flags=re.S
)  # generated lines are wrapped below gfortran's 132-column limit


_ISO_C = {kind for _, kind in SCALARS.values()} | {"c_char", "c_ptr"}


class HeaderError(ValueError):
    """The header is not in the strict form this generator parses."""


@dataclass
class Param:
    name: str
    base: str  # int, ft_tensor, ft_optim_options, void, char ...
    const: bool
    stars: int
    inout: bool = False
    array: bool = False


@dataclass
class Function:
    name: str
    ret: str  # "int", "void", "const char *" ...
    params: list[Param]


@dataclass
class Header:
    functions: list[Function] = field(default_factory=list)
    enums: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    structs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    handles: list[str] = field(default_factory=list)
    macros: dict[str, int | str] = field(default_factory=dict)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _eval_enum(expr: str, known: dict[str, int]) -> int:
    expr = re.sub(r"\b(\d+)[uU][lL]*\b", r"\1", expr.strip())
    tree = ast.parse(expr, mode="eval")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp):
            ops = {
                ast.LShift: lambda a, b: a << b,
                ast.BitOr: lambda a, b: a | b,
                ast.Add: lambda a, b: a + b,
                ast.Sub: lambda a, b: a - b,
            }
            if type(node.op) in ops:
                return ops[type(node.op)](ev(node.left), ev(node.right))
        raise HeaderError(f"unsupported enumerator value {expr!r}")

    return ev(tree)


def parse_param(text: str, func: str) -> Param:
    words = text.replace("*", " * ").split()
    if not words:
        raise HeaderError(f"{func}: empty parameter")
    inout = "FT_INOUT" in words
    array = "FT_ARRAY" in words
    words = [w for w in words if w not in ANNOTATIONS]
    const = words[0] == "const"
    if const:
        words = words[1:]
    if len(words) < 2 or words[-1] == "*" or not re.fullmatch(r"[A-Za-z_]\w*", words[-1]):
        raise HeaderError(f"{func}: parameter {text.strip()!r} needs a type and a name")
    name = words[-1]
    middle = words[1:-1]
    if any(w not in ("*", "const") for w in middle):
        raise HeaderError(f"{func}: parameter {text.strip()!r} is not of the form [const] TYPE [*...] NAME")
    return Param(name, words[0], const, middle.count("*"), inout, array)


def parse(texts: list[str]) -> Header:
    h = Header()
    for raw in texts:
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(FT_\w+)[ \t]+(\"[^\"\n]*\"|-?\d+)[ \t]*$", raw, flags=re.M):
            value = m.group(2)
            h.macros[m.group(1)] = value[1:-1] if value.startswith('"') else int(value)
        text = strip_comments(raw)
        text = re.sub(r"^[ \t]*#[^\n]*$", " ", text, flags=re.M)  # preprocessor lines
        known: dict[str, int] = {}
        for m in re.finditer(r"\benum\s+(\w+)\s*\{(.*?)\}\s*;", text, flags=re.S):
            items, nxt = [], 0
            for entry in m.group(2).split(","):
                entry = entry.strip()
                if not entry:
                    continue
                name, _, value = entry.partition("=")
                name = name.strip()
                nxt = _eval_enum(value, known) if value.strip() else nxt
                items.append((name, nxt))
                known[name] = nxt
                nxt += 1
            h.enums[m.group(1)] = items
        for m in re.finditer(r"typedef\s+struct\s+\w+\s*\*\s*(\w+)\s*;", text):
            h.handles.append(m.group(1))
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
            if m.group(1) != m.group(3):
                raise HeaderError(f"typedef struct {m.group(1)} {{...}} {m.group(3)}: tag and name must agree")
            fields = []
            for decl in m.group(2).split(";"):
                decl = " ".join(decl.split())
                if not decl:
                    continue
                ctype, _, names = decl.partition(" ")
                if ctype not in FIELDS:
                    raise HeaderError(f"struct {m.group(1)}: field type {ctype!r} is not supported")
                fields += [(n.strip(), ctype) for n in names.split(",")]
            h.structs[m.group(1)] = fields
        for m in PROTOTYPE.finditer(text):
            ret = " ".join(m.group(1).replace("*", " * ").split()).replace("* *", "**")
            params_text = " ".join(m.group(3).split())
            params = [] if params_text in ("", "void") else [parse_param(p, m.group(2)) for p in params_text.split(",")]
            h.functions.append(Function(m.group(2), ret, params))
        # every FT_API must have been parsed: count them
        n_api = len(re.findall(r"\bFT_API\b", text))  # preprocessor lines are already blanked
        n_parsed = len(PROTOTYPE.findall(text))
        if n_api > n_parsed:
            raise HeaderError(
                f"{n_api - n_parsed} FT_API declaration(s) are not of the form `FT_API type name(params);`"
            )
    names = [f.name for f in h.functions]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise HeaderError(f"functions declared twice: {sorted(dup)}")
    return h


def _dummy(p: Param, h: Header, func: str) -> tuple[str, set[str]]:
    """Declaration of one dummy argument, and the iso_c_binding names it needs."""
    structs = set(h.structs)
    if p.base in ("void", "char") or p.base in structs or p.base in SCALARS or p.base in h.handles:
        pass
    else:
        raise HeaderError(f"{func}: parameter {p.name} has unknown type {p.base!r}")
    if p.stars >= 2 or (p.stars == 2 and p.base == "void"):
        return f"type(c_ptr), intent(out) :: {p.name}", {"c_ptr"}
    if p.base == "void":
        if p.stars == 0:
            raise HeaderError(f"{func}: void parameter {p.name}")
        return f"type(c_ptr), value :: {p.name}", {"c_ptr"}
    if p.base == "char":
        if p.stars != 1:
            raise HeaderError(f"{func}: char parameter {p.name} must be a pointer")
        return f"character(kind=c_char), intent({'in' if p.const else 'out'}) :: {p.name}(*)", {"c_char"}
    if p.base in structs:
        ftype, need = f"type({p.base})", {p.base}
    elif p.base in h.handles:
        ftype, need = "type(c_ptr)", {"c_ptr"}
    else:
        ftype, kind = SCALARS[p.base]
        need = {kind}
    if p.stars == 0:
        if p.base in structs:
            raise HeaderError(f"{func}: struct {p.base} passed by value is not supported")
        if p.inout or p.array:
            raise HeaderError(f"{func}: FT_INOUT/FT_ARRAY on {p.name}, which is not a pointer")
        return f"{ftype}, value :: {p.name}", need
    if p.const:
        if p.inout:
            raise HeaderError(f"{func}: FT_INOUT on const parameter {p.name}")
        dims = "" if p.base in structs else "(*)"
        return f"{ftype}, intent(in) :: {p.name}{dims}", need
    intent = "inout" if p.inout else "out"
    return f"{ftype}, intent({intent}) :: {p.name}{'(*)' if p.array else ''}", need


def _result(ret: str, func: str) -> tuple[str | None, set[str]]:
    if ret == "void":
        return None, set()
    if "*" in ret:
        return "type(c_ptr)", {"c_ptr"}
    base = ret.replace("const ", "").strip()
    if base in SCALARS:
        ftype, kind = SCALARS[base]
        return ftype, {kind}
    raise HeaderError(f"{func}: unsupported return type {ret!r}")


def _wrap(head: str, items: list[str], tail: str, indent: str) -> list[str]:
    """``head(item, item, ...)tail`` wrapped with Fortran continuation lines."""
    lines, cur = [], indent + head + "("
    for i, it in enumerate(items):
        piece = it + (", " if i < len(items) - 1 else ")")
        if len(cur) + len(piece) > LINE and cur.strip() != head + "(":
            lines.append(cur.rstrip() + " &")
            cur = indent + "    " + piece
        else:
            cur += piece
    if not items:
        cur += ")"
    if len(cur) + len(tail) > LINE:
        lines.append(cur + " &")
        cur = indent + "    " + tail.strip()
    else:
        cur += tail
    lines.append(cur)
    return lines


def _names_list(prefix: str, names: list[str], indent: str = "  ") -> list[str]:
    lines, cur = [], indent + prefix
    for i, n in enumerate(names):
        piece = n + (", " if i < len(names) - 1 else "")
        if len(cur) + len(piece) > LINE:
            lines.append(cur.rstrip() + " &")
            cur = indent + "    " + piece
        else:
            cur += piece
    lines.append(cur)
    return lines


def fortran_name_check(names: list[str]) -> None:
    seen: dict[str, str] = {}
    for n in names:
        low = n.lower()
        if low in seen and seen[low] != n:
            raise HeaderError(f"{n} and {seen[low]} are the same Fortran name")
        if low in seen:
            raise HeaderError(f"{n} is declared twice")
        if len(n) > 63:
            raise HeaderError(f"{n} is longer than Fortran's 63 characters")
        seen[low] = n


def generate(h: Header, sources: list[str]) -> str:
    out = [
        "! GENERATED by fsrc/tools/gen_bindings.py from " + ", ".join(sources) + ".  Do not edit:",
        "! change the C header and rebuild.",
        "!> Interfaces to the C ABI of libftorch (`ftorch.h`), its enumerators, structs and version.",
        "!> Internal to the library: user code calls the Fortran API of module `ftorch` instead.",
        "module ftorch_cbind",
        "  use, intrinsic :: iso_c_binding, only: @KINDS@",
        "  implicit none",
        "  private",
        "",
    ]
    declared: list[str] = []
    out.append("  ! Version macros.")
    for name, value in h.macros.items():
        if isinstance(value, int):
            out.append(f"  integer(c_int), parameter, public :: {name.lower()} = {value}")
        else:
            out.append(f'  character(len=*), parameter, public :: {name.lower()} = "{value}"')
        declared.append(name.lower())
    for tag, items in h.enums.items():
        out.append(f"  ! enum {tag}")
        for name, value in items:
            out.append(f"  integer(c_int), parameter, public :: {name.lower()} = {value}")
            declared.append(name.lower())
    for name, fields in h.structs.items():
        out += ["", f"  !> struct {name}", f"  type, bind(c), public :: {name}"]
        for fname, ctype in fields:
            out.append(f"    {FIELDS[ctype][0]} :: {fname}")
        out.append(f"  end type {name}")
        declared.append(name)
    out.append("")
    out += _names_list("public :: ", [f.name for f in h.functions])
    declared += [f.name for f in h.functions]
    fortran_name_check(declared)
    out += ["", "  interface"]
    for f in h.functions:
        rtype, need = _result(f.ret, f.name)
        decls = []
        for p in f.params:
            d, n = _dummy(p, h, f.name)
            decls.append(d)
            need |= n
        args = [p.name for p in f.params]
        kind = "subroutine" if rtype is None else "function"
        tail = f' bind(c, name="{f.name}")' if rtype is None else f' result(ret) bind(c, name="{f.name}")'
        out += _wrap(f"{kind} {f.name}", args, tail, "    ")
        if need:
            out.append("      import :: " + ", ".join(sorted(need, key=str.lower)))
        out += ["      " + d for d in decls]
        if rtype is not None:
            out.append(f"      {rtype} :: ret")
        out.append(f"    end {kind} {f.name}")
        out.append("")
    out[-1:] = ["  end interface", "", "end module ftorch_cbind", ""]
    text = "\n".join(out)
    kinds = sorted({k for k in re.findall(r"\b(c_\w+)\b", text) if k in _ISO_C} | {"c_int"})
    return text.replace("@KINDS@", ", ".join(kinds), 1)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    output, headers = Path(argv[0]), [Path(p) for p in argv[1:]]
    try:
        header = parse([p.read_text() for p in headers])
        text = generate(header, [p.name for p in headers])
    except HeaderError as exc:
        print(f"gen_bindings.py: {exc}", file=sys.stderr)
        return 1
    if not output.exists() or output.read_text() != text:  # keep the timestamp when unchanged
        output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
