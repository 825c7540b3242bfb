"""The documentation: the site builds without warnings and documents every public name; the
lint rule pages are `pyftorch lint --explain`; the rules table of preprocess/README.md
matches the rules; the C ABI page documents every function of ftorch.h."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
docs_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs_build)

from preprocess.rules import all_rules  # noqa: E402  (after docs/build.py put the checkout on sys.path)


def readme_rules_table() -> dict[str, list[str]]:
    text = (ROOT / "preprocess" / "README.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"FT\d{3}", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_readme_rules_table_lists_every_rule_as_implemented():
    rows = readme_rules_table()
    rules = {r.code: r for r in all_rules()}
    assert sorted(rows) == sorted(rules), "preprocess/README.md's rules table and the rule modules differ"
    for code, rule in rules.items():
        _, name, severity, fix, summary = rows[code][:5]
        assert name == f"`{rule.name}`", (code, name)
        assert severity == rule.severity, (code, severity)
        assert (fix == "yes") == rule.fixable, (code, fix)
        assert summary, code


def test_rule_pages_are_the_explain_text(tmp_path):
    docs_build.rule_pages(tmp_path)
    for rule in all_rules():
        explain = subprocess.run(
            [sys.executable, "-m", "pyftorch", "lint", "--explain", rule.code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        assert (tmp_path / f"{rule.code}.md").read_text() == explain
        assert f"[{rule.code}]({rule.code}.md)" in (tmp_path / "index.md").read_text()


def test_c_abi_page_documents_every_function():
    header = ROOT / "fsrc" / "include" / "ftorch.h"
    page, undocumented = docs_build.c_abi_markdown(header)
    assert undocumented == []
    functions = re.findall(r"^FT_API[^;(]*?\b(\w+)\s*\(", header.read_text(), re.M)
    assert len(functions) > 50
    for name in functions:
        assert f"### `{name}`" in page, name


def test_c_abi_generator_reports_an_undocumented_function(tmp_path):
    header = tmp_path / "h.h"
    header.write_text(
        "/*\n * t\n * t\n */\n/* ---\n * Section\n * --- */\n"
        "/* Documented. */\nFT_API int ft_a(void);\n"
        "/* ---\n * Other\n * --- */\nFT_API int ft_b(void);\n"
    )
    _, undocumented = docs_build.c_abi_markdown(header)
    assert undocumented == ["ft_b"]


def test_python_public_names_have_docstrings():
    assert docs_build.python_undocumented() == []


@pytest.mark.slow
def test_make_docs_builds_cleanly(install, tmp_path):
    """`make docs`: Sphinx and FORD without a warning, every public name documented."""
    out = tmp_path / "docs"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), "--out", str(out)], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in (
        "index.html",
        "python.html",
        "capi.html",
        "guides/getting-started.html",
        "lint/FT101.html",
        "fortran/index.html",
        "fortran/module/ftorch_tensor.html",
    ):
        assert (out / page).is_file(), page
    backward = (out / "fortran" / "interface" / "torch_tensor_backward.html").read_text()
    assert "retain_graph" in backward and "torch_stat_autograd" in backward
