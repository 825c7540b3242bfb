"""Every rule: a positive fixture with exactly the expected findings, a negative fixture
without any finding of that rule, and documentation in the rule module."""

from __future__ import annotations

import re

import pytest

from tests.lint.conftest import FIXTURES, run_cli

EXPECTED = {
    "FT001_pos.f90": [("FT001", 4, 3), ("FT001", 17, 3), ("FT001", 26, 3)],
    "FT001_pos_fixed.f": [("FT001", 3, 7)],
    "FT002_pos.f90": [("FT002", 15, 5), ("FT002", 16, 17), ("FT002", 18, 5)],
    "FT003_pos.f90": [("FT003", 7, 13), ("FT003", 8, 7), ("FT003", 9, 14), ("FT003", 10, 9)],
    "FT004_pos.f90": [("FT004", 3, 50), ("FT004", 4, 34), ("FT004", 17, 23)],
    "FT005_pos.f90": [("FT005", 10, 7), ("FT005", 11, 11), ("FT005", 12, 11)],
    "FT101_pos.f90": [("FT101", 18, 3), ("FT101", 33, 5)],
    "FT102_pos.f90": [("FT102", 10, 3), ("FT102", 15, 3)],
    "FT103_pos.f90": [("FT103", 14, 3), ("FT103", 28, 5)],
    "FT104_pos.f90": [("FT104", 15, 3), ("FT104", 16, 3)],
    "FT105_pos.f90": [("FT105", 12, 5), ("FT105", 13, 5)],
    "FT106_pos.f90": [
        ("FT106", 9, 44),
        ("FT106", 10, 35),
        ("FT106", 11, 35),
        ("FT106", 12, 35),
        ("FT106", 13, 35),
        ("FT106", 14, 35),
        ("FT106", 15, 35),
        ("FT106", 16, 35),
    ],
    "FT900_pos.f90": [("FT001", 3, 3), ("FT900", 6, 3)],
    "cpp_retry.F90": [("FT002", 14, 3)],
    "noqa.f90": [("FT002", 10, 3), ("FT002", 11, 3)],
    # issue 12: one fixture per pattern found on real code (each failed before the fix)
    "FT001_unparsed_pos.f90": [("FT001", 4, 3), ("FT900", 6, 3)],
    "FT004_cpp_pos.F90": [("FT004", 4, 76)],
    "FT101_optim_pos.f90": [("FT101", 19, 3), ("FT101", 22, 3), ("FT101", 43, 3)],
    "FT102_nosave_pos.f90": [("FT102", 16, 3), ("FT102", 23, 3)],
    "FT103_expr_pos.f90": [("FT103", 16, 5)],
    "FT104_scope_pos.f90": [("FT104", 22, 5)],
    "FT105_element_pos.f90": [("FT105", 11, 5)],
    "FT107_pos.f90": [
        ("FT107", 12, 38),
        ("FT107", 13, 38),
        ("FT107", 14, 38),
        ("FT107", 15, 38),
        ("FT107", 16, 38),
        ("FT107", 17, 38),
    ],
    "FT108_pos.f90": [("FT108", 11, 5), ("FT108", 12, 5), ("FT108", 13, 5)],
}
NEGATIVE = [
    "FT001_neg.f90",
    "FT002_neg.f90",
    "FT003_neg.f90",
    "FT004_neg.f90",
    "FT005_neg.f90",
    "FT101_neg.f90",
    "FT102_neg.f90",
    "FT103_neg.f90",
    "FT104_neg.f90",
    "FT105_neg.f90",
    "FT106_neg.f90",
    "FT107_neg.f90",
    "FT108_neg.f90",
    "FT900_neg.f90",
    "file_noqa.f90",
    "FT004_cpp_neg.F90",
    "FT101_optim_neg.f90",
    "FT102_nosave_neg.f90",
    "FT103_expr_neg.f90",
    "FT103_optim_neg.f90",
    "FT104_scope_neg.f90",
    "FT105_element_neg.f90",
    "cpp_nodirective_neg.F90",
]
CODES = [
    "FT001",
    "FT002",
    "FT003",
    "FT004",
    "FT005",
    "FT101",
    "FT102",
    "FT103",
    "FT104",
    "FT105",
    "FT106",
    "FT107",
    "FT108",
    "FT900",
]


def findings(*args):
    code, out, err = run_cli([*args, "--no-cache", "--output-format", "concise"], cwd=FIXTURES)
    found = []
    for line in out.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit():
            found.append((parts[0], parts[3].split()[0], int(parts[1]), int(parts[2])))
    return code, found, err


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_positive_fixture(fixture):
    code, found, err = findings(fixture)
    assert code == 1, err
    assert [(c, line, col) for _p, c, line, col in found] == EXPECTED[fixture]


@pytest.mark.parametrize("fixture", NEGATIVE)
def test_negative_fixture(fixture):
    code, found, err = findings(fixture)
    assert (code, found) == (0, []), err


@pytest.mark.parametrize("code", CODES)
def test_every_rule_has_both_fixtures(code):
    assert (FIXTURES / f"{code}_pos.f90").exists()
    assert (FIXTURES / f"{code}_neg.f90").exists()
    assert any(c == code for exp in EXPECTED.values() for c, _l, _col in exp)


def test_include_findings_are_reported_in_the_include_file():
    code, found, _ = findings("include_main.f90")
    assert code == 1
    assert found == [("inc/ops.inc", "FT003", 1, 7)]


def test_fixed_form_columns():
    _code, found, _ = findings("FT001_pos_fixed.f")
    assert found == [("FT001_pos_fixed.f", "FT001", 3, 7)]


@pytest.mark.parametrize("code", CODES)
def test_explain_prints_the_rule_documentation(code):
    rc, out, _ = run_cli(["--explain", code])
    assert rc == 0
    assert out.startswith(f"# {code} (")
    assert "## What it does" in out and "## Why is this bad?" in out
    if code != "FT900":
        assert "## Example" in out


def test_rule_metadata():
    from preprocess.rules import all_rules

    rules = all_rules()
    assert [r.code for r in rules] == CODES
    names = [r.name for r in rules]
    assert len(set(names)) == len(names)
    for r in rules:
        assert r.severity in ("error", "warning", "info")
        assert r.name == r.name.lower() and " " not in r.name
        assert r.doc().startswith(f"{r.code} `{r.name}`")
    by = {r.code: r for r in rules}
    assert by["FT005"].severity == "info" and by["FT103"].severity == "warning"
    assert by["FT106"].severity == "error" and not by["FT106"].fixable
    assert by["FT001"].fixable and by["FT004"].fixable


def test_ftorch_api_table_is_the_single_source():
    from preprocess import ftorch_api as api

    for name in (
        "torch_tensor",
        "torch_kCPU",
        "torch_kFloat64",
        "torch_kMean",
        "torch_tensor_backward",
        "torch_optim_AdamW",
        "torch_loss_bce_with_logits",
        "torch_model_parameters",
    ):
        assert api.canonical(name.lower()) == name
    assert "assignment(=)" in api.PUBLIC and "operator(**)" in api.PUBLIC
    assert {
        "ftorch",
        "ftorch_tensor",
        "ftorch_types",
        "ftorch_devices",
        "ftorch_model",
        "ftorch_optim",
        "ftorch_loss",
    } == set(api.ALIASES)


#: text that only a template left unfilled would print
PLACEHOLDERS = re.compile(
    r"\.\.\.\s*:\s*\.\.\.|: \.\.\.\)|\(\.\.\.\)|`\.\.\.`|\bNone\b|\{[a-z_]+\}|<[a-z_]+>|\bTODO\b|\?\?\?"
)


def test_no_placeholder_text_in_any_message():
    """Issue 12 item 11: every message produced over every fixture, in every rule, is
    complete text (FT001 once printed a literal "...: ..." on a file it could not parse)."""
    import json

    names = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())
    rc, out, err = run_cli([*names, "--no-cache", "--output-format", "json"], cwd=FIXTURES)
    assert rc == 1, err
    diags = json.loads(out)
    assert {d["code"] for d in diags} == set(CODES)
    bad = [
        (d["filename"], d["location"]["row"], d["message"])
        for d in diags
        if PLACEHOLDERS.search(d["message"]) or (d["fix"] and PLACEHOLDERS.search(d["fix"]["message"]))
    ]
    assert not bad, bad


def test_placeholder_pattern_catches_the_old_ft001_message():
    old = (
        "bare `use ftorch`: add an `only:` list (the file did not parse, so operators could not be "
        "inferred; FTorch names seen in the file: ...)"
    )
    assert PLACEHOLDERS.search(old)
    assert PLACEHOLDERS.search("x ...: ...")
    assert not PLACEHOLDERS.search("`torch_tensor_from_array(t, [3.0], ...)` views a temporary")
