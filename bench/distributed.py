"""Distributed benchmarks, one run, side by side (``make bench`` runs it when MPI is present).

1. A data-parallel training step at world size 2: the bench MLP (bench/training.py: 16 -> 64
   -> 64 -> 16, batch 32 per rank, float32, Adam, one intra-op thread per rank) trained with
   ``torch_model_distribute`` from Fortran under ``mpirun -np 2``, against PyTorch's
   ``DistributedDataParallel`` (gloo) training the same TorchScript file in two processes.
   Goal: Fortran / DDP <= 1.1.
2. All-reduce (sum) of N bytes of float32, N = 1 KiB ... 64 MiB, at world size 2:
   ``MPI_Allreduce`` against ``torch_distributed_all_reduce`` (c10d/gloo, including its
   one-small-collective shape agreement check) and ``torch_distributed_average_gradients``
   (one gradient of N bytes: scale, bucket copy, all-reduce, copy back).

    python -m bench.distributed [--json build/bench-distributed.json] [--max-bytes 67108864]

Timings are wall clock on this machine (2 cores: the 2 ranks share them), so they are
indicative; no test asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORLD = 2


def mpi_env() -> dict[str, str]:
    return dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
    )


def build_kernel(out_dir: Path) -> Path:
    from pyftorch import config
    from pyftorch._locate import find_install

    install = find_install()
    source = ROOT / "bench" / "kernels" / "bench_distributed.f90"
    exe = out_dir / "bench_distributed"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not exe.exists() or exe.stat().st_mtime < source.stat().st_mtime:
        libdir = install.prefix / "lib"
        subprocess.run(
            [
                "mpif90",
                "-O2",
                f"-J{out_dir}",
                *config.cflags(install).split(),
                str(source),
                f"-L{libdir}",
                "-lftorch_mpi",
                *config.libs(install).split(),
                "-o",
                str(exe),
            ],
            check=True,
        )
    return exe


def gloo_worker(rank: int, port: int, max_bytes: int) -> None:
    """One rank of PyTorch's own torch.distributed.all_reduce (gloo) timing (a subprocess)."""
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD, timeout=timedelta(seconds=120)
    )
    nbytes = 1024
    while nbytes <= max_bytes:
        t = torch.zeros(nbytes // 4)
        reps = max(2, min(200, (256 * 1024 * 1024) // (nbytes * 20)))
        dist.all_reduce(t)
        times = []
        for _ in range(5):
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(reps):
                dist.all_reduce(t)
            times.append((time.perf_counter() - t0) / reps)
        if rank == 0:
            print(f"gloo {nbytes} {sorted(times)[2]:.6e}", flush=True)
        nbytes *= 4
    dist.destroy_process_group()


def torch_allreduce(max_bytes: int) -> dict[int, float]:
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.distributed", "--gloo-worker", str(r), str(port), str(max_bytes)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for r in range(WORLD)
    ]
    outs = [p.communicate(timeout=1200)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"the torch.distributed reference failed:\n{outs}")
    return {int(line.split()[1]): float(line.split()[2]) for line in outs[0].splitlines() if line.startswith("gloo")}


def ddp_worker(rank: int, port: int, steps: int, warmup: int) -> None:
    """One rank of the DDP reference (run as a subprocess)."""
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    from bench import training

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD, timeout=timedelta(seconds=120)
    )
    model = training.load_scripted("float32")
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-3)
    x, y = (torch.from_numpy(a) for a in training.data("float32"))
    for k in range(warmup + steps):
        if k == warmup:
            dist.barrier()
            t0 = time.perf_counter()
        loss = torch.nn.functional.mse_loss(ddp(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    dist.barrier()
    if rank == 0:
        print(f"train {(time.perf_counter() - t0) / steps:.6e}", flush=True)
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_ddp(steps: int, warmup: int) -> float:
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.distributed", "--ddp-worker", str(r), str(port), str(steps), str(warmup)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for r in range(WORLD)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"the DDP reference failed:\n{outs}")
    return float(outs[0].split()[-1])


def train_fortran(exe: Path, work: Path, steps: int, warmup: int) -> float:
    from bench import training

    x, y = training.data("float32")
    data = work / "train_data.bin"
    np.concatenate([x.ravel(order="F"), y.ravel(order="F")]).astype(np.float32).tofile(data)
    proc = subprocess.run(
        [
            "mpirun",
            "-np",
            str(WORLD),
            "--oversubscribe",
            str(exe),
            "train",
            str(training.model_file("float32")),
            str(data),
            str(steps),
            str(warmup),
        ],
        capture_output=True,
        text=True,
        env=mpi_env(),
        timeout=600,
        check=True,
    )
    return float(next(line for line in proc.stdout.splitlines() if line.startswith("train")).split()[-1])


def allreduce(exe: Path, max_bytes: int) -> list[dict[str, float]]:
    proc = subprocess.run(
        ["mpirun", "-np", str(WORLD), "--oversubscribe", str(exe), "allreduce", str(max_bytes)],
        capture_output=True,
        text=True,
        env=mpi_env(),
        timeout=1200,
        check=True,
    )
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith("allreduce"):
            _, n, t_mpi, t_ft, t_grad = line.split()
            rows.append({"bytes": int(n), "mpi_s": float(t_mpi), "ftorch_s": float(t_ft), "grad_s": float(t_grad)})
    return rows


def human(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def us(t: float) -> str:
    return f"{t * 1e6:,.1f}"


def report(result: dict) -> str:
    t = result["train"]
    lines = [
        "Distributed training step, world size 2 (bench MLP, batch 32 per rank, float32, Adam):",
        "",
        "| variant | time per step (µs) |",
        "|---|---:|",
        f"| Fortran `torch_model_distribute` | {us(t['fortran_s'])} |",
        f"| PyTorch `DistributedDataParallel` | {us(t['ddp_s'])} |",
        f"| ratio Fortran / DDP (goal ≤ 1.1) | {t['fortran_s'] / t['ddp_s']:.2f} |",
        "",
        "All-reduce (sum) of N bytes of float32, world size 2, time per call (µs):",
        "",
        "| N | `MPI_Allreduce` | `torch_distributed_all_reduce` | ratio | `torch_distributed_average_gradients` | ratio "
        "| PyTorch `dist.all_reduce` (gloo) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["allreduce"]:
        lines.append(
            f"| {human(r['bytes'])} | {us(r['mpi_s'])} | {us(r['ftorch_s'])} | {r['ftorch_s'] / r['mpi_s']:.2f} "
            f"| {us(r['grad_s'])} | {r['grad_s'] / r['mpi_s']:.2f} | {us(r['torch_gloo_s'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--ddp-worker"]:
        ddp_worker(*map(int, args[1:5]))
        return 0
    if args[:1] == ["--gloo-worker"]:
        gloo_worker(*map(int, args[1:4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--max-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    opts = parser.parse_args(args)
    for tool in ("mpirun", "mpif90"):
        if shutil.which(tool) is None:
            print(f"bench.distributed: skipped ({tool} is not installed)")
            return 0
    from pyftorch import _lib

    if not _lib.load().ft_distributed_available():
        print("bench.distributed: skipped (libftorch was built without distributed support)")
        return 0
    work = ROOT / "build" / "bench-distributed"
    exe = build_kernel(work)
    result = {
        "train": {
            "fortran_s": train_fortran(exe, work, opts.steps, opts.warmup),
            "ddp_s": train_ddp(opts.steps, opts.warmup),
        },
        "allreduce": allreduce(exe, opts.max_bytes),
    }
    gloo = torch_allreduce(opts.max_bytes)
    for row in result["allreduce"]:
        row["torch_gloo_s"] = gloo.get(row["bytes"], float("nan"))
    print(report(result))
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
