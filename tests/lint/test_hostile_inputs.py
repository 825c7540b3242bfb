"""Inputs that used to hang, exhaust memory or pass silently (issue 12, robustness).

* Only regular files are read: a FIFO or a symlink to a device is reported as skipped (a
  warning on stderr, no finding, exit code unaffected, like ruff).  These run the CLI in a
  subprocess with a timeout, so a regression fails instead of hanging the suite.
* Files above the size limit that use ftorch get one FT900 "file not checked".
* UTF-16 (with or without a byte-order mark) is decoded, checked and fixed in place.
* Long statements and flat sums parse (no FT900, no RecursionError) and the findings
  around them keep their lines and columns.
* The C preprocessor runs like gfortran's, with ``-D``, ``--cpp``/``--no-cpp`` and the
  ``cpp`` config key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.lint.conftest import REPO, run_cli

HEAD = (
    "module m\n  use ftorch, only: torch_tensor, assignment(=), operator(+)\n  implicit none\ncontains\n"
    "  subroutine s(q, a, x)\n    type(torch_tensor) :: q, a, t(10)\n    real :: x(10), y\n"
)
TAIL = "  end subroutine s\nend module m\n"
# after the long statement: a product without operator(*) (FT003 at a known column)
CHECK = "    q = a * a\n"


def cli(args, cwd, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "preprocess", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def concise(out):
    found = []
    for line in out.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit():
            found.append((parts[0], parts[3].split()[0], int(parts[1]), int(parts[2])))
    return found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_and_device_symlink_are_skipped(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    os.mkfifo(d / "pipe.f90")
    os.symlink("/dev/zero", d / "zero.f90")
    (d / "ok.f90").write_text(HEAD + CHECK + TAIL)
    proc = cli(["src", "--no-cache"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert concise(proc.stdout) == [("src/ok.f90", "FT003", 8, 11)]
    assert "skipped src/pipe.f90: a FIFO" in proc.stderr
    assert "skipped src/zero.f90: a character device" in proc.stderr
    # named explicitly: still skipped, and nothing else to report
    proc = cli(["src/pipe.f90", "--no-cache"], tmp_path)
    assert proc.returncode == 0 and "skipped src/pipe.f90" in proc.stderr


def test_size_limit(tmp_path):
    body = "".join(f"    y = x({i % 10 + 1})\n" for i in range(2000))
    (tmp_path / "big.f90").write_text(HEAD + body + CHECK + TAIL)
    (tmp_path / "plain.f90").write_text("subroutine p\n" + "  x = 1\n" * 4000 + "end subroutine p\n")
    rc, out, err = run_cli(["--no-cache", "--max-file-size", "16K", "--output-format", "json", "."], cwd=tmp_path)
    diags = json.loads(out)
    assert rc == 1, err
    assert [(d["code"], os.path.basename(d["filename"])) for d in diags] == [("FT900", "big.f90")]
    assert "above the size limit of 0.0 MiB" not in diags[0]["message"]
    assert "file not checked" in diags[0]["message"] and "max-file-size" in diags[0]["message"]
    # the same limit from the configuration, and a limit that lets it through
    (tmp_path / "pyproject.toml").write_text('[tool.pyftorch.lint]\nmax-file-size = "16K"\n')
    rc, out, _ = run_cli(["--no-cache", "big.f90"], cwd=tmp_path)
    assert [c for _p, c, _l, _c in concise(out)] == ["FT900"]
    rc, out, _ = run_cli(["--no-cache", "--max-file-size", "1M", "big.f90"], cwd=tmp_path)
    assert concise(out) == [("big.f90", "FT003", 2008, 11)]
    rc, _out, err = run_cli(["--no-cache", "--max-file-size", "lots", "big.f90"], cwd=tmp_path)
    assert rc == 2 and "max-file-size" in err


@pytest.mark.parametrize(
    "codec,bom",
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""), ("utf-8", b"\xef\xbb\xbf")],
)
def test_utf16_is_decoded_and_fixed_in_its_encoding(tmp_path, codec, bom):
    src = (
        HEAD.replace("operator(+)", "operator(+), operator(-)").replace("implicit none", "implicit none\n  private")
        + "    q = a + a\n"
        + TAIL
    )
    (tmp_path / "u.f90").write_bytes(bom + src.replace("\n", "\r\n").encode(codec))
    rc, out, _ = run_cli(["--no-cache", "u.f90"], cwd=tmp_path)
    assert rc == 1
    assert concise(out) == [("u.f90", "FT004", 2, 63)]
    rc, out, err = run_cli(["--no-cache", "--fix", "u.f90"], cwd=tmp_path)
    assert rc == 0, out + err
    data = (tmp_path / "u.f90").read_bytes()
    assert data.startswith(bom)
    assert data[len(bom) :].decode(codec) == src.replace("operator(+), operator(-)", "operator(+)").replace(
        "\n", "\r\n"
    )


def long_statements():
    plain64k = " + ".join(f"x({i % 10 + 1})*{i}.0" for i in range(6000))[:65000].rsplit(" + ", 1)[0]
    rows = [" + ".join(f"x({(i + k) % 10 + 1})*{i + k}.0" for k in range(10)) for i in range(0, 2490, 10)]
    return {
        "plain_64k_line": f"    y = {plain64k}\n",
        "plain_32k_249_continuations": "    y = " + " + &\n        ".join(rows) + "\n",
        "tensor_flat_sum_1400": "    q = " + " + ".join(["a"] * 1400) + "\n",
        "plain_flat_sum_1400": "    y = " + " + ".join(["x(1)"] * 1400) + "\n",
        "tensor_elements_64k": "    q = "
        + " + ".join(f"t({i % 10 + 1})" for i in range(10000))[:64000].rsplit(" + ", 1)[0]
        + "\n",
        "plain_1mb_line": "    y = " + " + ".join(["x(2)"] * 150000) + "\n",
    }


@pytest.mark.parametrize("name", sorted(long_statements()))
def test_long_statements_parse_and_keep_positions(tmp_path, name):
    stmt = long_statements()[name]
    (tmp_path / "long.f90").write_text(HEAD + stmt + CHECK + TAIL)
    proc = cli(["long.f90", "--no-cache"], tmp_path, timeout=300)
    line = HEAD.count("\n") + stmt.count("\n") + 1
    assert concise(proc.stdout) == [("long.f90", "FT003", line, 11)], proc.stdout[:2000] + proc.stderr


def test_flat_sum_does_not_hit_the_recursion_limit():
    """Used to end in "internal error ... RecursionError (please report)"."""
    from preprocess.rules import all_rules
    from preprocess.runner import Settings, lint_text

    src = HEAD + "    q = " + " + ".join(f"(a + a * {k}.0)" for k in range(1400)) + "\n" + TAIL
    diags, parsed = lint_text(
        "f.f90", "f.f90", src.encode(), Settings(select=frozenset(r.code for r in all_rules())), {}
    )
    assert parsed
    assert not any("internal error" in d.message or d.code == "FT900" for d in diags), diags[:3]
    assert {d.code for d in diags} == {"FT003", "FT005"}


MACRO = (
    "subroutine s(q, a, b)\n  use ftorch, only: torch_tensor, assignment(=)\n  implicit none\n"
    "  type(torch_tensor) :: q, a, b\n  q = PRODUCT_OF(a, b)\nend subroutine s\n"
)


def test_define_applies(tmp_path):
    (tmp_path / "m.F90").write_text(MACRO)
    rc, out, _ = run_cli(["--no-cache", "m.F90"], cwd=tmp_path)
    assert rc == 0, out  # an unknown function of the tensors: nothing provable
    rc, out, _ = run_cli(["--no-cache", "m.F90", "-DPRODUCT_OF(x,y)=x*y"], cwd=tmp_path)
    # the expanded line is not the written one: the finding covers the written statement
    assert concise(out) == [("m.F90", "FT003", 5, 3)]
    (tmp_path / "pyproject.toml").write_text('[tool.pyftorch.lint]\ndefines = ["PRODUCT_OF(x,y)=x*y"]\n')
    rc, out, _ = run_cli(["--no-cache", "m.F90"], cwd=tmp_path)
    assert concise(out) == [("m.F90", "FT003", 5, 3)]


LINE_MACRO = (
    "subroutine s(a, b)\n  use ftorch, only: torch_tensor, assignment(=)\n  implicit none\n"
    "  type(torch_tensor) :: a, b\n  character(len=*), parameter :: here = __FILE__\n"
    "  if (len(here) > 0) a = b\nend subroutine s\n"
)


def test_cpp_options(tmp_path):
    (tmp_path / "upper.F90").write_text(LINE_MACRO)
    (tmp_path / "lower.f90").write_text(LINE_MACRO)

    def codes(out):
        return sorted({c for _p, c, _l, _col in concise(out)})

    assert codes(run_cli(["--no-cache", "upper.F90"], cwd=tmp_path)[1]) == []
    assert codes(run_cli(["--no-cache", "lower.f90"], cwd=tmp_path)[1]) == ["FT900"]  # gfortran: no cpp
    assert codes(run_cli(["--no-cache", "--cpp", "lower.f90"], cwd=tmp_path)[1]) == []
    assert codes(run_cli(["--no-cache", "--no-cpp", "upper.F90"], cwd=tmp_path)[1]) == ["FT900"]
    rc, _o, _err = run_cli(["--no-cache", "--cpp", "--no-cpp", "upper.F90"], cwd=tmp_path)
    assert rc == 2
    (tmp_path / "pyproject.toml").write_text("[tool.pyftorch.lint]\ncpp = false\n")
    assert codes(run_cli(["--no-cache", "upper.F90"], cwd=tmp_path)[1]) == ["FT900"]
    assert codes(run_cli(["--no-cache", "--cpp", "upper.F90"], cwd=tmp_path)[1]) == []


def test_fpp_files_are_found_preprocessed_and_sniffed(tmp_path):
    """``.fpp`` is preprocessed (as gfortran does) and its source form is sniffed: fixed
    form for gfortran, but many projects compile it as free form."""
    free = (
        "subroutine s(q, a)\n  use ftorch, only: torch_tensor, assignment(=)\n  implicit none\n"
        "  type(torch_tensor) :: q, a\n  integer, parameter :: here = __LINE__\n  q = a * &\n      a\n"
        "end subroutine s\n"
    )
    fixed = (
        "      subroutine s(q, a)\n      use ftorch, only: torch_tensor, assignment(=)\n"
        "      type(torch_tensor) q, a\n      integer here\n      parameter (here = __LINE__)\n"
        "      q = a *\n     &    a\n      end\n"
    )
    (tmp_path / "free.fpp").write_text(free)
    (tmp_path / "fixed.FPP").write_text(fixed)
    _rc, out, err = run_cli(["--no-cache", "."], cwd=tmp_path)
    assert sorted(concise(out)) == [("fixed.FPP", "FT003", 6, 13), ("free.fpp", "FT003", 6, 9)], out + err
