"""Robustness: random and mutated Fortran never crashes the linter.

Properties checked on every example:
* ``preprocess.cli.main`` returns 0, 1 or 2 and never raises; a normal invocation on a
  readable file returns 0 or 1;
* no rule crashes (an internal error would surface as an "internal error" diagnostic);
* a file that fparser cannot parse is reported as FT900.
"""

from __future__ import annotations

import os
import re
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preprocess.rules import all_rules
from tests.lint.conftest import FIXTURES, run_cli

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
#: Every rule, FT900 included (test_rules checks the registry against its own list).
ALL_CODES = frozenset(rule.code for rule in all_rules())
FIXTURE_TEXTS = sorted((p.name, p.read_bytes()) for p in FIXTURES.iterdir() if p.is_file())
HEADER = (
    "subroutine fuzz(q, a, b)\n  use ftorch, only: torch_tensor, assignment(=), operator(+), operator(*)\n"
    "  type(torch_tensor) :: q, a, b\n"
)
FOOTER = "end subroutine fuzz\n"


def check_bytes(data: bytes, name: str = "fuzz.f90"):
    from preprocess.runner import Settings, lint_text

    diags, parsed = lint_text(name, name, data, Settings(select=ALL_CODES), {})
    for d in diags:
        assert "internal error" not in d.message, d.message
        assert d.line >= 1 and d.column >= 1 and d.end_line >= d.line
    # A parse failure is reported, unless a file-level `! pyftorch: noqa` silences the file
    # (hypothesis found a truncated copy of the file_noqa fixture that fails to parse).
    if not parsed and not re.search(rb"(?im)^[ \t]*![ \t]*pyftorch[ \t]*:[ \t]*noqa\b", data):
        assert any(d.code == "FT900" for d in diags)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, name), "wb") as fh:
            fh.write(data)
        rc, _out, err = run_cli([name, "--no-cache"], cwd=tmp)
        assert rc in (0, 1), err
        assert "internal error" not in err
        for fmt in ("full", "sarif"):
            rc2, _o, err2 = run_cli([name, "--no-cache", "--output-format", fmt], cwd=tmp)
            assert rc2 == rc, err2
    return diags, parsed


FORTRAN_ALPHABET = st.sampled_from(
    list("abqxyz0123456789 ()[],:;=+-*/%&!'\".\n\t#")
    + [
        "use ftorch",
        "call ",
        "do i=1,2\n",
        "end do\n",
        "if (x) ",
        "then\n",
        "end if\n",
        " ** ",
        "torch_tensor_backward(q)",
        "**",
        "//",
        "(/",
        "/)",
    ]
)


@settings(max_examples=40, **SETTINGS)
@given(st.lists(FORTRAN_ALPHABET, max_size=60))
def test_random_fortranish_text(parts):
    check_bytes((HEADER + "".join(parts) + "\n" + FOOTER).encode())


@settings(max_examples=30, **SETTINGS)
@given(st.binary(max_size=400))
def test_random_bytes(data):
    check_bytes(b"use ftorch\n" + data)
    check_bytes(data, name="fuzz.f")


@settings(max_examples=40, **SETTINGS)
@given(st.sampled_from(FIXTURE_TEXTS), st.data())
def test_mutated_fixtures(fixture, data):
    name, text = fixture
    lines = text.split(b"\n")
    op = data.draw(st.sampled_from(["truncate", "drop", "dup", "swap", "insert"]))
    if op == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    elif op == "drop" and lines:
        del lines[data.draw(st.integers(0, len(lines) - 1))]
        text = b"\n".join(lines)
    elif op == "dup" and lines:
        i = data.draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        text = b"\n".join(lines)
    elif op == "swap" and len(lines) > 1:
        i = data.draw(st.integers(0, len(lines) - 2))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        text = b"\n".join(lines)
    else:
        i = data.draw(st.integers(0, len(lines)))
        junk = data.draw(
            st.sampled_from(
                [
                    b"  q = (a",
                    b"  end",
                    b"  call torch_tensor_backward(q)",
                    b"#ifdef X",
                    b"#endif",
                    b"  x = &",
                    b"  q = a ** -",
                    b"\xff\xfe",
                ]
            )
        )
        lines.insert(i, junk)
        text = b"\n".join(lines)
    check_bytes(text, name=name if not name.startswith("inc") else "x.f90")


@settings(max_examples=12, **SETTINGS)
@given(st.integers(1, 90), st.integers(1, 400))
def test_deep_nesting_and_long_sums(depth, terms):
    expr = "(" * depth + "a" + " + b)" * depth
    total = " + ".join(["a"] * terms)
    blocks = "".join(f"{'  ' * k}if (.true.) then\n" for k in range(min(depth, 40)))
    ends = "".join("end if\n" for _ in range(min(depth, 40)))
    body = f"  q = {expr}\n  q = {total}\n{blocks}  q = a * b\n{ends}"
    diags, parsed = check_bytes((HEADER + body + FOOTER).encode())
    if parsed:
        assert not any(d.code in ("FT002", "FT003") for d in diags)


UNSUPPORTED = [
    "  real :: x(..)\n",
    "  type(*) :: y\n",
    "  real :: z[*]\n",
    "  select rank (x)\n  rank (1)\n    q = a\n  end select\n",
    "  implicit none (type, external)\n",
    "  error stop\n",
    "  do concurrent (i = 1:2)\n    q = a\n  end do\n",
]


@settings(max_examples=20, **SETTINGS)
@given(st.lists(st.sampled_from(UNSUPPORTED), min_size=1, max_size=3))
def test_unsupported_f2018_syntax(snips):
    check_bytes((HEADER + "".join(snips) + FOOTER).encode())


CPP = [
    "#ifdef GPU\n",
    "#else\n",
    "#endif\n",
    "#define CHECK(x) if (.not.(x)) stop 1\n",
    "  CHECK(.true.)\n",
    "#if defined(A) && B > 2\n",
    '#include "missing.h"\n',
    "#define N 3\n",
    "  q = a * b\n",
    "#undef N\n",
    "#error nope\n",
    "  q = a + &\n#ifdef X\n      b\n#else\n      a\n#endif\n",
]


@settings(max_examples=30, **SETTINGS)
@given(st.lists(st.sampled_from(CPP), max_size=8))
def test_cpp_heavy_files(parts):
    check_bytes((HEADER + "".join(parts) + FOOTER).encode(), name="fuzz.F90")


def test_unreadable_and_odd_inputs(tmp_path):
    (tmp_path / "empty.f90").write_bytes(b"")
    (tmp_path / "nul.f90").write_bytes(b"use ftorch\x00\x00\n")
    (tmp_path / "latin1.f90").write_bytes("! caf\xe9\nsubroutine s\n use ftorch\nend subroutine s\n".encode("latin-1"))
    rc, out, err = run_cli(["--no-cache", "."], cwd=tmp_path)
    assert rc == 1 and "internal error" not in err
    assert "latin1.f90:3:2: FT001" in out
