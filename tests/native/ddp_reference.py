"""PyTorch's own DistributedDataParallel (gloo) on the data of dist_train.f90: the reference
the Fortran ranks are compared with.  Run one process per rank:

    python -m tests.native.ddp_reference DIR RANK WORLD_SIZE PORT STEPS LOG_EVERY

Writes DIR/ddp_<dtype>_r<rank>_s<step>.npz (the parameters, by name) after step 1 and every
LOG_EVERY steps, and DIR/ddp_loss_<dtype>_r<rank>.txt.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

BATCH, N_IN, N_OUT = 8, 4, 2
LR = 0.01


def shard(d: Path, rank: int, dtype: str) -> tuple[torch.Tensor, torch.Tensor]:
    raw = np.fromfile(d / f"shard{rank}_{dtype}.bin", dtype=np.float32 if dtype == "real32" else np.float64)
    x = raw[: BATCH * N_IN].reshape((BATCH, N_IN), order="F")
    y = raw[BATCH * N_IN :].reshape((BATCH, N_OUT), order="F")
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def main(argv: list[str]) -> None:
    d, rank, world, port, steps, log_every = Path(argv[0]), *map(int, argv[1:])
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    for dtype in ("real64", "real32"):
        model = torch.jit.load(str(d / f"mlp_{dtype}.pt"))
        model.train()
        ddp = DistributedDataParallel(model)
        opt = torch.optim.Adam(ddp.parameters(), lr=LR, foreach=False)
        x, y = shard(d, rank, dtype)
        losses = []
        for k in range(1, steps + 1):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(ddp(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if k == 1 or k % log_every == 0:
                np.savez(
                    d / f"ddp_{dtype}_r{rank}_s{k}.npz",
                    **{n: p.detach().numpy().copy() for n, p in model.named_parameters()},
                )
        (d / f"ddp_loss_{dtype}_r{rank}.txt").write_text("".join(f"{v!r}\n" for v in losses))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
