"""The specification's own snippets (shared/spec/online-training.md) lint clean when written
as the spec recommends, apart from FT106 on its `[3.0_wp]` multiplier, and removing
`assignment(=)` from their only-lists is reported at the exact line and column of every
tensor assignment."""

from __future__ import annotations

import re
import shutil

from tests.lint.conftest import HERE, run_cli

SNIPPETS = HERE / "spec" / "online_training.f90"


def _lint(tmp_path, text, *extra):
    (tmp_path / "online_training.f90").write_text(text)
    return run_cli(["online_training.f90", "--no-cache", *extra], cwd=tmp_path)


def test_snippets_lint_clean(tmp_path):
    # The spec's "scalar multiplication" snippet (from FTorch's documentation) builds its
    # one-element tensors from array constructors: FT106 rightly reports those two views of
    # temporaries, and nothing else is reported.
    rc, out, err = _lint(tmp_path, SNIPPETS.read_text())
    found = [
        (line.split()[1], *map(int, line.split(":")[1:3]))
        for line in out.splitlines()
        if line.startswith("online_training.f90:")
    ]
    assert (rc, found) == (1, [("FT106", 16, 44), ("FT106", 17, 41)]), out + err
    rc, out, err = _lint(tmp_path, SNIPPETS.read_text(), "--ignore", "FT106")
    assert (rc, out) == (0, "All checks passed!\n"), out + err


def test_snippets_compile_against_stub(tmp_path):
    import subprocess

    gfortran = shutil.which("gfortran")
    if gfortran is None:
        import pytest

        pytest.skip("gfortran is not installed")
    subprocess.run([gfortran, "-c", str(HERE / "stub" / "ftorch.f90")], cwd=tmp_path, check=True, timeout=120)
    proc = subprocess.run(
        [gfortran, "-fsyntax-only", "-I.", str(SNIPPETS)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_removing_assignment_is_reported_at_each_assignment(tmp_path):
    text = SNIPPETS.read_text()
    mutated = text.replace("only: assignment(=), ", "only: ")
    assert "only: assignment(=)" not in mutated and mutated != text
    rc, out, _ = _lint(tmp_path, mutated, "--select", "FT002")
    assert rc == 1
    got = [tuple(map(int, line.split(":")[1:3])) for line in out.splitlines() if " FT002 " in line]
    # independently: every line that assigns to a tensor, column of its first character
    expected = []
    for n, line in enumerate(mutated.splitlines(), start=1):
        m = re.match(r"^(\s*)(Q|P) = ", line)
        if m:
            expected.append((n, len(m.group(1)) + 1))
    assert got == expected
    assert got == [(18, 3), (39, 3), (69, 3), (70, 3)]
