"""One rank of tests/python/test_distributed.py: pyftorch.distributed in a torchrun-style
launch (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment).

    python -m tests.python.dist_worker MODEL OUT_DIR

Writes OUT_DIR/rank<r>.npz with the results of the collectives and of 5 training steps of a
distributed model, then checks that no handle is left.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import pyftorch
import pyftorch.distributed as dist
from pyftorch.errors import DistributedError


def main(model_path: str, out_dir: str) -> None:
    try:
        dist.rank()
        raise SystemExit("dist.rank() before init did not raise")
    except DistributedError as exc:
        assert "not initialised" in str(exc)
    dist.init(timeout=60)
    rank, world = dist.rank(), dist.world_size()
    assert dist.is_initialized()
    results: dict[str, np.ndarray] = {}

    a = np.arange(6, dtype=np.float64).reshape(2, 3) + rank
    with pyftorch.from_numpy(a, copy=False) as t:  # a view: the array receives the result
        dist.all_reduce(t, "sum")
    results["sum"] = a.copy()
    b = np.full(4, rank + 1, dtype=np.int32)
    with pyftorch.from_numpy(b, copy=False) as t:
        dist.all_reduce(t, "max")
    results["max"] = b.copy()
    c = np.full(3, 10.0 * rank, dtype=np.float32)
    with pyftorch.from_numpy(c, copy=False) as t:
        dist.broadcast(t, root=world - 1)
    results["bcast"] = c.copy()
    dist.barrier()

    rng = np.random.default_rng(rank)
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal((8, 2))
    model = pyftorch.Model.load(model_path, requires_grad=True, training=True).distribute()
    params = model.parameters()
    opt = pyftorch.Adam(params, lr=0.01)
    xt, yt = pyftorch.from_numpy(x, copy=True), pyftorch.from_numpy(y, copy=True)
    for _ in range(5):
        opt.zero_grad()
        out = model(xt, requires_grad=True)
        loss = pyftorch.mse_loss(out, yt)
        loss.backward()
        opt.step()
        for tmp in (out, loss):
            tmp.close()
    for i, p in enumerate(params):
        results[f"param{i}"] = p.numpy().copy()
    for obj in (*params, opt, xt, yt, model):
        obj.close()
    dist.finalize()
    assert not dist.is_initialized()
    assert pyftorch.live_handles() == 0, pyftorch.live_handles()
    np.savez(Path(out_dir) / f"rank{rank}.npz", **results)


if __name__ == "__main__":
    main(*sys.argv[1:3])
