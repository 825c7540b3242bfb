"""Reducing statements that cannot matter to the rules before fparser sees them.

fparser's expression matcher is super-linear in the length of a statement (a 64 KB
statement took 38 s) and recursive in its nesting.  Most long statements in real code
(lookup tables, long arithmetic on plain arrays, flat sums) have nothing to do with ftorch.
So before parsing, each statement is checked with the lexer:

* A name is *relevant* when it is an ftorch name, a local name imported from ftorch or a
  re-exporting module, or any name in a statement that also names one of those (a tensor
  declaration, the data array of ``torch_tensor_from_array``, a model or optimiser...).
* A name is *plain* when it is declared in the file by an intrinsic-type declaration
  (``real``, ``integer``, ...) and never appears in a relevant statement, or when it is an
  intrinsic procedure that the file does not declare.  Everything else (names from other
  modules, implicitly typed names, derived-type variables) is *unknown* and kept.
* A bracketed group, or the right-hand side of an assignment or initialiser, whose names are
  all plain is replaced by ``0``.  Its operators act on plain values only, so no rule can
  see a difference: the operator-import rules only count operators with a tensor or unknown
  operand, and the autograd rules only follow relevant names.

Statements without any relevant name are reduced this way; statements with one only when
they are longer than :data:`LONG_STATEMENT` characters (the reduction of their plain
sub-expressions then only guards parse time).  Line structure is kept: a replacement on
one line is padded with blanks so that every later column is unchanged, and a replacement
that spans lines leaves the same number of lines, so fparser's line numbers and the
lexer's columns still index the original file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ftorch_api as api
from .lexer import Stmt

#: statements with a relevant name are reduced only above this length (characters)
LONG_STATEMENT = 2000
#: groups or right-hand sides shorter than this many tokens are left alone (nothing to gain)
MIN_TOKENS = 3

_INTRINSIC_TYPES = {"real", "integer", "logical", "character", "complex", "doubleprecision", "double"}
_OPEN = {"(": ")", "[": "]", "(/": "/)"}
_CLOSE = {")", "]", "/)"}
_NOT_ASSIGN_HEADS = {
    "do",
    "if",
    "elseif",
    "else",
    "where",
    "forall",
    "select",
    "case",
    "call",
    "print",
    "write",
    "read",
    "open",
    "close",
    "inquire",
    "allocate",
    "deallocate",
    "nullify",
    "return",
    "stop",
    "format",
    "data",
    "use",
    "module",
    "program",
    "subroutine",
    "function",
    "end",
    "interface",
    "contains",
    "type",
    "class",
    "implicit",
    "import",
    "entry",
    "public",
    "private",
    "procedure",
    "generic",
    "common",
    "equivalence",
    "namelist",
    "parameter",
    "dimension",
    "save",
    "external",
    "intrinsic",
    "block",
    "associate",
    "critical",
    "include",
    "rewind",
    "backspace",
    "endfile",
    "flush",
    "wait",
    "pointer",
    "target",
    "allocatable",
    "optional",
    "intent",
    "value",
    "volatile",
    "protected",
    "bind",
    "enum",
    "enumerator",
    "sequence",
    "final",
    "exit",
    "cycle",
    "goto",
    "go",
    "continue",
    "pause",
    "assign",
    "elsewhere",
    "submodule",
    "recursive",
    "pure",
    "elemental",
    "impure",
    "abstract",
    "non_intrinsic",
}


@dataclass
class Reduction:
    text: str
    #: (first line, last line) of every statement that was changed
    changed: list = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.changed)


_INTRINSICS: frozenset | None = None


def _intrinsics() -> frozenset:
    global _INTRINSICS
    if _INTRINSICS is None:
        try:
            from fparser.two.Fortran2003 import Intrinsic_Name

            names = {n.lower() for n in Intrinsic_Name.function_names}
        except Exception:  # noqa: BLE001 - any fparser layout change: just no intrinsic list
            names = set()
        _INTRINSICS = frozenset(names)
    return _INTRINSICS


def _body(st: Stmt):
    toks = st.tokens
    if toks and toks[0].kind == "number":  # label
        toks = toks[1:]
    if len(toks) > 2 and toks[0].kind == "name" and toks[1].text == ":" and toks[2].kind == "name":
        toks = toks[2:]  # construct name
    return toks


def _declared_plain(toks) -> list[str]:
    """Entity names of an intrinsic-type declaration statement (empty for anything else)."""
    if not toks or toks[0].kind != "name" or toks[0].low not in _INTRINSIC_TYPES:
        return []
    if any(t.kind == "name" and t.low in ("function", "subroutine") for t in toks):
        return []
    # skip the type spec: keyword, optional "precision", optional (...) or *n
    i = 1
    if i < len(toks) and toks[0].low == "double" and toks[i].low == "precision":
        i += 1
    if i < len(toks) and toks[i].text == "(":
        depth = 0
        while i < len(toks):
            if toks[i].text in _OPEN:
                depth += 1
            elif toks[i].text in _CLOSE:
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            i += 1
    elif i < len(toks) and toks[i].text == "*":
        i += 2
    rest = toks[i:]
    dc = next((k for k, t in enumerate(rest) if t.text == "::"), None)
    if dc is not None:
        rest = rest[dc + 1 :]
    elif rest and rest[0].text == ",":
        return []  # attributes without '::' is not valid Fortran
    out, depth, expect = [], 0, True
    for t in rest:
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0:
            if t.text == ",":
                expect = True
                continue
            if expect and t.kind == "name":
                out.append(t.low)
            expect = False
    return out


def classify(stmts: list, ft_names: set) -> tuple[set, set]:
    """Return (relevant names, plain names) for a lexed file."""
    relevant = set(ft_names)
    for st in stmts:
        if st.cpp:
            continue
        if any(t.kind == "name" and t.low in ft_names for t in st.tokens):
            relevant.update(t.low for t in st.tokens if t.kind == "name")
    declared: set = set()
    other_decl: set = set()
    for st in stmts:
        if st.cpp:
            continue
        toks = _body(st)
        names = _declared_plain(toks)
        if names:
            declared.update(names)
        elif (
            toks
            and toks[0].kind == "name"
            and toks[0].low in ("type", "class")
            and len(toks) > 1
            and toks[1].text == "("
        ):
            # a derived-type declaration shadows an intrinsic of the same name
            other_decl.update(t.low for t in toks if t.kind == "name")
    plain = (declared | intrinsic_module_names(stmts) | (_intrinsics() - other_decl)) - relevant
    return relevant, plain


def _groups(toks):
    """(open index, close index) of every bracketed group, outermost first."""
    out, stack = [], []
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in _OPEN:
            stack.append(i)
        elif t.kind == "op" and t.text in _CLOSE and stack:
            out.append((stack.pop(), i))
    out.sort()
    return out


def _plain_range(toks, a, b, plain) -> bool:
    """Are all names in toks[a..b] plain (keyword-argument names excepted)?"""
    for k in range(a, b + 1):
        t = toks[k]
        if t.kind == "name":
            if k + 1 <= b and toks[k + 1].text == "=" and k > 0 and toks[k - 1].text in (",", "("):
                continue  # keyword argument
            if t.low not in plain:
                return False
        elif t.kind == "other" and t.text != "&":
            return False  # anything the lexer did not understand: keep it
    return True


def _depth0_eq(toks, start):
    depth = 0
    for k in range(start, len(toks)):
        t = toks[k]
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.text == "=" and t.kind == "op":
            return k
    return None


def _ranges_for(toks, plain, relevant_stmt: bool) -> list:
    """Token index ranges (inclusive) to replace by ``0``."""
    if not toks:
        return []
    head = toks[0].low if toks[0].kind == "name" else ""
    out = []
    if head in _INTRINSIC_TYPES and _declared_plain(toks):
        # initialisers: each depth-0 segment after '='
        dc = next((k for k, t in enumerate(toks) if t.text == "::"), None)
        if dc is None:
            return []
        depth, k = 0, dc + 1
        while k < len(toks):
            t = toks[k]
            if t.text in _OPEN:
                depth += 1
            elif t.text in _CLOSE:
                depth -= 1
            elif depth == 0 and t.text == "=" and t.kind == "op":
                end, d2 = k + 1, 0
                while end < len(toks):
                    if toks[end].text in _OPEN:
                        d2 += 1
                    elif toks[end].text in _CLOSE:
                        d2 -= 1
                    elif d2 == 0 and toks[end].text == ",":
                        break
                    end += 1
                if end - (k + 1) >= MIN_TOKENS and _plain_range(toks, k + 1, end - 1, plain):
                    out.append((k + 1, end - 1, "0"))
                k = end
                continue
            k += 1
        return out
    if head == "if" and len(toks) > 1 and toks[1].text == "(":
        close = _match(toks, 1)
        if close is None:
            return []
        out += _cond(_group_ranges(toks, 1, close, plain), 1, close)
        rest = toks[close + 1 :]
        if rest and not (len(rest) == 1 and rest[0].low == "then"):
            sub = _ranges_for(rest, plain, relevant_stmt)
            out += [(a + close + 1, b + close + 1, r) for a, b, r in sub]
        return out
    if head in ("elseif", "else") and len(toks) > 2:
        i = 1 if head == "elseif" else 2
        if head == "else" and toks[1].low != "if":
            return []
        if i < len(toks) and toks[i].text == "(":
            close = _match(toks, i)
            if close is not None:
                out += _cond(_group_ranges(toks, i, close, plain), i, close)
        return out
    if head == "do" and len(toks) > 2 and toks[1].low == "while" and toks[2].text == "(":
        close = _match(toks, 2)
        return _cond(_group_ranges(toks, 2, close, plain), 2, close) if close is not None else []
    if head == "call" and len(toks) > 2:
        j = next((k for k, t in enumerate(toks) if t.text == "("), None)
        if j is None:
            return []
        close = _match(toks, j)
        if close is None:
            return []
        return _group_ranges(toks, j, close, plain, inner_only=True)
    if toks[0].kind == "name" and head not in _NOT_ASSIGN_HEADS:
        eq = _depth0_eq(toks, 1)
        if eq is None or eq + 1 >= len(toks):
            return []
        # left-hand side groups (subscripts), then the right-hand side
        out += _group_ranges(toks, 0, eq - 1, plain)
        rhs_a, rhs_b = eq + 1, len(toks) - 1
        if rhs_b - rhs_a + 1 >= MIN_TOKENS and _plain_range(toks, rhs_a, rhs_b, plain):
            out.append((rhs_a, rhs_b, "0"))
        else:
            out += _group_ranges(toks, rhs_a, rhs_b, plain)
        return out
    return []


def _cond(ranges, a, b):
    """A range that is the whole condition of an ``if``/``do while`` becomes ``.true.``
    (fparser checks that a condition is a logical expression)."""
    return [(x, y, ".true." if (x == a + 1 and y == b - 1) else "0") for x, y, *_r in ranges]


def _match(toks, i):
    depth = 0
    for k in range(i, len(toks)):
        if toks[k].text in _OPEN:
            depth += 1
        elif toks[k].text in _CLOSE:
            depth -= 1
            if depth == 0:
                return k
    return None


def _group_ranges(toks, a, b, plain, inner_only=False):
    """Ranges for the contents of the plain bracketed groups inside toks[a..b] (outermost
    wins).  With ``inner_only`` the group a..b itself is never replaced as a whole (an
    argument list keeps its arity), only the groups nested in it."""
    out = []
    sub = toks[a : b + 1]
    taken_until = -1
    for ga, gb in _groups(sub):
        ga, gb = ga + a, gb + a
        if ga <= taken_until:
            continue
        if inner_only and ga == a and gb == b:
            continue
        if gb - ga - 1 >= MIN_TOKENS and _plain_range(toks, ga + 1, gb - 1, plain):
            out.append((ga + 1, gb - 1, "0"))
            taken_until = gb
    return out


def _kind_of(toks) -> str | None:
    """ "assign", "io" or "decl" for the statements that may be dropped whole."""
    if not toks or toks[0].kind != "name":
        return None
    head = toks[0].low
    if head in _INTRINSIC_TYPES and _declared_plain(toks):
        return "decl"
    if head in ("print", "write"):
        return "io"
    if head not in _NOT_ASSIGN_HEADS and _depth0_eq(toks, 1) is not None:
        return "assign"
    return None


def _blankable(stmts, plain, relevant, by_line, cpp_lines) -> set:
    """ids of statements that can be dropped whole: unlabelled assignments and
    ``print``/``write`` whose names are all plain, and declarations of plain names that no
    kept statement mentions."""
    cands, decls, kept_names = set(), [], set()
    for st in stmts:
        if st.cpp:
            continue
        toks = st.tokens
        kind = _kind_of(toks)
        single = all(by_line.get(ln, 0) == 1 for ln in range(st.first_line, st.last_line + 1)) and not any(
            st.first_line < ln < st.last_line for ln in cpp_lines
        )
        if kind is None or not single or st.label or toks[0].kind == "number":
            kept_names.update(t.low for t in toks if t.kind == "name")
            continue
        if kind == "decl":
            decls.append(st)
            continue
        # calls are never dropped: the procedure's name is not plain, and a name that may come
        # from a bare `use ftorch` must stay visible to FT001
        if (
            all(t.kind != "other" for t in toks)
            and len(toks) > 1
            and toks[1].low not in relevant
            and _plain_range(toks, 1, len(toks) - 1, plain)
            and (kind != "assign" or toks[0].low in plain)
        ):
            cands.add(id(st))
        else:
            kept_names.update(t.low for t in toks if t.kind == "name")
    for st in decls:
        if not any(n in kept_names for n in _declared_plain(st.tokens)):
            cands.add(id(st))
    return cands


_KEYWORDS = {
    "do",
    "end",
    "if",
    "then",
    "else",
    "elseif",
    "endif",
    "enddo",
    "while",
    "select",
    "case",
    "default",
    "exit",
    "cycle",
    "return",
    "continue",
    "stop",
    "implicit",
    "none",
    "intent",
    "in",
    "out",
    "inout",
    "dimension",
    "parameter",
    "allocatable",
    "target",
    "pointer",
    "save",
    "optional",
    "value",
    "kind",
    "len",
    "contiguous",
    "volatile",
    "asynchronous",
    "protected",
    "precision",
    "subroutine",
    "function",
    "result",
    "pure",
    "elemental",
    "impure",
    "recursive",
    "module",
    "concurrent",
    "selectcase",
    "endselect",
} | _INTRINSIC_TYPES
_UNIT_END = {"endsubroutine", "endfunction"}


def _is_unit_head(toks) -> bool:
    if not toks or toks[0].kind != "name" or toks[0].low in ("end", "endsubroutine", "endfunction"):
        return False
    depth = 0
    for k, t in enumerate(toks):
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.kind == "name" and t.low in ("subroutine", "function"):
            return (
                k + 1 < len(toks)
                and toks[k + 1].kind == "name"
                and all(x.kind == "name" or x.text in ("(", ")", "*", ",") or x.kind == "number" for x in toks[:k])
            )
    return False


def _is_unit_end(toks) -> bool:
    if not toks or toks[0].kind != "name":
        return False
    w = toks[0].low
    return w in _UNIT_END or (w == "end" and (len(toks) == 1 or toks[1].low in ("subroutine", "function")))


def _plain_units(stmts, plain, relevant, blank) -> list:
    """(first, last) statement indexes of procedure bodies that can be dropped: nothing in
    the procedure (header included) names a relevant or unknown name, and it contains no
    internal procedure, label or statement the reduction does not understand."""
    out, stack = [], []  # stack: [head index, droppable?]
    for i, st in enumerate(stmts):
        toks = _body(st)
        if st.cpp:
            for fr in stack:
                fr[1] = False
            continue
        if _is_unit_head(toks):
            for fr in stack:
                fr[1] = False  # a host with internal procedures keeps everything
            ok = not any(t.kind == "name" and t.low in relevant for t in toks)
            stack.append([i, ok])
            continue
        if _is_unit_end(toks) and stack:
            head, ok = stack.pop()
            if (
                ok
                and i - head > 1
                and stmts[head + 1].first_line > stmts[head].last_line
                and stmts[i - 1].last_line < st.first_line
            ):
                out.append((head + 1, i - 1))
            continue
        if not stack or not stack[-1][1] or id(st) in blank:
            continue
        if (
            st.label
            or (st.tokens and st.tokens[0].kind == "number")
            or any(
                t.kind == "other" or (t.kind == "name" and t.low not in plain and t.low not in _KEYWORDS) for t in toks
            )
            or (toks and toks[0].low in ("contains", "entry", "format", "data", "include"))
        ):
            stack[-1][1] = False
    return out


_TERM_END = {"name", "number", "string"}


def _duplicate_terms(toks) -> list:
    """Tokens of the repeated terms of a long flat sum ``lhs = t1 + t2 - t3 ...``.

    A term whose operator and shape (its tokens with numbers and subscripts' values
    ignored) already occurred earlier in the sum adds nothing the rules can see: the same
    operator on operands of the same types.  Blanking it keeps every column and line."""
    eq = _depth0_eq(toks, 1) if toks and toks[0].kind == "name" and toks[0].low not in _NOT_ASSIGN_HEADS else None
    if eq is None:
        return []
    terms, cur, op, depth = [], [], None, 0
    for k in range(eq + 1, len(toks)):
        t = toks[k]
        if t.line != t.end_line:
            return []
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and (
            (t.kind == "dotop" and t.low not in (".true.", ".false."))
            or t.text in ("==", "/=", "<", ">", "<=", ">=", "//")
        ):
            return []
        if depth == 0 and t.text in ("+", "-") and cur and (cur[-1].kind in _TERM_END or cur[-1].text in _CLOSE):
            terms.append((op, cur))
            op, cur = t, []
            continue
        cur.append(t)
    if cur:
        terms.append((op, cur))
    if len(terms) < 8:
        return []
    seen, out = set(), []
    for op, ts in terms:
        shape = (op.text if op is not None else "", tuple("N" if t.kind == "number" else t.low for t in ts))
        if shape in seen and op is not None:
            out.append(op)  # the operator and its term
            out.extend(ts)
        seen.add(shape)
    return out


def reduce_text(
    text: str, stmts: list, fixed: bool, relevant: set, plain: set, long_statement: int = LONG_STATEMENT
) -> Reduction:
    """Return the text with plain sub-expressions replaced (see the module documentation)."""
    lines = text.split("\n")
    cpp_lines = {st.first_line for st in stmts if st.cpp}
    edits = []
    changed = []
    by_line: dict = {}
    for st in stmts:
        if not st.cpp:
            for ln in range(st.first_line, st.last_line + 1):
                by_line[ln] = by_line.get(ln, 0) + 1
    blank = _blankable(stmts, plain, relevant, by_line, cpp_lines)
    for a, b in _plain_units(stmts, plain, relevant, blank):
        for st in stmts[a : b + 1]:
            blank.add(id(st))
    for st in stmts:
        if id(st) in blank:
            edits.append((st.first_line, -1, st.last_line, -1, ""))
            changed.append((st.first_line, st.last_line))
            continue
        if st.cpp or len(st.tokens) < MIN_TOKENS + 2:
            continue
        rel = any(t.kind == "name" and t.low in relevant for t in st.tokens)
        if rel:
            size = (
                st.tokens[-1].end_col + sum(len(lines[ln - 1]) for ln in range(st.first_line, st.last_line))
                if st.last_line > st.first_line
                else st.tokens[-1].end_col - st.tokens[0].col
            )
            if size < long_statement:
                continue
        if any(by_line.get(ln, 0) > 1 for ln in range(st.first_line, st.last_line + 1)):
            continue  # ';' on a line: keep it simple
        if st.last_line > st.first_line and any(st.first_line < ln < st.last_line for ln in cpp_lines):
            continue
        toks = _body(st)
        if rel:
            dropped = _duplicate_terms(toks)
            if dropped:
                edits.extend((t.line, t.col, t.end_line, t.end_col, "") for t in dropped)
                changed.append((st.first_line, st.last_line))
                continue
        ranges = _ranges_for(toks, plain, rel)
        if not ranges:
            continue
        ok = []
        for a, b, repl in ranges:
            t0, t1 = toks[a], toks[b]
            if t0.line == t1.end_line and t1.end_col - t0.col <= len(repl):
                continue
            if (
                fixed
                and t0.line != t1.end_line
                and any("\t" in lines[ln - 1][:6] for ln in range(t0.line, t1.end_line + 1))
            ):
                continue
            ok.append((t0.line, t0.col, t1.end_line, t1.end_col, repl))
        if ok:
            edits.extend(ok)
            changed.append((st.first_line, st.last_line))
    if not edits:
        return Reduction(text, [])
    # apply from the end so earlier positions stay valid
    for l1, c1, l2, c2, repl in sorted(edits, reverse=True):
        if c1 == -1:  # the whole statement goes
            for ln in range(l1, l2 + 1):
                lines[ln - 1] = ""
            continue
        if l1 == l2:
            s = lines[l1 - 1]
            lines[l1 - 1] = s[:c1] + repl + " " * (c2 - c1 - len(repl)) + s[c2:]
            continue
        first, last = lines[l1 - 1], lines[l2 - 1]
        rest = last[c2:]
        tail_blank = rest.strip() == "" or rest.lstrip().startswith("!")
        for ln in range(l1 + 1, l2):
            lines[ln - 1] = ""
        if fixed:
            lines[l1 - 1] = first[:c1] + repl
            lines[l2 - 1] = "" if tail_blank else "     &" + " " * max(c2 - 6, 0) + rest
        elif tail_blank:
            lines[l1 - 1] = first[:c1] + repl
            lines[l2 - 1] = ""
        elif rest.strip() == "&":
            lines[l1 - 1] = first[:c1] + repl + " &"
            lines[l2 - 1] = ""
        else:
            lines[l1 - 1] = first[:c1] + repl + " &"
            lines[l2 - 1] = " " * max(c2 - 1, 0) + "&" + rest
    return Reduction("\n".join(lines), changed)


_INTRINSIC_MODULES = {"iso_fortran_env", "iso_c_binding", "ieee_arithmetic", "ieee_exceptions", "ieee_features"}


def intrinsic_module_names(stmts: list) -> set:
    """Local names from the intrinsic modules (kind parameters such as ``dp => real64``)."""
    out = set()
    for st in stmts:
        toks = _body(st)
        if not toks or toks[0].low != "use":
            continue
        names = [t.low for t in toks if t.kind == "name"]
        if any(n in _INTRINSIC_MODULES for n in names[1:3] + names[2:4]):
            out.update(n for n in names if n not in ("use", "only", "intrinsic", "non_intrinsic"))
    return out


def ftorch_names(stmts: list, modules: set) -> set:
    """ftorch names plus every local name that a ``use`` of ``modules`` (ftorch, its aliases
    and the re-exporting modules) brings in, and those module names."""
    names = set(api.CANONICAL) | set(modules)
    for st in stmts:
        toks = _body(st)
        if toks and toks[0].low == "use" and any(t.kind == "name" and t.low in modules for t in toks):
            names.update(
                t.low
                for t in toks
                if t.kind == "name"
                and t.low not in ("use", "only", "operator", "assignment", "intrinsic", "non_intrinsic")
            )
    return names
