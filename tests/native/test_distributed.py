"""Distributed data-parallel training (issue 10): Fortran ranks under mpirun against PyTorch's
own DistributedDataParallel, the collectives against values computed here, the error cases,
and a long loop whose live handles stay flat on every rank.

OpenMPI runs as root in CI (OMPI_ALLOW_RUN_AS_ROOT*) and oversubscribed on 2 cores.  Every
rendezvous port is chosen by the system (port 0 on rank 0, broadcast through MPI), so
concurrent runs cannot collide.  Skips, with the reason, when mpirun/mpif90 or the
distributed build (gloo headers, libftorch_mpi) are absent.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyftorch.torchscript import save_torchscript
from tests.conftest import ROOT, fortran_env, run

HERE = Path(__file__).resolve().parent
FORTRAN = HERE / "fortran"
STEPS, LOG_EVERY = 50, 10
BATCH, N_IN, N_OUT = 8, 4, 2
RTOL = {"real64": 1e-6, "real32": 1e-5}


# --- fixtures: the MPI toolchain and MPI programs built against the installed library ---------


def mpi_env() -> dict[str, str]:
    env = fortran_env()
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_btl="self,vader,tcp",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMP_NUM_THREADS="1",
    )
    return env


class MpiBuilder:
    """Compiles MPI Fortran programs with mpif90 against the installed ftorch and libftorch_mpi."""

    def __init__(self, install, workdir: Path) -> None:
        from pyftorch import config

        self.workdir = workdir
        self.cflags = config.cflags(install).split()
        libdir = install.prefix / "lib"
        self.libs = [f"-L{libdir}", f"-Wl,-rpath,{libdir}", "-lftorch_mpi", *config.libs(install).split()]

    def build(self, source: Path) -> Path:
        digest = hashlib.sha1(source.read_bytes()).hexdigest()[:10]
        exe = self.workdir / f"{source.stem}-{digest}"
        if not exe.exists():
            build_dir = self.workdir / (exe.name + ".d")
            build_dir.mkdir(parents=True, exist_ok=True)
            run(
                ["mpif90", "-O2", f"-J{build_dir}", *self.cflags, str(source), *self.libs, "-o", str(exe)],
                cwd=build_dir,
            )
        return exe


@pytest.fixture(scope="session")
def distributed_build(install) -> None:
    from pyftorch import _lib

    if not _lib.load().ft_distributed_available():
        pytest.skip(
            "libftorch was built without distributed support (gloo headers absent: apt-get install libgloo-dev)"
        )


@pytest.fixture(scope="session")
def mpi(install, distributed_build, tmp_path_factory) -> MpiBuilder:
    for tool in ("mpirun", "mpif90"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test installs openmpi-bin and libopenmpi-dev)")
    if not list((install.prefix / "lib").glob("libftorch_mpi.so*")):
        pytest.skip("libftorch_mpi was not built (CMake did not find MPI Fortran when libftorch was configured)")
    return MpiBuilder(install, tmp_path_factory.mktemp("mpi"))


def mpirun(exe: Path, n: int, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["mpirun", "-np", str(n), "--oversubscribe", str(exe), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- training: Fortran ranks vs PyTorch DDP vs one process on the union of the shards --------


def mlp(dtype) -> torch.nn.Module:
    torch.manual_seed(7)
    return torch.nn.Sequential(torch.nn.Linear(N_IN, 16), torch.nn.Tanh(), torch.nn.Linear(16, N_OUT)).to(dtype)


def write_inputs(d: Path, world: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(100 + world)
    shards = []
    for r in range(world):
        x = rng.standard_normal((BATCH, N_IN))
        y = np.stack([np.sin(x[:, 0] + x[:, 1]), x[:, 2] * x[:, 3]], axis=1) + 0.1 * r
        shards.append((x, y))
        for dtype, np_dtype in (("real64", np.float64), ("real32", np.float32)):
            raw = np.concatenate([x.ravel(order="F"), y.ravel(order="F")]).astype(np_dtype)
            raw.tofile(d / f"shard{r}_{dtype}.bin")
    save_torchscript(mlp(torch.float64), d / "mlp_real64.pt")
    save_torchscript(mlp(torch.float32), d / "mlp_real32.pt")
    return shards


def single_process(d: Path, shards, steps: int) -> dict[int, dict[str, np.ndarray]]:
    """Adam on the union of the shards with the mean loss, in this process (float64)."""
    model = torch.jit.load(str(d / "mlp_real64.pt"))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    x = torch.from_numpy(np.concatenate([s[0] for s in shards]))
    y = torch.from_numpy(np.concatenate([s[1] for s in shards]))
    out = {}
    for k in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if k == 1 or k % LOG_EVERY == 0:
            out[k] = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    return out


def fortran_state(path: Path) -> dict[str, np.ndarray]:
    return {n: p.detach().numpy().copy() for n, p in torch.jit.load(str(path)).named_parameters()}


def max_rel(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]) / np.maximum(np.abs(b[k]), 1e-3))) for k in a)


@pytest.mark.parametrize("world", [2, 3])
def test_training_matches_ddp(mpi, tmp_path, world):
    exe = mpi.build(FORTRAN / "dist_train.f90")
    shards = write_inputs(tmp_path, world)
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    ddp = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.native.ddp_reference",
                str(tmp_path),
                str(r),
                str(world),
                str(port),
                str(STEPS),
                str(LOG_EVERY),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(world)
    ]
    try:
        proc = mpirun(exe, world, str(tmp_path), str(STEPS), str(LOG_EVERY))
    finally:
        outs = [p.communicate(timeout=240)[0] for p in ddp]
    for p, out in zip(ddp, outs):
        assert p.returncode == 0, f"PyTorch DDP reference failed:\n{out}"
    # Every rank released every handle (models, optimisers, parameters, tensors).
    for r in range(world):
        assert f"rank {r} live handles at exit: 0" in proc.stdout, proc.stdout

    reference = single_process(tmp_path, shards, STEPS)
    logged = [1] + list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    for dtype in ("real64", "real32"):
        for mode in ("model", "grads"):
            for k in logged:
                ranks = [fortran_state(tmp_path / f"out_{mode}_{dtype}_r{r}_s{k}.pt") for r in range(world)]
                for r in range(1, world):  # bitwise identical across ranks
                    for name in ranks[0]:
                        assert np.array_equal(ranks[r][name], ranks[0][name]), (mode, dtype, k, r, name)
                ddp_state = dict(np.load(tmp_path / f"ddp_{dtype}_r0_s{k}.npz"))
                rel = max_rel(ranks[0], ddp_state)
                print(f"world {world} {mode} {dtype} step {k}: rel vs DDP {rel:.3e}")
                assert rel <= RTOL[dtype], f"{mode} {dtype} step {k}: Fortran vs DDP rel {rel:.2e}"
                if mode == "model":  # the same c10d::Reducer as DDP: the very same numbers
                    for name in ranks[0]:
                        assert np.array_equal(ranks[0][name], ddp_state[name]), (dtype, k, name, rel)
                if dtype == "real64":
                    rel = max_rel(ranks[0], reference[k])
                    assert rel <= 1e-6, f"{mode} step {k}: Fortran vs single process on the union rel {rel:.2e}"
                    rel = max_rel(ddp_state, reference[k])
                    assert rel <= 1e-6, f"step {k}: DDP vs single process rel {rel:.2e}"
        # The losses each rank logged match DDP's on the same rank.
        for r in range(world):
            ours = np.loadtxt(tmp_path / f"loss_model_{dtype}_r{r}.txt")
            theirs = np.loadtxt(tmp_path / f"ddp_loss_{dtype}_r{r}.txt")
            np.testing.assert_allclose(ours, theirs, rtol=RTOL[dtype] * 10)


# --- collectives ------------------------------------------------------------------------------

KINDS = {"int32": np.int32, "int64": np.int64, "real32": np.float32, "real64": np.float64}
SHAPES = [(5,), (3, 4), (2, 3, 2)]


def fypp_build(mpi: MpiBuilder, source: Path, tmp_path: Path) -> Path:
    fypp = Path(sys.executable).with_name("fypp")
    out = tmp_path / (source.stem + ".f90")
    run([str(fypp) if fypp.exists() else "fypp", str(source), str(out)])
    return mpi.build(out)


def inputs(kind: str, rank: int) -> list[np.ndarray]:
    """value(j, rank) of dist_collectives.fypp, j the 1-based Fortran-order position."""
    arrays = []
    for shape in SHAPES:
        j = np.arange(1, int(np.prod(shape)) + 1)
        v = ((7 * j + 13 * rank) % 11 - 5 + rank).astype(np.float64)
        if kind.startswith("real"):
            v = v + 0.25 * rank
        arrays.append(v.astype(KINDS[kind]))
    return arrays


def expected(kind: str, op: int, world: int) -> list[np.ndarray]:
    per_rank = [inputs(kind, r) for r in range(world)]
    out = []
    for i in range(len(SHAPES)):
        stack = np.stack([p[i] for p in per_rank])
        if op == 0:
            v = stack.sum(axis=0, dtype=KINDS[kind])
        elif op == 1:
            total = stack.sum(axis=0, dtype=KINDS[kind])
            v = (
                (total / world).astype(KINDS[kind])
                if kind.startswith("real")
                else np.trunc(total / world).astype(KINDS[kind])
            )
        elif op == 2:
            v = stack.max(axis=0)
        elif op == 3:
            v = stack.min(axis=0)
        else:
            v = stack[world - 1]
        out.append(v)
    return out


@pytest.mark.parametrize("world", [1, 2, 3])
def test_collectives(mpi, tmp_path, world):
    exe = fypp_build(mpi, FORTRAN / "dist_collectives.fypp", tmp_path)
    proc = mpirun(exe, world, str(tmp_path))
    for r in range(world):
        assert f"rank {r} live handles at exit: 0" in proc.stdout, proc.stdout
    sizes = [int(np.prod(s)) for s in SHAPES]
    for kind, np_kind in KINDS.items():
        for op in range(5):
            want = expected(kind, op, world)
            for r in range(world):
                raw = np.fromfile(tmp_path / f"coll_{kind}_op{op}_r{r}.bin", dtype=np_kind)
                got = np.split(raw, np.cumsum(sizes)[:-1])
                for g, w in zip(got, want):
                    # sums of a few small values: exact in every dtype, whatever the order
                    np.testing.assert_array_equal(g, w, err_msg=f"{kind} op {op} rank {r}")
    # average_gradients: the mean over the ranks of each rank's c (see dist_collectives.fypp)
    c1 = np.mean([[(r + 1) * j + 0.5 for j in range(1, 4)] for r in range(world)], axis=0)
    c2 = np.mean([[r - 0.25 * j for j in range(1, 5)] for r in range(world)], axis=0)
    c3 = np.mean([[np.float32(r * r) / np.float32(j) for j in range(1, 5)] for r in range(world)], axis=0)
    for r in range(world):
        raw = np.fromfile(tmp_path / f"grads_r{r}.bin", dtype=np.uint8)
        g12 = np.frombuffer(raw[: 7 * 8].tobytes(), dtype=np.float64)
        g3 = np.frombuffer(raw[7 * 8 :].tobytes(), dtype=np.float32)
        np.testing.assert_allclose(g12[:3], c1, rtol=1e-15)
        np.testing.assert_allclose(g12[3:], c2, rtol=1e-15)
        np.testing.assert_allclose(g3, c3, rtol=1e-6)


# --- error cases ---------------------------------------------------------------------------------


def reports(stdout: str, what: str) -> list[tuple[int, str]]:
    """(stat, msg) of every "what rank=R stat=S msg=M" line, by rank."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith(what + " rank="):
            head, msg = line.split(" msg=", 1)
            fields = dict(f.split("=") for f in head.split()[1:])
            out[int(fields["rank"])] = (int(fields["stat"]), msg)
    return [out[r] for r in sorted(out)]


STAT_SHAPE, STAT_DTYPE, STAT_INVALID, STAT_DISTRIBUTED = 3, 4, 8, 15


def test_error_collective_before_init(mpi):
    exe = mpi.build(FORTRAN / "dist_errors.f90")
    proc = mpirun(exe, 2, "before_init", timeout=60)
    for what in ("all_reduce", "broadcast", "barrier", "finalize"):
        got = reports(proc.stdout, what)
        assert len(got) == 2
        for stat, msg in got:
            assert stat == STAT_DISTRIBUTED and "not initialised" in msg, (what, msg)
    assert proc.stdout.count("initialized=F") == 2


def test_error_init_twice(mpi):
    exe = mpi.build(FORTRAN / "dist_errors.f90")
    proc = mpirun(exe, 2, "twice", timeout=60)
    for what in ("init_comm", "init_tcp"):
        got = reports(proc.stdout, what)
        assert len(got) == 2
        for stat, msg in got:
            assert stat == STAT_DISTRIBUTED and "already initialised" in msg, (what, msg)
    assert "live handles at exit: 0" in proc.stdout


def test_error_shape_differs_across_ranks(mpi, world=3):
    exe = mpi.build(FORTRAN / "dist_errors.f90")
    proc = mpirun(exe, world, "shape", timeout=60)
    for what in ("all_reduce", "broadcast"):
        got = reports(proc.stdout, what)
        assert len(got) == world
        for stat, msg in got:
            assert stat == STAT_SHAPE and "differ across ranks" in msg, (what, msg)
    # the group survived the refused call: sum over ranks of (rank + 1)
    assert proc.stdout.count(f"after sum={world * (world + 1) // 2}.0") == world, proc.stdout


def test_error_unsupported_dtype_root_and_op(mpi):
    exe = mpi.build(FORTRAN / "dist_errors.f90")
    proc = mpirun(exe, 2, "dtype", timeout=60)
    for what, want, text in (
        ("all_reduce", STAT_DTYPE, "int8 is not supported"),
        ("bad_root", STAT_INVALID, "root 7 is not a rank"),
        ("bad_op", STAT_INVALID, "unknown reduction 9"),
    ):
        got = reports(proc.stdout, what)
        assert len(got) == 2
        for stat, msg in got:
            assert stat == want and text in msg, (what, msg)


@pytest.fixture(scope="module")
def env_program(fortran, distributed_build, tmp_path_factory) -> tuple[Path, Path]:
    """dist_env.f90, built with plain gfortran against libftorch alone (no MPI), and a model."""
    d = tmp_path_factory.mktemp("dist_env")
    model = save_torchscript(mlp(torch.float64), d / "mlp.pt")
    return fortran.build(FORTRAN / "dist_env.f90"), model


def launch(exe: Path, model: Path, case: str, world: int, port: int, timeout: int = 60) -> list[subprocess.Popen]:
    procs = []
    for r in range(world):
        env = dict(fortran_env(), RANK=str(r), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(
            subprocess.Popen(
                [str(exe), str(model), case, str(timeout)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        )
    return procs


def test_env_launch_without_mpi(env_program):
    """torchrun-style launch: the no-argument init reads RANK, WORLD_SIZE, MASTER_*; no MPI linked."""
    exe, model = env_program
    assert "mpi" not in subprocess.run(["ldd", str(exe)], capture_output=True, text=True).stdout.lower()
    procs = launch(exe, model, "train", 2, free_port())
    outs = [p.communicate(timeout=120)[0] for p in procs]
    sums = []
    for r, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == 0 and f"rank {r} live handles at exit: 0" in out, out
        sums.append(next(line.split()[-1] for line in out.splitlines() if "checksum" in line))
    assert sums[0] == sums[1]  # identical parameters on both ranks, to the last digit printed


@pytest.mark.parametrize("case", ["die", "stall"])
def test_error_rank_dies_or_stalls_mid_training(env_program, case):
    """Rank 1 is killed (or stops taking part) at step 4: rank 0 reports FT_ERR_DISTRIBUTED
    (a closed connection at once, or its timeout) instead of hanging.  The timeout also bounds
    the rendezvous, so it leaves room for a slow start of the other rank on a loaded machine."""
    exe, model = env_program
    procs = launch(exe, model, case, 2, free_port(), timeout=30 if case == "die" else 12)
    try:
        out0 = procs[0].communicate(timeout=90)[0]
    finally:
        for p in procs[1:]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert procs[0].returncode == 0, out0
    failed = [line for line in out0.splitlines() if line.startswith("failed step=")]
    assert failed, out0
    assert " stat=15 " in failed[0] and "failed" in failed[0], failed[0]
    step = int(failed[0].split()[1].split("=")[1])
    assert step >= 4, failed[0]  # steps 1-3 trained together
    if case == "die":
        assert procs[1].returncode == -signal.SIGKILL


def test_error_port_in_use(env_program):
    exe, model = env_program
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        procs = launch(exe, model, "port", 1, port, timeout=5)
        out = procs[0].communicate(timeout=60)[0]
    assert procs[0].returncode == 0, out
    assert "failed step=0 stat=15" in out and f"port {port}" in out and "already in use" in out, out
    # the same program on a free port initialises
    procs = launch(exe, model, "port", 1, free_port(), timeout=5)
    out = procs[0].communicate(timeout=60)[0]
    assert "init succeeded" in out, out


# --- leaks ---------------------------------------------------------------------------------------


def test_long_distributed_loop_keeps_handles_flat(mpi, tmp_path):
    """10^4 distributed steps (Reducer all-reduce, all_reduce, broadcast): live handles after
    step 100 equal those at the end on every rank, and nothing is left after the deletes."""
    exe = mpi.build(FORTRAN / "dist_leak.f90")
    torch.manual_seed(3)
    model = save_torchscript(
        torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double(),
        tmp_path / "tiny.pt",
    )
    proc = mpirun(exe, 2, str(model), "10000", timeout=600)
    lines = [line.split() for line in proc.stdout.splitlines() if " handles " in line]
    assert len(lines) == 2, proc.stdout
    for fields in lines:
        warm, end, final = map(int, fields[-3:])
        assert warm > 0 and warm == end and final == 0, " ".join(fields)


# --- the example ---------------------------------------------------------------------------------


def test_distributed_training_example(mpi, tmp_path):
    """examples/distributed_training on 2 ranks (short run): both ranks' losses logged, the
    Fortran broadcast check and the saved models agree that the parameters are identical."""
    import importlib.util

    source = ROOT / "examples" / "distributed_training"
    exe = mpi.build(source / "lorenz96_ensemble.f90")
    spec = importlib.util.spec_from_file_location("distributed_training", source / "distributed_training.py")
    example = importlib.util.module_from_spec(spec)
    sys.modules["distributed_training"] = example
    spec.loader.exec_module(example)
    lines: list[str] = []
    result = example.run(exe, tmp_path, 2, example.Config(spinup=100, steps=60, log_every=20), echo=lines.append)
    assert result.ok, "\n".join(lines)
    assert len(result.losses) == 2 and all(len(v) == 60 for v in result.losses.values())
    assert not np.array_equal(result.losses[0], result.losses[1])  # each rank trains on its own member
    assert (tmp_path / "loss_curves.png").stat().st_size > 0
    assert any("loss per rank" in line for line in lines)


# --- checkpoints -----------------------------------------------------------------------------------


def test_distributed_checkpoints(mpi, tmp_path):
    """Rank 0 writes and everyone shares its status; a restart leaves every rank with rank 0's
    state even when the ranks read different files; one rank's failure fails them all."""
    exe = mpi.build(FORTRAN / "dist_checkpoint.f90")
    save_torchscript(mlp(torch.float64), tmp_path / "mlp.pt")
    other = mlp(torch.float64)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    # `other.pt`: a checkpoint of the same model with other weights, written by pyftorch itself
    import pyftorch

    save_torchscript(other, tmp_path / "other_model.pt")
    with pyftorch.Model.load(tmp_path / "other_model.pt") as m:
        pyftorch.save_checkpoint(tmp_path / "other.pt", model=m)
    proc = mpirun(exe, 3, str(tmp_path), timeout=120)
    for what, ok in (("save", True), ("save_bad", False), ("load", True), ("load_bad", False)):
        got = reports(proc.stdout, what)
        assert len(got) == 3, proc.stdout
        for r, (stat, msg) in enumerate(got):
            assert (stat == 0) == ok, (what, r, stat, msg)
            if what == "load_bad":
                assert ("missing.pt" in msg) if r == 1 else ("another rank failed" in msg), msg
            if what == "save_bad" and r > 0:
                assert "rank 0 failed to write" in msg, msg
    assert (tmp_path / "ck.pt").exists() and not (tmp_path / "no").exists()
    want = {n: p.detach().numpy() for n, p in torch.jit.load(str(tmp_path / "mlp.pt")).named_parameters()}
    for r in range(3):
        got = fortran_state(tmp_path / f"after_r{r}.pt")
        for name in want:
            assert np.array_equal(got[name], want[name]), (r, name)
        assert f"rank {r} live handles at exit: 0" in proc.stdout
