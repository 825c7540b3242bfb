"""Golden outputs: every fixture in every output format.

Regenerate with ``PYFTORCH_UPDATE_GOLDEN=1 pytest tests/lint/test_golden.py`` and review
the diff.  Absolute paths are replaced by ``<FIXTURES>``.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.lint.conftest import FIXTURES, GOLDEN, SCHEMA, run_cli

FORMATS = ("concise", "full", "json", "sarif", "github")
FIXTURE_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())
UPDATE = os.environ.get("PYFTORCH_UPDATE_GOLDEN") == "1"


def _normalise(text: str) -> str:
    return text.replace(str(FIXTURES), "<FIXTURES>")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("fixture", FIXTURE_FILES)
def test_golden(fixture, fmt, cache_dir):
    code, out, err = run_cli([fixture, "--output-format", fmt, "--cache-dir", cache_dir], cwd=FIXTURES)
    assert code in (0, 1), err
    got = _normalise(out)
    golden = GOLDEN / f"{fixture}.{fmt}"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"missing golden file {golden.name}; run with PYFTORCH_UPDATE_GOLDEN=1"
    assert got == golden.read_text()
    # negative fixtures (and fully suppressed ones) are clean, everything else has findings
    clean = fixture.rsplit(".", 1)[0].endswith("_neg") or fixture == "file_noqa.f90"
    assert code == (0 if clean else 1)


def _validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize("fixture", FIXTURE_FILES)
def test_sarif_validates(fixture, cache_dir):
    code, out, _ = run_cli([fixture, "--output-format", "sarif", "--cache-dir", cache_dir], cwd=FIXTURES)
    log = json.loads(out)
    errors = sorted(_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    results = log["runs"][0]["results"]
    assert (len(results) > 0) == (code == 1)


def test_sarif_schema_rejects_broken_log():
    """The vendored schema really constrains the output (guards against a vacuous schema)."""
    v = _validator()
    assert list(v.iter_errors({"version": "2.1.0"}))  # runs missing
    bad = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}],
    }
    assert list(v.iter_errors(bad))


def test_json_fields(cache_dir):
    _code, out, _ = run_cli(["FT004_pos.f90", "--output-format", "json", "--cache-dir", cache_dir], cwd=FIXTURES)
    items = json.loads(out)
    assert items
    for it in items:
        assert set(it) >= {"code", "name", "message", "severity", "filename", "location", "end_location", "fix", "url"}
        assert os.path.isabs(it["filename"])
        assert it["fix"]["edits"], it
