"""pyftorch.distributed from Python, launched torchrun-style (environment rendezvous, one
process per rank), and its checks in a single process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist():
    import pyftorch.distributed as dist

    if not dist.is_available():
        pytest.skip(
            "libftorch was built without distributed support (gloo headers absent: apt-get install libgloo-dev)"
        )
    return dist


def test_single_process_errors(dist):
    from pyftorch.errors import DistributedError

    assert not dist.is_initialized()
    with pytest.raises(DistributedError, match="not initialised"):
        dist.world_size()
    with pytest.raises(DistributedError, match="not initialised"):
        dist.barrier()
    with pytest.raises(ValueError, match="unknown reduction"):
        dist.all_reduce(None, "median")  # type: ignore[arg-type]


def test_single_rank_group_and_checkpoint(dist, tmp_path):
    """World size 1 in this process: collectives are identities; checkpoints round-trip."""
    import pyftorch
    from pyftorch.errors import DistributedError
    from pyftorch.torchscript import save_torchscript

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init(rank=0, world_size=1, master_addr="127.0.0.1", master_port=port, timeout=30)
    try:
        assert (dist.rank(), dist.world_size()) == (0, 1)
        with pytest.raises(DistributedError, match="already initialised"):
            dist.init(rank=0, world_size=1, master_port=port)
        a = np.array([1.5, -2.0, 3.0])
        with pyftorch.from_numpy(a, copy=False) as t:
            dist.all_reduce(t, "avg")
            dist.broadcast(t, 0)
        np.testing.assert_array_equal(a, [1.5, -2.0, 3.0])
        torch.manual_seed(0)
        path = save_torchscript(torch.nn.Linear(3, 2).double(), tmp_path / "lin.pt")
        with pyftorch.Model.load(path, requires_grad=True, training=True) as model:
            model.distribute()
            params = model.parameters()
            before = [p.numpy().copy() for p in params]
            dist.save_checkpoint(tmp_path / "ck.pt", model)
            for p in params:
                p.numpy()  # read only: weights unchanged
            dist.load_checkpoint(tmp_path / "ck.pt", model)
            for p, b in zip(params, before):
                np.testing.assert_array_equal(p.numpy(), b)
            for p in params:
                p.close()
    finally:
        dist.finalize()
    assert not dist.is_initialized()


def test_torchrun_style_launch(dist, tmp_path, world=2):
    """`world` Python processes with RANK/WORLD_SIZE/MASTER_*: collectives against values
    computed here, and a distributed model that ends identical on every rank and equal to
    averaging the ranks' gradients by hand in PyTorch."""
    from pyftorch.torchscript import save_torchscript

    torch.manual_seed(5)
    path = save_torchscript(
        torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double(), tmp_path / "mlp.pt"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for r in range(world):
        env = dict(
            os.environ,
            RANK=str(r),
            WORLD_SIZE=str(world),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            OMP_NUM_THREADS="1",
            PYTHONPATH=str(ROOT),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.python.dist_worker", str(path), str(tmp_path)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outs = [p.communicate(timeout=180)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    res = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(world)]
    base = np.arange(6, dtype=np.float64).reshape(2, 3)
    want_sum = sum(base + r for r in range(world))
    for r in range(world):
        np.testing.assert_array_equal(res[r]["sum"], want_sum)
        np.testing.assert_array_equal(res[r]["max"], np.full(4, world, dtype=np.int32))
        np.testing.assert_array_equal(res[r]["bcast"], np.full(3, 10.0 * (world - 1), dtype=np.float32))
        for k in res[0]:
            if k.startswith("param"):
                np.testing.assert_array_equal(res[r][k], res[0][k])
    # PyTorch by hand: each rank's gradient, averaged, then Adam (5 steps)
    model = torch.jit.load(str(path))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    data = []
    for r in range(world):
        rng = np.random.default_rng(r)
        data.append((torch.from_numpy(rng.standard_normal((8, 4))), torch.from_numpy(rng.standard_normal((8, 2)))))
    for _ in range(5):
        grads = None
        for x, y in data:
            model.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            g = [p.grad.clone() for p in model.parameters()]
            grads = g if grads is None else [a + b for a, b in zip(grads, g)]
        for p, g in zip(model.parameters(), grads):
            p.grad = g / world
        opt.step()
    for i, p in enumerate(model.parameters()):
        np.testing.assert_allclose(res[0][f"param{i}"], p.detach().numpy(), rtol=1e-10, atol=1e-12)
