"""Crash-safe saves (issue 9, items 4 and 5).

Checkpoints and models are written to a temporary file in the target's directory, fsynced
and renamed over the target: `kill -9` at any moment, a full disk or any failing write
leaves the previous file loadable, and no save path aborts the process.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pyftorch as ft  # noqa: E402
from pyftorch import errors  # noqa: E402
from pyftorch.model import Model  # noqa: E402
from pyftorch.torchscript import save_torchscript  # noqa: E402
from tests.conftest import ROOT, fortran_env  # noqa: E402

HERE = Path(__file__).resolve().parent
N_BIG = 2_000_000  # float64 values per tensor: a 32 MB checkpoint (parameter + momentum)


def temporaries(directory: Path, name: str) -> list[str]:
    """The save temporaries of `name` in `directory` (`.<name>.tmp-<pid>-<n>`)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}.tmp-"))


def load_sgd_checkpoint(path: Path, n: int) -> tuple[float, int]:
    """Load a save_loop checkpoint with pyftorch's loader and check it is complete.

    Returns the (constant) parameter value and the step count.
    """
    with ft.tensor(np.zeros(n), requires_grad=True) as w, ft.SGD([w], lr=0.1, momentum=0.9) as opt:
        ft.load_checkpoint(path, optimizer=opt)
        values = w.numpy()
        steps = opt.steps
    saved = torch.load(str(path), weights_only=True)
    momentum = saved["optimizer"]["state"][0]["momentum_buffer"].numpy()
    assert saved["optimizer"]["steps"] == steps >= 1
    # every step keeps all values equal: a complete file holds constant tensors
    assert np.all(values == values[0]) and np.all(momentum == momentum[0])
    assert np.array_equal(saved["optimizer"]["params"][0].numpy(), values)
    return float(values[0]), steps


# --------------------------------------------------------------------------------------------
# kill -9 during a save loop (item 4)
# --------------------------------------------------------------------------------------------
def _wait_ready(proc: subprocess.Popen, timeout: float) -> None:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "save_loop did not report its first save"
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")


@pytest.mark.slow
def test_kill_9_during_a_checkpoint_save_loop_never_loses_the_checkpoint(fortran, tmp_path):
    exe = fortran.build(HERE / "fortran" / "save_loop.f90")
    path = tmp_path / "run.ckpt"
    rng = random.Random(9)
    seen_steps = []
    for _kill in range(20):
        proc = subprocess.Popen(
            [str(exe), str(path), str(N_BIG)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=fortran_env(),
        )
        try:
            _wait_ready(proc, timeout=60)
            time.sleep(rng.uniform(0.0, 0.6))
            assert proc.poll() is None, f"save_loop exited early: {proc.stderr.read()}"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        # The file at the target path is the previous or the new complete checkpoint.
        _, steps = load_sgd_checkpoint(path, N_BIG)
        seen_steps.append(steps)
        # A killed save may leave its own temporary (named after the file); the next save
        # removes those of dead processes, so they never accumulate.
        left = temporaries(tmp_path, path.name)
        assert len(left) <= 1, left
        assert set(os.listdir(tmp_path)) <= {path.name, *left}
    print(f"steps in the surviving checkpoints: {seen_steps}")
    # A save from this process cleans up what the last killed one left.
    with ft.tensor(np.ones(4), requires_grad=True) as w, ft.SGD([w]) as opt:
        ft.save_checkpoint(path, optimizer=opt)
    assert temporaries(tmp_path, path.name) == []


# --------------------------------------------------------------------------------------------
# Full disk: a real one (tmpfs) where the machine allows it, and injected write failures
# --------------------------------------------------------------------------------------------
def _sgd_checkpoint(path: Path, n: int, value: float) -> None:
    with ft.tensor(np.full(n, value), requires_grad=True) as w, ft.SGD([w], lr=0.1, momentum=0.9) as opt:
        for _ in range(2):
            opt.zero_grad()
            ft.mse_loss(w, ft.zeros((n,), dtype=np.float64)).backward()
            opt.step()
        ft.save_checkpoint(path, optimizer=opt)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 3 MiB tmpfs mounted for the test (root only), unmounted afterwards."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; test_injected_enospc_* covers the same code path")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); test_injected_enospc_* covers the same path")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_save_over_an_existing_checkpoint_keeps_it(small_tmpfs):
    path = small_tmpfs / "run.ckpt"
    _sgd_checkpoint(path, 100_000, 1.0)  # 1.6 MB of a 3 MiB file system
    before = path.read_bytes()
    value, steps = load_sgd_checkpoint(path, 100_000)
    with pytest.raises(errors.LibraryIOError, match="No space left on device") as exc:
        _sgd_checkpoint(path, 200_000, 2.0)  # 3.2 MB: cannot fit
    assert str(path) in str(exc.value)
    assert path.read_bytes() == before
    assert load_sgd_checkpoint(path, 100_000) == (value, steps)
    assert temporaries(small_tmpfs, path.name) == []


@pytest.mark.parametrize(
    "fault", ["write:ENOSPC:0", "write:ENOSPC:4096", "write:EIO:100000", "fsync:EIO", "rename:EACCES"]
)
def test_injected_enospc_or_io_error_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fault):
    """FTORCH_TEST_FAULT makes the library's write/fsync/rename fail as a full or broken disk would."""
    path = tmp_path / "run.ckpt"
    _sgd_checkpoint(path, 50_000, 1.0)
    before = path.read_bytes()
    monkeypatch.setenv("FTORCH_TEST_FAULT", fault)
    cause = {"ENOSPC": "No space left on device", "EIO": "Input/output error", "EACCES": "Permission denied"}
    with pytest.raises(errors.LibraryIOError, match=cause[fault.split(":")[1]]) as exc:
        _sgd_checkpoint(path, 50_000, 2.0)
    assert str(path) in str(exc.value) and "unchanged" in str(exc.value)
    monkeypatch.delenv("FTORCH_TEST_FAULT")
    assert path.read_bytes() == before
    load_sgd_checkpoint(path, 50_000)
    assert temporaries(tmp_path, path.name) == []


def test_save_into_a_missing_directory_or_onto_a_directory_is_an_io_error(tmp_path):
    with ft.tensor([1.0], requires_grad=True) as w, ft.SGD([w]) as opt:
        with pytest.raises(errors.LibraryIOError, match="No such file or directory"):
            ft.save_checkpoint(tmp_path / "missing" / "run.ckpt", optimizer=opt)
        with pytest.raises(errors.LibraryIOError, match="is a directory"):
            ft.save_checkpoint(tmp_path, optimizer=opt)


def test_save_through_a_symlink_replaces_the_file_it_names(tmp_path):
    real = tmp_path / "real.ckpt"
    link = tmp_path / "link.ckpt"
    _sgd_checkpoint(real, 10, 1.0)
    link.symlink_to(real)
    first, _ = load_sgd_checkpoint(real, 10)
    _sgd_checkpoint(link, 10, 3.0)
    assert link.is_symlink() and os.readlink(link) == str(real)
    second, _ = load_sgd_checkpoint(real, 10)
    assert np.isclose(second, 3.0 * first)  # the run from 3.0 scales the run from 1.0: the real file was rewritten
    assert temporaries(tmp_path, real.name) == [] and temporaries(tmp_path, link.name) == []


# --------------------------------------------------------------------------------------------
# Models (item 5): /dev/full and failing writes return a status, never abort
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    return save_torchscript(net, tmp_path_factory.mktemp("model") / "mlp.pt")


def test_python_model_save_to_dev_full_raises(model_file):
    """Run in a child process: before the fix this aborted the interpreter (std::__ios_failure)."""
    code = (
        "import pyftorch as ft\n"
        "from pyftorch.model import Model\n"
        f"m = Model.load({str(model_file)!r})\n"
        "try:\n"
        "    m.save('/dev/full')\n"
        "except ft.errors.LibraryIOError as e:\n"
        "    print('raised', e)\n"
        "m.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("raised") and "/dev/full" in proc.stdout
    assert "No space left on device" in proc.stdout


def test_fortran_model_and_checkpoint_save_to_dev_full_return_a_status(fortran, model_file):
    exe = fortran.build(HERE / "fortran" / "model_save_status.f90")
    proc = subprocess.run(
        [str(exe), str(model_file), "/dev/full", "/dev/full"],
        capture_output=True,
        text=True,
        env=fortran_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert proc.stdout.rstrip().endswith("finished"), proc.stdout
    for what in ("model", "checkpoint"):
        assert lines[what].startswith("10 "), lines[what]  # FT_ERR_IO
        assert "/dev/full" in lines[what] and "No space left on device" in lines[what]


@pytest.mark.parametrize("fault", ["write:ENOSPC:1000", "fsync:EIO"])
def test_failed_model_save_keeps_the_previous_model_file(model_file, tmp_path, monkeypatch, fault):
    target = tmp_path / "saved.pt"
    with Model.load(model_file, requires_grad=True) as model:
        model.save(target)
        original = {k: v.detach().clone() for k, v in torch.jit.load(str(target)).named_parameters()}
        monkeypatch.setenv("FTORCH_TEST_FAULT", fault)
        with pytest.raises(errors.LibraryIOError, match=str(target)):
            model.save(target)
        monkeypatch.delenv("FTORCH_TEST_FAULT")
    reloaded = dict(torch.jit.load(str(target)).named_parameters())
    assert reloaded.keys() == original.keys()
    for k in original:
        assert torch.equal(reloaded[k], original[k])
    assert temporaries(tmp_path, target.name) == []


def test_model_save_to_a_full_tmpfs_keeps_the_previous_model(model_file, small_tmpfs):
    target = small_tmpfs / "saved.pt"
    filler = small_tmpfs / "filler"
    with Model.load(model_file) as model:
        model.save(target)
        before = target.read_bytes()
        # leave less free space than one more copy of the model needs
        free = os.statvfs(small_tmpfs).f_bavail * os.statvfs(small_tmpfs).f_frsize
        filler.write_bytes(b"\0" * max(free - len(before) // 2, 0))
        with pytest.raises(errors.LibraryIOError, match="No space left on device"):
            model.save(target)
    assert target.read_bytes() == before
    torch.jit.load(str(target))
    assert temporaries(small_tmpfs, target.name) == []


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_temporaries_of_dead_processes_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "run.ckpt"
    dead = tmp_path / f".run.ckpt.tmp-{_dead_pid()}-0"
    alive = tmp_path / ".run.ckpt.tmp-1-0"  # pid 1 exists: maybe a save in progress, kept
    unrelated = tmp_path / ".other.ckpt.tmp-999-0"
    for p in (dead, alive, unrelated):
        p.write_bytes(b"partial")
    _sgd_checkpoint(path, 10, 1.0)
    load_sgd_checkpoint(path, 10)
    assert not dead.exists() and alive.exists() and unrelated.exists()


def test_a_temporary_left_under_a_reused_pid_does_not_block_the_save(tmp_path):
    """A killed process whose pid the saver now has left the saver's first temporary name."""
    path = tmp_path / "run.ckpt"
    code = (
        "import os, pyftorch as ft\n"
        f"path = {str(path)!r}\n"
        "open(os.path.join(os.path.dirname(path), f'.run.ckpt.tmp-{os.getpid()}-0'), 'wb').write(b'partial')\n"
        "w = ft.tensor([1.0, 2.0], requires_grad=True); opt = ft.SGD([w], lr=0.1)\n"
        "ft.save_checkpoint(path, optimizer=opt)\n"
        "print('saved')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "saved", proc.stderr[-2000:]
    assert torch.load(str(path), weights_only=True)["optimizer"]["params"][0].tolist() == [1.0, 2.0]
    assert temporaries(tmp_path, path.name) == []
