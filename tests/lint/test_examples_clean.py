"""The project's own Fortran examples follow the practice the linter teaches."""

from __future__ import annotations

from pathlib import Path

from preprocess.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_examples_lint_clean(capsys):
    assert main([str(ROOT / "examples"), "--no-cache"]) == 0, capsys.readouterr().out


def test_linter_reports_a_broken_copy_of_an_example(tmp_path, capsys):
    source = (ROOT / "examples" / "autograd" / "autograd.f90").read_text()
    broken = source.replace("use ftorch, only: assignment(=), ", "use ftorch, only: ", 1)
    assert broken != source
    (tmp_path / "autograd.f90").write_text(broken)
    assert main([str(tmp_path), "--no-cache", "--select", "FT002"]) == 1
    assert "FT002" in capsys.readouterr().out
