"""The reduction of plain statements before parsing (preprocess/reduce.py) changes nothing
a user can see: the findings with and without it are identical on every fixture, example,
specification snippet and generated benchmark file, the reduced text always parses when
the original does, and lines and columns stay where they were."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.lint.conftest import FIXTURES, HERE, REPO

sys.path.insert(0, str(REPO / "bench" / "lint"))
from gen_tree import generate

EXAMPLES = sorted((REPO / "examples").rglob("*.f90"))
SPEC = sorted((HERE / "spec").glob("*.f90"))


#: cases the reduction must not hide: a procedure of unknown origin called with plain
#: arguments under a bare `use ftorch` (FT001 must see it and withhold its fix), plain code
#: around tensor code, and a procedure that only does plain work
EXTRA = """\
program p
  use ftorch
  implicit none
  real :: x(3), y
  type(torch_tensor) :: a, b
  x = [1.0, 2.0, 3.0]
  call my_external_routine(x, 2.0 * x(1))
  y = sum(x) * 2.0
  a = a * b
  print *, y
contains
  subroutine plain_work(n, z)
    integer, intent(in) :: n
    real, intent(inout) :: z(n)
    integer :: i
    do i = 1, n
      z(i) = z(i) * 2.0 + sqrt(abs(z(i)))
    end do
  end subroutine plain_work
end program p
"""


def _corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("reduce-tree")
    generate(str(out), lines=3000, ftorch_fraction=0.8, file_lines=300)
    (out / "extra.f90").write_text(EXTRA)
    files = sorted(p for p in FIXTURES.iterdir() if p.is_file()) + EXAMPLES + SPEC + sorted(out.rglob("*.f90"))
    return files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _corpus(tmp_path_factory)


def _lint(path: Path):
    from preprocess.rules import all_rules
    from preprocess.runner import Settings, lint_text

    settings = Settings(select=frozenset(r.code for r in all_rules()), include_dirs=(str(path.parent),))
    diags, parsed = lint_text(str(path), path.name, path.read_bytes(), settings, {})
    return [d.to_dict() for d in diags], parsed


def test_findings_are_the_same_without_the_reduction(corpus, monkeypatch):
    import preprocess.reduce as red

    reduced = {p: _lint(p) for p in corpus}
    monkeypatch.setattr(red, "reduce_text", lambda text, *a, **k: red.Reduction(text, []))
    plain = {p: _lint(p) for p in corpus}
    differ = [p.name for p in corpus if reduced[p] != plain[p]]
    assert not differ, differ
    # the comparison is not vacuous: the corpus has findings of most rules
    codes = {d["code"] for p in corpus for d in plain[p][0]}
    extra = next(p for p in corpus if p.name == "extra.f90")
    assert any("my_external_routine" in d["message"] for d in reduced[extra][0] if d["code"] == "FT001")
    assert {"FT001", "FT002", "FT003", "FT004", "FT101", "FT102", "FT103", "FT107", "FT900"} <= codes


def test_reduced_text_parses_and_keeps_lines(corpus):
    from preprocess import ftorch_api as api
    from preprocess.lexer import lex
    from preprocess.parsing import ParseFailure, parse_text, run_big_stack
    from preprocess.reduce import classify, ftorch_names, reduce_text
    from preprocess.source import decode, is_fixed_form, neutralise

    changed_files = 0
    for p in corpus:
        text = neutralise(decode(p.read_bytes()))
        fixed = is_fixed_form(str(p), text)
        stmts = lex(text, fixed=fixed)[0]
        relevant, plain = classify(stmts, ftorch_names(stmts, set(api.ALIASES)))
        r = reduce_text(text, stmts, fixed, relevant, plain)
        assert r.text.count("\n") == text.count("\n"), p.name
        if not r.any:
            continue
        changed_files += 1
        try:
            run_big_stack(parse_text, text, fixed, [str(p.parent)], str(p))
        except ParseFailure:
            continue  # only files that parse as written are compared
        run_big_stack(parse_text, r.text, fixed, [str(p.parent)], str(p))  # raises if the reduction broke it
    assert changed_files >= 10


def _reduce(src, fixed=False):
    from preprocess import ftorch_api as api
    from preprocess.lexer import lex
    from preprocess.reduce import classify, ftorch_names, reduce_text

    stmts = lex(src, fixed=fixed)[0]
    relevant, plain = classify(stmts, ftorch_names(stmts, set(api.ALIASES)))
    return reduce_text(src, stmts, fixed, relevant, plain).text


HEAD = (
    "subroutine s(q, a, x, n)\n  use ftorch, only: torch_tensor, assignment(=), operator(*)\n"
    "  type(torch_tensor) :: q, a\n  integer :: n, i\n  real :: x(n), y, z\n"
)


def test_what_is_reduced_and_what_is_kept():
    src = HEAD + (
        "  do i = 1, n\n    y = x(i) * 2.0 + sqrt(abs(x(i)))\n  end do\n"
        "  if (y > 0.0 .and. z < 1.0) then\n    q = a * a\n  end if\n"
        "  z = other_mod_value * y\n"
        "  q = a * (y + z * 3.0 - 1.0)\nend subroutine s\n"
    )
    out = _reduce(src).split("\n")
    src_lines = src.split("\n")
    assert len(out) == len(src_lines)
    # a plain assignment disappears; a plain condition becomes .true. padded to its width
    assert out[6].strip() == ""
    assert out[8].startswith("  if (.true.") and len(out[8]) == len(src_lines[8])
    # tensor statements and names of unknown type are kept as written
    assert out[9] == src_lines[9]
    assert out[11] == src_lines[11]
    assert out[12] == src_lines[12]


def test_multiline_replacement_keeps_the_line_count_free_and_fixed():
    src = HEAD + "  y = x(1) + &\n      x(2) + &\n      x(3)\n  q = a * a\nend subroutine s\n"
    out = _reduce(src)
    assert out.count("\n") == src.count("\n")
    assert out.split("\n")[8] == "  q = a * a"
    fixed = (
        "      subroutine s(q, a, x)\n      use ftorch, only: torch_tensor, assignment(=)\n"
        "      type(torch_tensor) q, a\n      real x(3), y\n      y = x(1) +\n     &    x(2) + x(3)\n"
        "      q = a\n      end\n"
    )
    out = _reduce(fixed, fixed=True)
    assert out.count("\n") == fixed.count("\n")
    assert out.split("\n")[6] == "      q = a"
