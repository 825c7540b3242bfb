"""Autograd semantics from Fortran against PyTorch: accumulation, zero_grad, retain_graph,
external gradients, gradient snapshots, and the specification's example verbatim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.conftest import ROOT, fortran_env, run

HERE = Path(__file__).resolve().parent


def parse(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def semantics(fortran) -> dict[str, list[str]]:
    exe = fortran.build(HERE / "fortran" / "autograd_semantics.f90")
    return parse(run([str(exe)], env=fortran_env()).stdout)


def floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) for v in values])


def reference():
    """The same sequence of operations in PyTorch."""
    a = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([3.0, 0.75, -1.5], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    out = {}
    grads = lambda: np.concatenate([a.grad.numpy().copy(), b.grad.numpy().copy()])  # noqa: E731
    q = a * b * a
    q.backward(torch.ones_like(q), retain_graph=True)
    q.backward(torch.ones_like(q), retain_graph=True)
    out["accumulate_2"] = grads()
    q.backward(torch.ones_like(q))
    out["accumulate_3"] = grads()
    with pytest.raises(RuntimeError, match="second time"):
        q.backward(torch.ones_like(q))
    a.grad.zero_()
    b.grad.zero_()
    out["zeroed"] = grads()
    p = a + b**2
    p.backward(torch.ones_like(p))
    out["after_zero_grad"] = grads()
    a.grad.zero_()
    b.grad.zero_()
    q = (a - b) * a
    q.backward(g)
    out["external_gradient"] = grads()
    out["snapshot_before_refresh"] = a.grad.numpy().copy()
    q = a * a
    q.backward(torch.ones_like(q))
    out["snapshot_after_refresh"] = a.grad.numpy().copy()
    return out


@pytest.mark.parametrize(
    "label",
    [
        "accumulate_2",
        "accumulate_3",
        "zeroed",
        "after_zero_grad",
        "external_gradient",
        "snapshot_before_refresh",
        "snapshot_after_refresh",
    ],
)
def test_gradients_match_pytorch(semantics, label):
    np.testing.assert_allclose(floats(semantics[label]), reference()[label], rtol=1e-15, atol=0)


def test_backward_through_freed_graph_is_a_clear_error(semantics):
    stat, *words = semantics["freed_graph_stat"]
    assert int(stat) == 6  # torch_stat_autograd
    message = " ".join(words)
    assert message.startswith("torch_tensor_backward:")
    assert "retain_graph=.true." in message


def test_zero_grad_without_a_gradient_succeeds(semantics):
    assert semantics["zero_grad_without_gradient_stat"] == ["0"]


def test_spec_example_verbatim(fortran):
    """examples/autograd holds the spec's snippets; its printed values match PyTorch."""
    exe = fortran.build(ROOT / "examples" / "autograd" / "autograd.f90")
    out = {}
    for line in run([str(exe)], env=fortran_env()).stdout.splitlines():
        label, _, values = line.partition("=")
        if "=" in values:  # "R = 3*(...) = v1 v2"
            values = values.split("=")[-1]
        out[label.strip()] = np.array([float(v) for v in values.split()])

    f32 = torch.float32
    a = torch.tensor([2.0, 3.0], dtype=f32, requires_grad=True)
    b = torch.tensor([6.0, 4.0], dtype=f32, requires_grad=True)
    q = a * b
    q.backward(torch.ones_like(q))
    np.testing.assert_array_equal(out["Q"], q.detach().numpy())
    np.testing.assert_array_equal(out["dQ/da"], a.grad.numpy())
    np.testing.assert_array_equal(out["dQ/db"], b.grad.numpy())

    q = a * b
    p = a + b
    q.backward(torch.ones_like(q))
    a.grad.zero_()
    b.grad.zero_()
    p.backward(torch.ones_like(p), retain_graph=True)
    np.testing.assert_array_equal(out["dP/da"], a.grad.numpy())
    np.testing.assert_array_equal(out["dP/db"], b.grad.numpy())
    p.backward(torch.ones_like(p))
    np.testing.assert_array_equal(out["dP/da after a second backward"], a.grad.numpy())

    a.grad.zero_()
    b.grad.zero_()
    multiplier = torch.tensor([3.0], dtype=f32)
    r = multiplier * (a**3 - b * b / 2.0)
    r.backward(torch.ones_like(r))
    np.testing.assert_allclose(out["R"], r.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["dR/da"], a.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["dR/db"], b.grad.numpy(), rtol=1e-6)
