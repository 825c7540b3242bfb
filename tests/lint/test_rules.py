"""Every rule: a positive fixture with exactly the expected findings, a negative fixture
without any finding of that rule, and documentation in the rule module."""
from __future__ import annotations

import pytest

from conftest import FIXTURES, run_cli

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
    "FT106_pos.f90": [("FT106", 9, 44), ("FT106", 10, 35), ("FT106", 11, 35), ("FT106", 12, 35),
                      ("FT106", 13, 35), ("FT106", 14, 35), ("FT106", 15, 35), ("FT106", 16, 35)],
    "FT900_pos.f90": [("FT001", 3, 3), ("FT900", 6, 3)],
    "cpp_retry.F90": [("FT002", 14, 3)],
    "noqa.f90": [("FT002", 10, 3), ("FT002", 11, 3)],
}
NEGATIVE = ["FT001_neg.f90", "FT002_neg.f90", "FT003_neg.f90", "FT004_neg.f90", "FT005_neg.f90",
            "FT101_neg.f90", "FT102_neg.f90", "FT103_neg.f90", "FT104_neg.f90", "FT105_neg.f90",
            "FT106_neg.f90", "FT900_neg.f90", "file_noqa.f90"]
CODES = ["FT001", "FT002", "FT003", "FT004", "FT005", "FT101", "FT102", "FT103", "FT104", "FT105", "FT106",
         "FT900"]


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
    assert [(c, l, col) for _p, c, l, col in found] == EXPECTED[fixture]


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

    for name in ("torch_tensor", "torch_kCPU", "torch_kFloat64", "torch_kMean", "torch_tensor_backward",
                 "torch_optim_AdamW", "torch_loss_bce_with_logits", "torch_model_parameters"):
        assert api.canonical(name.lower()) == name
    assert "assignment(=)" in api.PUBLIC and "operator(**)" in api.PUBLIC
    assert {"ftorch", "ftorch_tensor", "ftorch_types", "ftorch_devices", "ftorch_model", "ftorch_optim",
            "ftorch_loss"} == set(api.ALIASES)
