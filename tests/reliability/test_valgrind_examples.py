"""valgrind (memcheck) on the online-training example, briefly: model load, forward, loss,
backward, clipping, Adam, the cosine schedule and the atomic model save.
tests/native/test_memory.py covers the autograd example; `make sanitize` covers the rest
of the library (checkpoints included) at a fraction of valgrind's cost."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

pytest.importorskip("torch")

from pyftorch.demo import load_example
from tests.conftest import ROOT, fortran_env

EXAMPLE = ROOT / "examples" / "online_training"


def valgrind(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (make test installs it)")
    proc = subprocess.run(
        ["valgrind", "--error-exitcode=1", *cmd], capture_output=True, text=True, env=fortran_env(), timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ERROR SUMMARY: 0 errors" in proc.stderr, proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_valgrind_finds_no_error_in_the_online_training_example(fortran, tmp_path):
    example = load_example(EXAMPLE / "online_training.py")
    config = dataclasses.replace(example.Config(), spinup=2, steps=3, log_every=1, hidden=8)
    namelist = config.write_namelist(tmp_path / "online_training.nml")
    model = example.make_initial_model(config, tmp_path / "model_initial.pt")
    exe = fortran.build(EXAMPLE / "lorenz96_online.f90", flags=("-O0", "-g"))
    valgrind([str(exe), str(namelist), str(model), str(tmp_path)])
    # it ran to the end: the losses of the logged steps and the trained model were written
    losses = (tmp_path / "losses.dat").read_text().split("\n")
    assert len([line for line in losses if line.strip() and not line.startswith("#")]) >= 3
    assert any(p.suffix == ".pt" and p.name != "model_initial.pt" for p in tmp_path.iterdir())
