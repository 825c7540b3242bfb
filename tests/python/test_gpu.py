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
    with (
        ft.Tensor.from_numpy(a_np, copy=True, requires_grad=True, device=cuda) as a,
        ft.Tensor.from_numpy(b_np, copy=True, requires_grad=True, device=cuda) as b,
    ):
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


def test_model_training_on_cuda_matches_torch_and_restarts_on_cpu(cuda, tmp_path):
    """Model + Adam on the GPU follow torch on the GPU; the checkpoint restores onto the CPU."""
    import torch

    import pyftorch as ft
    from pyftorch.torchscript import save_torchscript

    torch.manual_seed(0)
    path = save_torchscript(
        torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double(), tmp_path / "mlp.pt"
    )
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    ref = torch.jit.load(str(path), map_location="cuda")
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.05, amsgrad=True, foreach=False)
    with (
        ft.Model.load(path, device=cuda, requires_grad=True, training=True) as model,
        ft.tensor(x, device=cuda) as X,
        ft.tensor(t, device=cuda) as T,
    ):
        params = model.parameters()
        assert all(p.device == "cuda:0" for p in params)
        with ft.Adam(params, lr=0.05, amsgrad=True) as opt:
            for _ in range(5):
                opt.zero_grad()
                with ft.mse_loss(model(X, requires_grad=True), T) as loss:
                    assert loss.device == "cuda:0"
                    loss.backward()
                opt.step()
                ref_opt.zero_grad()
                torch.nn.functional.mse_loss(
                    ref(torch.tensor(x, device="cuda")), torch.tensor(t, device="cuda")
                ).backward()
                ref_opt.step()
            ft.save_checkpoint(tmp_path / "gpu.ckpt", model, opt)
        on_gpu = [p.numpy() for p in params]
        for p in params:
            p.close()
    for got, want in zip(on_gpu, ref.parameters()):
        np.testing.assert_allclose(got, want.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
    with ft.Model.load(path, device="cpu", requires_grad=True) as model:
        params = model.parameters()
        with ft.Adam(params, lr=0.05, amsgrad=True) as opt:
            ft.load_checkpoint(tmp_path / "gpu.ckpt", model, opt)
            assert opt.steps == 5
            for p, want in zip(params, on_gpu):
                assert p.device == "cpu"
                np.testing.assert_array_equal(p.numpy(), want)
        for p in params:
            p.close()
