"""The online-training example: Fortran's loss curve equals PyTorch's run of the same
simulation and training, at every logged step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("torch")

from pyftorch.demo import load_example
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "online_training"


@pytest.fixture(scope="module")
def example():
    return load_example(EXAMPLE / "online_training.py")


@pytest.fixture(scope="module")
def fortran_exe(fortran):
    return fortran.build(EXAMPLE / "lorenz96_online.f90")


@pytest.fixture(scope="module")
def demo_run(example, fortran_exe, tmp_path_factory):
    out = tmp_path_factory.mktemp("online_training")
    config = example.Config()
    result = example.run(fortran_exe, out, config, echo=lambda *_: None)
    return example, config, out, result


def test_fortran_loss_curve_matches_pytorch_at_every_logged_step(demo_run):
    _example, config, _out, result = demo_run
    assert config.steps >= 500
    fortran, python = result.fortran, result.python
    np.testing.assert_array_equal(fortran.steps, python.steps)
    assert len(fortran.steps) >= config.steps // config.log_every
    np.testing.assert_allclose(fortran.losses, python.losses, rtol=1e-4, atol=0)
    assert result.ok and result.max_loss_rel_error <= 1e-4
    # training happened: the loss fell by more than an order of magnitude
    assert fortran.losses[-1] < fortran.losses[0] / 10
    for name, value in python.parameters.items():
        np.testing.assert_allclose(fortran.parameters[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_plot_of_both_curves_is_written(demo_run):
    _, _, out, _ = demo_run
    png = out / "loss_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_comparison_detects_a_different_run(demo_run):
    """A reproduction with another learning rate must be reported as a mismatch."""
    example, config, out, result = demo_run
    fortran = result.fortran
    other = example.train_in_python(
        dataclasses.replace(config, learning_rate=config.learning_rate * 1.01), out / "model_initial.pt"
    )
    assert not example.compare(fortran, other).ok
