"""Per-file analysis context: parsed tree, lexed text, model, and location helpers.

Every column reported comes from the lexer (:mod:`preprocess.lexer`) run on the exact text
fparser parsed; fparser statements are matched to lexed statements by their first line and
their order on that line (``;``).  Operators are matched by their in-order position among
operators of the same symbol in the statement.
"""

from __future__ import annotations

import os

from fparser.two import Fortran2003 as F03

from .diagnostics import Diagnostic, Edit
from .lexer import Stmt, Token, lex
from .model import FileModel, children, iter_nodes, stmt_of
from .prescan import parse_use_tokens

_UNARY_PREV = {
    "(",
    ",",
    "=",
    "(/",
    "[",
    "=>",
    ":",
    "::",
    "**",
    "*",
    "/",
    "+",
    "-",
    "//",
    "==",
    "/=",
    "<",
    ">",
    "<=",
    ">=",
}
_ARITH = {"+", "-", "*", "/", "**"}


class Source:
    """Lexed view of one text (the linted file, or a file it includes)."""

    def __init__(self, path: str, text: str, fixed: bool, lexed=None):
        self.path = path
        self.text = text
        self.lines = text.split("\n")
        self.fixed = fixed
        self.stmts, self.comments, self.amps = lexed if lexed is not None else lex(self.lines, fixed=fixed)
        self.by_line: dict[int, list[Stmt]] = {}
        for s in self.stmts:
            self.by_line.setdefault(s.first_line, []).append(s)


def op_tokens(stmt: Stmt) -> dict:
    """Arithmetic operator tokens of a statement keyed by ('bin'|'un', symbol)."""
    out: dict = {}
    toks = stmt.tokens
    for i, t in enumerate(toks):
        if t.text not in _ARITH or t.kind != "op":
            continue
        prev = toks[i - 1] if i > 0 else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.text == "*" and (prev is None or prev.text in ("(", ",") or nxt is None or nxt.text in (")", ",")):
            continue
        unary = t.text in "+-" and (
            prev is None
            or prev.text in _UNARY_PREV
            or (prev.kind == "dotop" and prev.low not in (".true.", ".false."))
            or (prev.kind == "name" and i == 1 and prev.low in ("return", "stop", "print"))
        )
        out.setdefault(("un" if unary else "bin", t.text), []).append(t)
    return out


def inorder_ops(node) -> list:
    """Arithmetic operator nodes of a statement in source (in-order) order."""
    out = []
    stack = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            out.append(n)
            continue
        if isinstance(n, (F03.Level_2_Expr, F03.Add_Operand, F03.Mult_Operand)) and len(n.items) == 3:
            stack.append((n.items[2], False))
            stack.append((n, True))
            stack.append((n.items[0], False))
        elif isinstance(n, F03.Level_2_Unary_Expr):
            stack.append((n.items[1], False))
            stack.append((n, True))
        else:
            for c in reversed(children(n)):
                if hasattr(c, "items") or isinstance(c, (list, tuple)):
                    stack.append((c, False))
    return out


def op_key(n):
    if isinstance(n, F03.Level_2_Unary_Expr):
        return ("un", str(n.items[0]))
    return ("bin", str(n.items[1]))


def match_paren_back(toks, j):
    """Index of the '(' matching the ')' at ``j`` (or j)."""
    depth = 0
    for k in range(j, -1, -1):
        if toks[k].text in (")", "]", "/)"):
            depth += 1
        elif toks[k].text in ("(", "[", "(/"):
            depth -= 1
            if depth == 0:
                return k
    return j


def match_paren_fwd(toks, j):
    depth = 0
    for k in range(j, len(toks)):
        if toks[k].text in ("(", "[", "(/"):
            depth += 1
        elif toks[k].text in (")", "]", "/)"):
            depth -= 1
            if depth == 0:
                return k
    return j


class FileContext:
    def __init__(
        self, path, display, text, fixed, tree, exports, settings, line_map=None, original_text=None, lexed=None
    ):
        self.path = path
        self.display = display
        self.text = text
        self.fixed = fixed
        self.tree = tree
        self.settings = settings
        self.line_map = line_map
        self.original_lines = (original_text if original_text is not None else text).split("\n")
        self.main = Source(display, text, fixed, lexed)
        self.sources: dict[str, Source] = {}
        self.model = FileModel(tree, exports) if tree is not None else None
        self.reader_id = path
        self._stmt_map: dict[int, tuple[Source, Stmt | None]] = {}
        self._ops_cache: dict[int, dict] = {}
        if tree is not None:
            self._index()

    # ------------------------------------------------------------ indexing
    def _source_for(self, reader_id) -> Source | None:
        if reader_id is None or reader_id == self.reader_id:
            return self.main
        src = self.sources.get(reader_id)
        if src is None:
            try:
                with open(reader_id, "rb") as fh:
                    from .source import decode, is_fixed_form

                    txt = decode(fh.read())
                disp = os.path.relpath(reader_id) if os.path.isabs(reader_id) else reader_id
                src = Source(disp, txt, is_fixed_form(reader_id))
            except OSError:
                return None
            self.sources[reader_id] = src
        return src

    def _index(self):
        counters: dict = {}
        for n in iter_nodes(self.tree):
            item = getattr(n, "item", None)
            if item is None or not hasattr(item, "span"):
                continue
            rid = getattr(getattr(item, "reader", None), "id", None)
            src = self._source_for(rid)
            if src is None:
                continue
            first = item.span[0]
            k = (rid, first)
            idx = counters.get(k, 0)
            counters[k] = idx + 1
            cands = [s for s in src.by_line.get(first, []) if not s.cpp]
            st = cands[idx] if idx < len(cands) else (cands[-1] if cands else None)
            self._stmt_map[id(n)] = (src, st)

    def lexed(self, node):
        """(Source, lexer Stmt) of the statement containing ``node``."""
        s = stmt_of(node)
        if s is None:
            return self.main, None
        return self._stmt_map.get(id(s), (self.main, None))

    # ------------------------------------------------------------ locations
    def span_of(self, node):
        s = stmt_of(node)
        if s is None:
            return (1, 1)
        return tuple(s.item.span)

    def stmt_range(self, node):
        src, st = self.lexed(node)
        if st is None or not st.tokens:
            a, _b = self.span_of(node)
            return src, (a, 0), (a, len(src.lines[a - 1]) if a - 1 < len(src.lines) else 0)
        t0 = st.tokens[1] if st.tokens[0].kind == "number" and len(st.tokens) > 1 else st.tokens[0]
        return src, (t0.line, t0.col), (st.tokens[-1].end_line, st.tokens[-1].end_col)

    def op_token(self, opnode) -> Token | None:
        _src, st = self.lexed(opnode)
        if st is None:
            return None
        s = stmt_of(opnode)
        cache = self._ops_cache.get(id(s))
        if cache is None:
            ast_ops = inorder_ops(s)
            toks = op_tokens(st)
            cache = {}
            counts: dict = {}
            for o in ast_ops:
                k = op_key(o)
                i = counts.get(k, 0)
                counts[k] = i + 1
                lst = toks.get(k, [])
                cache[id(o)] = lst[i] if i < len(lst) else None
            self._ops_cache[id(s)] = cache
        return cache.get(id(opnode))

    def operand_range(self, opnode, side: str):
        """Token range of the left/right operand of a binary op (simple operands)."""
        _src, st = self.lexed(opnode)
        tok = self.op_token(opnode)
        if st is None or tok is None:
            return None
        toks = st.tokens
        j = next((k for k, t in enumerate(toks) if t is tok), None)
        if j is None:
            return None
        if side == "right":
            k = j + 1
            if k >= len(toks):
                return None
            end = k
            if toks[k].text in ("+", "-") and k + 1 < len(toks):
                end = k + 1
            if toks[end].text in ("(", "(/", "["):
                end = match_paren_fwd(toks, end)
            elif end + 1 < len(toks) and toks[end + 1].text == "(" and toks[end].kind == "name":
                end = match_paren_fwd(toks, end + 1)
            return toks[k], toks[end]
        k = j - 1
        if k < 0:
            return None
        start = k
        if toks[k].text in (")", "]", "/)"):
            start = match_paren_back(toks, k)
            if start > 0 and toks[start - 1].kind == "name" and toks[start].text == "(":
                start -= 1
        return toks[start], toks[k]

    def assignment_tokens(self, assign):
        """(lhs first token, '=' token, last token) of an Assignment_Stmt."""
        _src, st = self.lexed(assign)
        if st is None:
            return None
        toks = st.tokens
        depth = 0
        for j, t in enumerate(toks):
            if t.text in ("(", "[", "(/"):
                depth += 1
            elif t.text in (")", "]", "/)"):
                depth -= 1
            elif t.text == "=" and depth == 0:
                k = j - 1
                start = k
                while k >= 0:
                    if toks[k].text == ")":
                        k = match_paren_back(toks, k) - 1
                        start = k
                        continue
                    if toks[k].kind == "name":
                        start = k
                        if k > 0 and toks[k - 1].text == "%":
                            k -= 2
                            continue
                    break
                start = max(start, 0)
                return toks[start], t, toks[-1]
        return None

    def use_parts(self, use_node):
        src, st = self.lexed(use_node)
        if st is None:
            return src, None, None
        return src, st, parse_use_tokens(st.tokens)

    # ------------------------------------------------------------ diagnostics
    def diag(self, rule, message, src: Source, start, end, node=None, fix=None, noqa_lines=None):
        (l1, c1), (l2, c2) = start, end
        if noqa_lines is None and node is not None:
            noqa_lines = self.span_of(node)
        return Diagnostic(
            rule.code,
            rule.name,
            message,
            rule.severity,
            src.path,
            l1,
            c1 + 1,
            l2,
            c2 + 1,
            fix,
            tuple(noqa_lines) if noqa_lines else (l1, l2),
        )

    def diag_tokens(self, rule, message, src, t0: Token, t1: Token, node=None, fix=None):
        return self.diag(rule, message, src, (t0.line, t0.col), (t1.end_line, t1.end_col), node, fix)

    def diag_node(self, rule, message, node, fix=None):
        src, a, b = self.stmt_range(node)
        return self.diag(rule, message, src, a, b, node, fix)

    def edit(self, content, start, end) -> Edit:
        (l1, c1), (l2, c2) = start, end
        return Edit(content, l1, c1 + 1, l2, c2 + 1)


def needed_specs(ctx: FileContext, scope, uses_by_scope) -> set:
    return uses_by_scope.get(id(scope), set())
