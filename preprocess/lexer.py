"""A small Fortran lexer used for columns, suppression comments and line-based checks.

fparser gives statement line spans but no columns, so every column the linter reports is
computed here from the raw text.  The lexer understands free and fixed form, ``&``
continuations (also inside strings), ``;`` statement separators, ``!`` comments, string
literals with doubled quotes, numbers with exponents and kinds, dotted operators
(``.and.``, ``.true.``), C-preprocessor lines, and tells apart the tokens that matter for
operators: ``*`` from ``**``, ``/`` from ``/=``, ``//`` and ``(/ /)``, and ``=`` from ``==``
and ``=>``.  It never raises: unknown characters become one-character ``other`` tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Token", "Stmt", "lex"]

_DOTWORDS = r"(?:eq|ne|lt|le|gt|ge|and|or|not|eqv|neqv|true|false)"
_NUMBER = re.compile(r"(?:\d+(?:\.(?![a-z]+\.)\d*)?|\.\d+)(?:[edq][+-]?\d+)?(?:_[a-z0-9_]+)?", re.I)
_NAME = re.compile(r"[a-z_$][a-z0-9_$]*", re.I)
_DOTOP = re.compile(r"\.[a-z]+\.", re.I)
_MULTI = ("**", "//", "/=", "==", "=>", "<=", ">=", "::")
_SPACE = re.compile(r"[ \t\f\v\r]+")


@dataclass(slots=True)
class Token:
    kind: str  # name number string op dotop other
    text: str
    line: int  # 1-based line
    col: int  # 0-based character column
    end_line: int
    end_col: int  # exclusive

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass(slots=True)
class Stmt:
    tokens: list[Token] = field(default_factory=list)
    first_line: int = 0
    last_line: int = 0
    cpp: bool = False
    label: str | None = None

    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)


class _State:
    def __init__(self) -> None:
        self.stmts: list[Stmt] = []
        self.cur: Stmt | None = None
        self.comments: dict[int, str] = {}
        self.amp_lines: dict[int, list[int]] = {}  # line -> columns of continuation '&'
        self.paren: list[str] = []

    def add(self, tok: Token) -> None:
        if self.cur is None:
            self.cur = Stmt(first_line=tok.line)
            self.paren = []
        self.cur.tokens.append(tok)
        self.cur.last_line = max(self.cur.last_line, tok.end_line)

    def end(self) -> None:
        if self.cur is not None and self.cur.tokens:
            self.stmts.append(self.cur)
        self.cur = None
        self.paren = []


def lex(text_or_lines, fixed: bool = False) -> tuple[list[Stmt], dict[int, str], dict[int, list[int]]]:
    """Return (statements, comments by line, continuation-ampersand columns by line)."""
    lines = text_or_lines.split("\n") if isinstance(text_or_lines, str) else list(text_or_lines)
    st = _State()
    open_string: tuple[str, Token] | None = None  # quote char, token being built (free form)
    continuing = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        start = 0
        if fixed:
            if not line.strip():
                continue
            c0 = line[0]
            if c0 in "cC*!dD" and not (c0 in "dD" and False):
                if c0 in "cC*!":
                    st.comments[lineno] = line
                    continue
            if c0 == "#":
                st.end()
                st.stmts.append(Stmt([Token("other", line, lineno, 0, lineno, len(line))], lineno, lineno, cpp=True))
                continue
            if "\t" in line[:6]:
                # tab-format: a tab in the label field means code starts after it
                tpos = line.index("\t")
                label_part = line[:tpos]
                rest_start = tpos + 1
                if rest_start < len(line) and line[rest_start] in "123456789":
                    is_cont = True
                    rest_start += 1
                else:
                    is_cont = False
            else:
                label_part = line[:5]
                is_cont = len(line) > 5 and line[5] not in " 0"
                rest_start = 6
            if label_part.lstrip().startswith("!"):
                st.comments[lineno] = line
                continue
            if not is_cont:
                st.end()
                if label_part.strip().isdigit():
                    st.cur = Stmt(first_line=lineno, last_line=lineno, label=label_part.strip())
            elif st.cur is None and st.stmts and not st.stmts[-1].cpp:
                st.cur = st.stmts.pop()
            code_from = rest_start
            if line[code_from:].strip() == "" and not is_cont:
                continue
            open_string = _lex_segment(st, line, lineno, code_from, fixed, open_string)
            continue
        # free form
        stripped = line.lstrip()
        if not stripped:
            continue
        if stripped.startswith("#") and not continuing and open_string is None:
            st.end()
            st.stmts.append(Stmt([Token("other", line, lineno, 0, lineno, len(line))], lineno, lineno, cpp=True))
            continue
        if stripped.startswith("!") and open_string is None:
            st.comments[lineno] = line
            continue
        if continuing:
            start = len(line) - len(stripped)
            if stripped.startswith("&"):
                st.amp_lines.setdefault(lineno, []).append(start)
                start += 1
        elif st.cur is None:
            pass
        open_string, continuing = _lex_free_line(st, line, lineno, start, open_string)
        if not continuing:
            st.end()
    st.end()
    return st.stmts, st.comments, st.amp_lines


def _lex_free_line(st: _State, line: str, lineno: int, start: int, open_string):
    """Lex one free-form line; return (open string state, continues?)."""
    # find the continuation '&': last non-blank char outside strings and before any comment
    i = start
    n = len(line)
    if open_string is not None:
        i = _continue_string(st, line, lineno, i, open_string)
        if i is None:  # string continues again
            return open_string, True
        open_string = None
    while i < n:
        m = _SPACE.match(line, i)
        if m:
            i = m.end()
            continue
        ch = line[i]
        if ch == "!":
            st.comments[lineno] = line[i:]
            break
        if ch == "&":
            rest = line[i + 1 :].strip()
            if rest == "" or rest.startswith("!"):
                st.amp_lines.setdefault(lineno, []).append(i)
                if rest:
                    st.comments[lineno] = line[line.index("!", i) :]
                return None, True
            st.add(Token("other", "&", lineno, i, lineno, i + 1))
            i += 1
            continue
        if ch in "'\"":
            tok = Token("string", ch, lineno, i, lineno, i + 1)
            st.add(tok)
            j = _continue_string(st, line, lineno, i + 1, (ch, tok))
            if j is None:
                return (ch, tok), True
            i = j
            continue
        if ch == ";":
            st.end()
            i += 1
            continue
        i = _lex_token(st, line, lineno, i)
    return None, False


def _continue_string(st: _State, line: str, lineno: int, i: int, open_string):
    """Consume string characters; return the index after the closing quote, or None if the
    string is continued onto the next line."""
    q, tok = open_string
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == q:
            if i + 1 < n and line[i + 1] == q:
                i += 2
                continue
            tok.text += line[tok.col if tok.line == lineno else i : i + 1] if False else ""
            tok.end_line, tok.end_col = lineno, i + 1
            st.cur.last_line = max(st.cur.last_line, lineno) if st.cur else lineno
            return i + 1
        if ch == "&" and line[i + 1 :].strip() == "":
            st.amp_lines.setdefault(lineno, []).append(i)
            tok.end_line, tok.end_col = lineno, i
            return None
        i += 1
    tok.end_line, tok.end_col = lineno, n
    return n


def _lex_token(st: _State, line: str, lineno: int, i: int) -> int:
    ch = line[i]
    if (ch.isascii() and ch.isdigit()) or (ch == "." and i + 1 < len(line) and "0" <= line[i + 1] <= "9"):
        m = _NUMBER.match(line, i)
        if m:
            st.add(Token("number", m.group(), lineno, i, lineno, m.end()))
            return m.end()
    if (ch.isascii() and ch.isalpha()) or ch in "_$":
        m = _NAME.match(line, i)
        st.add(Token("name", m.group(), lineno, i, lineno, m.end()))
        return m.end()
    if ch == ".":
        m = _DOTOP.match(line, i)
        if m:
            st.add(Token("dotop", m.group(), lineno, i, lineno, m.end()))
            return m.end()
    two = line[i : i + 2]
    if two == "(/" and line[i + 2 : i + 3] not in (")", "/", "="):
        st.paren.append("(/")
        st.add(Token("op", "(/", lineno, i, lineno, i + 2))
        return i + 2
    if two == "/)" and st.paren and st.paren[-1] == "(/":
        st.paren.pop()
        st.add(Token("op", "/)", lineno, i, lineno, i + 2))
        return i + 2
    if two in _MULTI:
        st.add(Token("op", two, lineno, i, lineno, i + 2))
        return i + 2
    if ch in "([":
        st.paren.append(ch)
    elif ch in ")]" and st.paren:
        st.paren.pop()
    st.add(Token("op" if ch in "+-*/=<>()[],:%" else "other", ch, lineno, i, lineno, i + 1))
    return i + 1


def _lex_segment(st: _State, line: str, lineno: int, i: int, fixed: bool, open_string):
    """Fixed-form code field of one line."""
    n = len(line)
    if open_string is not None:
        q, tok = open_string
        while i < n:
            if line[i] == q:
                if i + 1 < n and line[i + 1] == q:
                    i += 2
                    continue
                tok.end_line, tok.end_col = lineno, i + 1
                i += 1
                open_string = None
                break
            i += 1
        else:
            tok.end_line, tok.end_col = lineno, n
            return open_string
    while i < n:
        m = _SPACE.match(line, i)
        if m:
            i = m.end()
            continue
        ch = line[i]
        if ch == "!":
            st.comments[lineno] = line[i:]
            break
        if ch in "'\"":
            tok = Token("string", ch, lineno, i, lineno, i + 1)
            st.add(tok)
            j = i + 1
            while j < n:
                if line[j] == ch:
                    if j + 1 < n and line[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                tok.end_col = n
                return (ch, tok)
            tok.end_col = j + 1
            i = j + 1
            continue
        if ch == ";":
            st.end()
            i += 1
            continue
        i = _lex_token(st, line, lineno, i)
    return None
