"""The lexer that provides every column: operators, strings, comments, continuations."""

from __future__ import annotations

from preprocess.analysis import op_tokens
from preprocess.lexer import lex
from preprocess.source import decode, neutralise


def toks(text, fixed=False):
    stmts, comments, amps = lex(text, fixed=fixed)
    return stmts, comments, amps


def test_operator_tokens_are_told_apart():
    (st,), _c, _a = toks("x = a**2*b/c /= d // e == f => g (/ 1, 2 /) - (-h)")
    texts = [t.text for t in st.tokens if t.kind == "op"]
    assert texts == ["=", "**", "*", "/", "/=", "//", "==", "=>", "(/", ",", "/)", "-", "(", "-", ")"]
    ops = op_tokens(st)
    assert [t.col for t in ops[("bin", "*")]] == [8]
    assert [t.col for t in ops[("bin", "**")]] == [5]
    assert [t.col for t in ops[("bin", "/")]] == [10]
    assert [t.col for t in ops[("un", "-")]] == [47]
    assert [t.col for t in ops[("bin", "-")]] == [44]
    assert ("bin", "//") not in ops


def test_strings_comments_and_continuations():
    src = 'x = \'a*b ! not a comment\' // "it""s" ! real comment\ny = a * &\n  & b ! noqa\n'
    stmts, comments, amps = toks(src)
    assert [s.first_line for s in stmts] == [1, 2]
    assert stmts[1].last_line == 3
    assert comments == {1: "! real comment", 3: "! noqa"}
    assert amps == {2: [8], 3: [2]}
    assert [t.text for t in stmts[0].tokens if t.kind == "op"] == ["=", "//"]


def test_semicolons_numbers_and_dot_operators():
    stmts, _c, _a = toks("a = 1.e5; b = 1.eq.2 .and. 3.0_wp-2d-3")
    assert len(stmts) == 2
    assert [t.text for t in stmts[1].tokens] == ["b", "=", "1", ".eq.", "2", ".and.", "3.0_wp", "-", "2d-3"]


def test_fixed_form_continuation_and_comments():
    src = "C comment\n      X = A *\n     &    B\n* another\n      END\n"
    stmts, comments, _a = toks(src, fixed=True)
    assert [(s.first_line, s.last_line) for s in stmts] == [(2, 3), (5, 5)]
    assert set(comments) == {1, 4}
    assert [(t.line, t.col) for t in stmts[0].tokens] == [(2, 6), (2, 8), (2, 10), (2, 12), (3, 10)]


def test_decode_and_neutralise_keep_positions():
    assert decode(b"\xef\xbb\xbfa\r\nb") == "a\nb"
    assert decode("café".encode("latin-1")) == "café"
    src = "  implicit none (type, external)  ! F2018\n"
    out = neutralise(src)
    assert out == "  implicit none                   ! F2018\n" and len(out) == len(src)
