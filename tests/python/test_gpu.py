"""CUDA cross-checks: they run when libftorch and torch both see a CUDA device, else skip.

``bench/gpu_check.sh`` runs these on a GPU machine (``pytest -m gpu tests/python``).
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gpu


def test_builtin_suite_passes_on_cuda(cuda):
    from pyftorch.crosscheck import builtin_suite, run_suite

    results = run_suite(builtin_suite(), [cuda], ["float32", "float64"])
    failures = [f"{r.case} {r.dtype}:\n{r.failure_summary()}" for r in results if r.status != "pass"]
    assert not failures, "\n".join(failures)
    assert {r.device for r in results} == {"cuda"}


def test_random_scenarios_pass_on_cuda(cuda):
    from pyftorch.crosscheck.generate import run_random

    results = run_random(100, 20261126, [cuda], ["float32", "float64"])
    failures = [f"{r.case} {r.dtype}:\n{r.failure_summary()}\n{r.scenario_text}" for r in results if r.status != "pass"]
    assert len(results) == 200 and not failures, "\n".join(failures[:3])


def test_gradient_lands_on_the_cuda_leaf_the_user_holds(cuda):
    import torch

    import pyftorch as ft

    a_np, b_np = np.array([2.0, 3.0]), np.array([6.0, 4.0])
    with ft.Tensor.from_numpy(a_np, copy=True, requires_grad=True, device=cuda) as a, \
            ft.Tensor.from_numpy(b_np, copy=True, requires_grad=True, device=cuda) as b:
        assert a.device == "cuda:0" and a.is_leaf and a.requires_grad and not a.is_view
        with (a * b + a * b * a).sum() as loss:
            assert loss.device == "cuda:0"
            loss.backward()
        with a.get_gradient() as ga, b.get_gradient() as gb:
            assert ga.device == "cuda:0" and gb.device == "cuda:0"
            ta = torch.tensor(a_np, device="cuda", requires_grad=True)
            tb = torch.tensor(b_np, device="cuda", requires_grad=True)
            (ta * tb + ta * tb * ta).sum().backward()
            np.testing.assert_array_equal(ga.numpy(), ta.grad.cpu().numpy())
            np.testing.assert_array_equal(gb.numpy(), tb.grad.cpu().numpy())


def test_cuda_misuse_raises(cuda):
    import pyftorch as ft

    with pytest.raises(ft.InvalidArgumentError, match="only on the CPU"):
        ft.Tensor.from_numpy(np.ones(2), copy=False, device=cuda)
    with ft.tensor([1.0, 2.0], device=cuda) as g, ft.tensor([1.0, 2.0]) as c:
        with pytest.raises(ft.DeviceError, match="different devices"):
            g + c
        assert g.numpy().tolist() == [1.0, 2.0]
        with g.to("cpu") as back:
            assert back.device == "cpu"
    with pytest.raises(ft.DeviceUnavailableError):
        ft.tensor([1.0], device=f"cuda:{ft.cuda_device_count()}")
