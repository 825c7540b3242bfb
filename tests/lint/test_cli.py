"""Command line: selection, exit codes, configuration, discovery, formats, cache, jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.lint.conftest import REPO, lint_source, run_cli

BAD = textwrap.dedent("""\
    subroutine s(q, a)
      use ftorch, only: torch_tensor, operator(*), operator(+)
      type(torch_tensor) :: q, a
      q = a * a
      q = 2.0 * a
    end subroutine s
    """)


def write(tmp_path, name, text):
    p = Path(tmp_path) / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def codes(out):
    return sorted({line.split()[1] for line in out.splitlines() if line.count(":") >= 3 and " FT" in line})


def test_exit_codes_and_default_path(tmp_path):
    write(tmp_path, "a.f90", BAD)
    rc, out, _ = run_cli(["--no-cache"], cwd=tmp_path)
    assert rc == 1 and codes(out) == ["FT002", "FT004", "FT005"]
    rc, _out, _ = run_cli(["--no-cache", "--exit-zero"], cwd=tmp_path)
    assert rc == 0
    write(tmp_path, "a.f90", "subroutine s\nend subroutine s\n")
    rc, out, _ = run_cli(["--no-cache"], cwd=tmp_path)
    assert rc == 0 and "All checks passed!" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["--select", "FT999"],
        ["--select", "nonsense-rule"],
        ["missing_dir"],
        ["--output-format", "xml"],
        ["--jobs", "0"],
        ["--explain", "FT777"],
        ["--fix", "--diff"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    rc, _out, err = run_cli([*args, "--no-cache"], cwd=tmp_path)
    assert rc == 2
    assert "error" in err


@pytest.mark.parametrize(
    "sel,expected",
    [
        (["--select", "FT002"], ["FT002"]),
        (["--select", "missing-assignment-import,scalar-operand"], ["FT002", "FT005"]),
        (["--select", "FT00"], ["FT002", "FT004", "FT005"]),
        (["--ignore", "FT005"], ["FT002", "FT004"]),
        (["--ignore", "unused-operator-import", "--ignore", "FT002"], ["FT005"]),
        (["--select", "FT002", "--extend-select", "FT004"], ["FT002", "FT004"]),
        (["--select", "FT1"], []),
    ],
)
def test_selection(tmp_path, sel, expected):
    write(tmp_path, "a.f90", BAD)
    rc, out, _ = run_cli(["a.f90", "--no-cache", *sel], cwd=tmp_path)
    assert codes(out) == expected
    assert rc == (1 if expected else 0)


def test_pyproject_config(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.pyftorch.lint]\nignore = ["FT005"]\noutput-format = "json"\n')
    write(tmp_path, "src/a.f90", BAD)
    rc, out, _ = run_cli(["--no-cache"], cwd=tmp_path / "src")
    assert rc == 1
    assert sorted({d["code"] for d in json.loads(out)}) == ["FT002", "FT004"]


def test_setup_cfg_config(tmp_path):
    write(tmp_path, "setup.cfg", "[pyftorch.lint]\nselect = FT002,\n  FT005\n")
    write(tmp_path, "a.f90", BAD)
    _rc, out, _ = run_cli(["--no-cache"], cwd=tmp_path)
    assert codes(out) == ["FT002", "FT005"]


def test_unknown_config_key_is_exit_2(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.pyftorch.lint]\nselekt = ["FT002"]\n')
    write(tmp_path, "a.f90", BAD)
    rc, _out, err = run_cli(["--no-cache"], cwd=tmp_path)
    assert rc == 2 and "selekt" in err


def test_explicit_config_path_and_bad_value(tmp_path):
    write(tmp_path, "lint.toml", 'select = ["FT004"]\n')
    write(tmp_path, "a.f90", BAD)
    rc, out, _ = run_cli(["--no-cache", "--config", "lint.toml"], cwd=tmp_path)
    assert codes(out) == ["FT004"]
    write(tmp_path, "bad.toml", 'output-format = "yaml"\n')
    rc, _out, err = run_cli(["--no-cache", "--config", "bad.toml"], cwd=tmp_path)
    assert rc == 2 and "output-format" in err


def test_gitignore_and_excludes(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "generated/\n")
    write(tmp_path, "generated/g.f90", BAD)
    write(tmp_path, "vendor/v.f90", BAD)
    write(tmp_path, "src/a.f90", BAD)
    write(tmp_path, "src/notes.txt", BAD)
    write(tmp_path, "pyproject.toml", '[tool.pyftorch.lint]\nextend-exclude = ["vendor"]\nselect = ["FT002"]\n')
    rc, out, _ = run_cli(["--no-cache"], cwd=tmp_path)
    files = {line.split(":")[0] for line in out.splitlines() if " FT" in line}
    assert files == {os.path.join("src", "a.f90")}
    rc, out, _ = run_cli(["--no-cache", "--no-respect-gitignore"], cwd=tmp_path)
    files = {line.split(":")[0] for line in out.splitlines() if " FT" in line}
    assert files == {os.path.join("src", "a.f90"), os.path.join("generated", "g.f90")}
    # an explicitly named file is always linted
    rc, out, _ = run_cli(["--no-cache", "vendor/v.f90"], cwd=tmp_path)
    assert rc == 1


def test_statistics(tmp_path):
    write(tmp_path, "a.f90", BAD)
    rc, out, _ = run_cli(["--no-cache", "--statistics"], cwd=tmp_path)
    rows = [line.split() for line in out.splitlines()]
    assert rc == 1
    assert [(r[0], r[1]) for r in rows] == [("2", "FT002"), ("1", "FT004"), ("1", "FT005")]
    assert "[*]" in out.splitlines()[1] and "[*]" not in out.splitlines()[0]


def test_github_levels(tmp_path):
    write(tmp_path, "a.f90", BAD)
    _rc, out, _ = run_cli(["--no-cache", "--output-format", "github"], cwd=tmp_path)
    kinds = sorted(line.split()[0] for line in out.splitlines())
    assert kinds == ["::error", "::error", "::notice", "::warning"]


def test_noqa_codes_names_and_file_level(tmp_path):
    text = BAD.replace("q = a * a", "q = a * a  ! noqa: missing-assignment-import")
    _rc, found, _ = lint_source(tmp_path, text)
    assert found == [("FT004", 2, 48), ("FT002", 5, 3), ("FT005", 5, 7)]
    text2 = "! pyftorch: noqa: FT005\n" + BAD
    _rc, found, _ = lint_source(tmp_path, text2)
    assert sorted(c for c, _l, _c in found) == ["FT002", "FT002", "FT004"]
    _rc, found, _ = lint_source(tmp_path, "! pyftorch: noqa\n" + BAD)
    assert found == []


def test_diff_writes_nothing_and_fix_applies(tmp_path):
    p = write(tmp_path, "a.f90", BAD)
    rc, out, _err = run_cli(["--no-cache", "--diff", "a.f90"], cwd=tmp_path)
    assert rc == 1
    assert out.startswith("--- a/a.f90") and "-  use ftorch, only: torch_tensor, operator(*), operator(+)" in out
    assert p.read_text() == BAD
    rc, out, _err = run_cli(["--no-cache", "--fix", "a.f90"], cwd=tmp_path)
    assert "use ftorch, only: torch_tensor, operator(*)\n" in p.read_text()
    assert "FT004" not in out and rc == 1  # FT002 and FT005 remain (not fixable)


def test_fix_keeps_crlf(tmp_path):
    p = tmp_path / "w.f90"
    p.write_bytes(BAD.replace("\n", "\r\n").encode())
    run_cli(["--no-cache", "--fix", "w.f90"], cwd=tmp_path)
    data = p.read_bytes()
    assert b"operator(+)" not in data and data.count(b"\r\n") == BAD.count("\n")


def test_cache_hit_and_invalidation(tmp_path):
    from preprocess.engine import run
    from preprocess.rules import all_rules
    from preprocess.runner import Settings

    write(tmp_path, "a.f90", BAD)
    settings = Settings(select=frozenset(r.code for r in all_rules()))
    cache = str(tmp_path / "cache")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        first = run(["a.f90"], settings, cache)
        second = run(["a.f90"], settings, cache)
        assert (first.cached, second.cached) == (0, 1)
        assert [d.to_dict() for d in first.diagnostics] == [d.to_dict() for d in second.diagnostics]
        other = Settings(select=frozenset({"FT002"}))
        third = run(["a.f90"], other, cache)
        assert third.cached == 0 and {d.code for d in third.diagnostics} == {"FT002"}
        write(tmp_path, "a.f90", BAD + "\n")
        assert run(["a.f90"], settings, cache).cached == 0
    finally:
        os.chdir(cwd)


def test_prescan_skips_files_without_ftorch(tmp_path):
    from preprocess.engine import run
    from preprocess.runner import Settings

    write(tmp_path, "plain.f90", "program p\n  x = = 1\nend program p\n")  # would be FT900 if parsed
    write(tmp_path, "uses.f90", BAD)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = run(["plain.f90", "uses.f90"], Settings(select=frozenset({"FT900", "FT002"})), None)
    finally:
        os.chdir(cwd)
    assert (res.files, res.candidates) == (2, 1)
    assert {d.path for d in res.diagnostics} == {"uses.f90"}


def test_parallel_workers_give_the_same_result(tmp_path, monkeypatch):
    from preprocess import engine
    from preprocess.rules import all_rules
    from preprocess.runner import Settings

    names = []
    for i in range(6):
        write(tmp_path, f"f{i}.f90", BAD.replace("subroutine s", f"subroutine s{i}"))
        names.append(f"f{i}.f90")
    settings = Settings(select=frozenset(r.code for r in all_rules()))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        serial = engine.run(names, settings, None, jobs=1)
        monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
        parallel = engine.run(names, settings, None, jobs=2)
    finally:
        os.chdir(cwd)
    assert [d.to_dict() for d in serial.diagnostics] == [d.to_dict() for d in parallel.diagnostics]
    assert len(serial.diagnostics) == 24


def test_reexport_modules_found_across_files_and_from_config(tmp_path):
    write(tmp_path, "ml.f90", "module ml\n  use ftorch\n  implicit none\nend module ml\n")
    write(tmp_path, "ml2.f90", "module ml2\n  use ftorch, only: torch_tensor, assignment(=)\nend module ml2\n")
    write(
        tmp_path,
        "user2.f90",
        "subroutine u2(q, a)\n  use ml2\n  type(torch_tensor) :: q, a\n  q = a * a\nend subroutine u2\n",
    )
    user = textwrap.dedent("""\
        subroutine u(q, a)
          use ml
          type(torch_tensor) :: q, a
          q = a * a
        end subroutine u
        """)
    write(tmp_path, "user.f90", user)
    rc, out, _ = run_cli(["--no-cache", "--select", "FT002,FT003"], cwd=tmp_path)
    # ml re-exports everything; ml2 re-exports assignment(=) but not operator(*)
    assert out.splitlines()[:-1] == [
        "user2.f90:4:9: FT003 operator `*` on torch_tensor but `operator(*)` is not "
        "imported; add `operator(*)` to the `use ftorch, only:` list of subroutine `u2` "
        "or a host"
    ], out
    # alone, user.f90 mentions neither ftorch nor a known re-exporting module: the pre-scan skips it
    from preprocess.engine import run
    from preprocess.runner import Settings

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run(["user.f90"], Settings(select=frozenset({"FT002"})), None).candidates == 0
    finally:
        os.chdir(cwd)
    # ... unless the module is configured as re-exporting
    write(tmp_path, "pyproject.toml", '[tool.pyftorch.lint]\nreexport-modules = ["ml"]\n')
    rc, out, _ = run_cli(["--no-cache", "--select", "FT002,FT003", "user.f90"], cwd=tmp_path)
    assert rc == 0, out


def test_python_dash_m_entry_point(tmp_path):
    write(tmp_path, "a.f90", BAD)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "preprocess", "--no-cache", "--select", "FT002", "a.f90"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("a.f90:4:3: FT002 ")


def test_pre_commit_hook_definition():
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "id: pyftorch-lint" in text and "entry: pyftorch lint" in text
    assert "language: python" in text and "types_or: [fortran]" in text
    import re

    m = re.search(r"files: '([^']+)'", text)
    rx = re.compile(m.group(1))
    for name in ("a.f", "b.F", "c.for", "d.f90", "e.F90", "f.fpp", "g.FPP"):
        assert rx.search(name), name
    assert not rx.search("notes.txt")
