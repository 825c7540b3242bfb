"""Checkpoint format and hostile files (issue 9, items 6, 7, 8 and 12).

* The checkpoint holds plain values only: `torch.load(path, weights_only=True)` reads the
  files the Fortran and the Python APIs write, and what it reads is the live state.
* Loading checks everything before changing anything: after any failed load the model,
  optimiser and scheduler are exactly as before (compared value by value, and by training
  on next to an untouched twin).
* Crafted files (generated here with torch.save) get a pyftorch message naming the file
  and the entry at fault, never LibTorch's "INTERNAL ASSERT FAILED", never a crash.
"""

from __future__ import annotations

import copy
import io
import math
import subprocess
import sys
import zipfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pyftorch as ft  # noqa: E402
from pyftorch import errors  # noqa: E402
from pyftorch.model import Model  # noqa: E402
from pyftorch.torchscript import save_torchscript  # noqa: E402
from tests.conftest import ROOT, fortran_env, run  # noqa: E402

NATIVE = ROOT / "tests" / "native" / "fortran"
PARAM_NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, n_in, seed in (("mlp", 3, 1), ("other", 5, 2)):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()
        out[name] = save_torchscript(net, d / f"{name}.pt")
    return out


class Run:
    """A model + Adam (AMSGrad) + StepLR after a few training steps."""

    def __init__(self, model_file: Path, stack: ExitStack, steps: int = 3, step_size: int = 2) -> None:
        self.model = stack.enter_context(Model.load(model_file, requires_grad=True))
        self.params = self.model.parameters()
        for p in self.params:
            stack.callback(p.close)
        self.opt = stack.enter_context(ft.Adam(self.params, lr=0.05, amsgrad=True))
        self.sched = stack.enter_context(ft.StepLR(self.opt, step_size=step_size, gamma=0.5))
        self.x = stack.enter_context(ft.tensor(np.linspace(-1, 1, 12).reshape(4, 3)))
        self.y = stack.enter_context(ft.tensor(np.cos(np.arange(8.0)).reshape(4, 2)))
        for _ in range(steps):
            self.train_step()

    def train_step(self) -> None:
        self.opt.zero_grad()
        ft.mse_loss(self.model(self.x, requires_grad=True), self.y).backward()
        self.opt.step()
        self.sched.step()

    def snapshot(self) -> dict:
        return {
            "params": [p.numpy().copy() for p in self.params],
            "lr": self.opt.lr,
            "steps": self.opt.steps,
            "epoch": self.sched.last_epoch,
            "last_lr": self.sched.last_lr,
        }

    def load(self, path: Path) -> None:
        ft.load_checkpoint(path, self.model, self.opt, self.sched)


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if k == "params":
            for x, y in zip(a[k], b[k]):
                np.testing.assert_array_equal(x, y)
        else:
            assert a[k] == b[k], k


@pytest.fixture
def genuine(models, tmp_path) -> dict:
    """A genuine checkpoint's contents, read with weights_only=True."""
    path = tmp_path / "genuine.ckpt"
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        ft.save_checkpoint(path, r.model, r.opt, r.sched)
    return torch.load(str(path), weights_only=True)


def write(obj, path: Path) -> Path:
    """torch.save (zip format, like the library's files)."""
    torch.save(obj, str(path))
    return path


# --------------------------------------------------------------------------------------------
# Item 8: torch.load(weights_only=True)
# --------------------------------------------------------------------------------------------
def test_python_checkpoint_is_read_by_torch_load_weights_only(models, tmp_path):
    path = tmp_path / "run.ckpt"
    with ExitStack() as stack:
        r = Run(models["mlp"], stack, steps=5)
        ft.save_checkpoint(path, r.model, r.opt, r.sched)
        saved = torch.load(str(path), weights_only=True)
        live = r.snapshot()
    assert saved["format"] == "pyftorch-checkpoint" and saved["version"] == 2
    assert list(saved["model_parameters"]) == PARAM_NAMES
    for name, value in zip(PARAM_NAMES, live["params"]):
        np.testing.assert_array_equal(saved["model_parameters"][name].numpy(), value)
    opt = saved["optimizer"]
    assert opt["name"] == "Adam" and opt["steps"] == live["steps"] == 5
    assert opt["options"]["lr"] == live["lr"] and opt["options"]["amsgrad"] is True
    # one source of truth: the optimiser's parameters are the model's, stored once by name
    assert opt["params"] == PARAM_NAMES
    for name, state in zip(PARAM_NAMES, opt["state"]):
        assert set(state) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
        for t in state.values():
            assert t.shape == saved["model_parameters"][name].shape and t.dtype == torch.float64
    sched = saved["scheduler"]
    assert sched["name"] == "StepLR" and sched["last_epoch"] == live["epoch"] == 5
    assert sched["last_lr"] == live["last_lr"] and sched["p1"] == 2.0 and sched["p2"] == 0.5


def test_fortran_checkpoint_is_read_by_torch_load_weights_only(fortran, models, tmp_path):
    exe = fortran.build(NATIVE / "checkpoint_restart.f90")
    ckpt, out_model = tmp_path / "ckpt.pt", tmp_path / "model.pt"
    proc = run([str(exe), str(models["mlp"]), str(out_model), "1", "5", str(ckpt), "-"], env=fortran_env())
    saved = torch.load(str(ckpt), weights_only=True)
    # the model file written right after the checkpoint holds the same (live) weights
    live = dict(torch.jit.load(str(out_model)).named_parameters())
    assert set(saved["model_parameters"]) == set(live)
    for name, value in live.items():
        assert torch.equal(saved["model_parameters"][name], value.detach())
    assert saved["optimizer"]["name"] == "Adam" and saved["optimizer"]["steps"] == 5
    assert saved["optimizer"]["params"] == list(live)
    assert saved["scheduler"]["name"] == "CosineAnnealingLR" and saved["scheduler"]["last_epoch"] == 5
    lr = float(proc.stdout.split()[-1])
    assert math.isclose(saved["scheduler"]["last_lr"], lr, rel_tol=1e-15)
    assert math.isclose(saved["optimizer"]["options"]["lr"], lr, rel_tol=1e-15)


def test_no_doc_tells_users_to_load_checkpoints_with_weights_only_false():
    offenders = []
    for path in [
        ROOT / "README.md",
        *ROOT.glob("pyftorch/**/*.py"),
        *ROOT.glob("fsrc/**/*.h"),
        *ROOT.glob("fsrc/**/*.f90"),
        *ROOT.glob("examples/**/*"),
        *ROOT.glob("docs/**/*"),
    ]:
        if path.is_file() and "weights_only=False" in path.read_text(errors="replace").replace(" ", ""):
            text = path.read_text(errors="replace")
            for line in text.splitlines():
                if "weights_only=False" in line.replace(" ", "") and "never" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []


# --------------------------------------------------------------------------------------------
# Item 6: scheduler parameters in range
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda opt: ft.CosineAnnealingLR(opt, 2**63),
        lambda opt: ft.CosineAnnealingLR(opt, 2**53 + 1),
        lambda opt: ft.CosineAnnealingLR(opt, 10, eta_min=float("nan")),
        lambda opt: ft.StepLR(opt, 2**64),
        lambda opt: ft.StepLR(opt, 3, gamma=float("inf")),
        lambda opt: ft.ExponentialLR(opt, gamma=float("nan")),
    ],
    ids=[
        "cosine_T_max_2**63",
        "cosine_T_max_2**53+1",
        "cosine_eta_min_nan",
        "step_size_2**64",
        "step_gamma_inf",
        "exponential_gamma_nan",
    ],
)
def test_scheduler_parameters_out_of_range_raise(make):
    with ft.tensor([1.0], requires_grad=True) as w, ft.SGD([w], lr=0.1) as opt:
        with pytest.raises(errors.InvalidArgumentError):
            make(opt)


def test_cosine_annealing_t_max_2_pow_63_raises_in_a_fresh_process():
    """As reported: `ft.CosineAnnealingLR(opt, 2**63).step()` died with SIGFPE."""
    code = (
        "import pyftorch as ft\n"
        "w = ft.tensor([1.0], requires_grad=True); opt = ft.SGD([w], lr=0.1)\n"
        "try:\n"
        "    s = ft.CosineAnnealingLR(opt, 2**63); s.step(); print('stepped', s.last_lr)\n"
        "except ft.errors.InvalidArgumentError as e:\n"
        "    print('raised', e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("raised") and "T_max" in proc.stdout


def test_the_library_rejects_scheduler_parameters_python_would_not_send():
    """The C ABI checks on its own (Fortran and C callers have no Python in front)."""
    from ctypes import byref, c_void_p

    from pyftorch import _lib
    from pyftorch.optim import FT_SCHED_COSINE_ANNEALING, FT_SCHED_STEP

    with ft.tensor([1.0], requires_grad=True) as w, ft.SGD([w], lr=0.1) as opt:
        for kind, p1, p2 in (
            (FT_SCHED_STEP, 0.0, 0.1),
            (FT_SCHED_STEP, 2.5, 0.1),
            (FT_SCHED_COSINE_ANNEALING, 9.3e18, 0.0),
            (FT_SCHED_COSINE_ANNEALING, -1.0, 0.0),
            (FT_SCHED_STEP, 2.0, float("nan")),
        ):
            out = c_void_p()
            with pytest.raises(errors.InvalidArgumentError):
                _lib.load().ft_scheduler_new(kind, opt._get(), p1, p2, byref(out))
            assert out.value is None


@pytest.mark.parametrize("p1", [0.0, -3.0, 2.5, 2.0**63, float("nan")])
def test_checkpoint_with_scheduler_step_size_out_of_range_fails_to_load(models, tmp_path, genuine, p1):
    bad = copy.deepcopy(genuine)
    bad["scheduler"]["p1"] = p1
    path = write(bad, tmp_path / "bad.ckpt")
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        before = r.snapshot()
        with pytest.raises(errors.LibraryIOError, match="scheduler") as exc:
            r.load(path)
        assert str(path) in str(exc.value)
        assert_same_state(r.snapshot(), before)
        r.train_step()  # the scheduler still steps (it died with SIGFPE after a step_size 0 load)
        assert r.sched.last_epoch == before["epoch"] + 1


# --------------------------------------------------------------------------------------------
# Item 7: validate everything before changing anything
# --------------------------------------------------------------------------------------------
def _mutations():
    def state_shape(d):
        d["optimizer"]["state"][1]["exp_avg"] = torch.zeros(3)

    def state_dtype(d):
        d["optimizer"]["state"][0]["exp_avg_sq"] = d["optimizer"]["state"][0]["exp_avg_sq"].float()

    def nan_lr(d):
        d["optimizer"]["options"]["lr"] = float("nan")

    def inf_eps(d):
        d["optimizer"]["options"]["eps"] = float("inf")

    def negative_steps(d):
        d["optimizer"]["steps"] = -1

    def negative_epoch(d):
        d["scheduler"]["last_epoch"] = -5

    def beta_out_of_range(d):
        d["optimizer"]["options"]["beta2"] = 1.5

    def last_param_wrong_shape(d):
        d["model_parameters"]["2.bias"] = torch.zeros(3, dtype=torch.float64)

    def param_wrong_dtype(d):
        d["model_parameters"]["0.bias"] = d["model_parameters"]["0.bias"].float()

    def state_count(d):
        d["optimizer"]["state"] = d["optimizer"]["state"][:-1]

    def unknown_state(d):
        d["optimizer"]["state"][0]["momentum_buffer"] = d["optimizer"]["state"][0]["exp_avg"]

    def optimiser_param_count(d):
        d["optimizer"]["params"] = d["optimizer"]["params"][:-1]

    def dangling_param_name(d):
        d["optimizer"]["params"][0] = "no.such.parameter"

    def huge_steps(d):
        d["optimizer"]["steps"] = 2**62

    def negative_lr(d):
        d["scheduler"]["last_lr"] = -0.1

    return {name: f for name, f in locals().items()}


MUTATIONS = _mutations()


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_failed_load_changes_nothing(models, tmp_path, genuine, name):
    bad = copy.deepcopy(genuine)
    # a valid change the loader would apply before noticing the fault, if it mutated early
    for k in bad["model_parameters"]:
        bad["model_parameters"][k] = bad["model_parameters"][k] + 1.0
    bad["optimizer"]["steps"] += 7
    MUTATIONS[name](bad)
    path = write(bad, tmp_path / f"{name}.ckpt")
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        twin = Run(models["mlp"], stack)
        before = r.snapshot()
        with pytest.raises((errors.LibraryIOError, errors.InvalidArgumentError)) as exc:
            r.load(path)
        message = str(exc.value)
        assert str(path) in message and "INTERNAL ASSERT" not in message
        assert_same_state(r.snapshot(), before)
        # the optimiser state (moments) is unchanged too: training on matches the twin exactly
        for _ in range(2):
            r.train_step()
            twin.train_step()
        assert_same_state(r.snapshot(), twin.snapshot())


def test_model_section_is_the_one_source_of_the_parameters(models, tmp_path, genuine):
    """Edit the model section only: model and optimiser both get the edited values (before, the
    optimiser's copy silently overwrote the model section)."""
    edited = copy.deepcopy(genuine)
    edited["model_parameters"]["0.weight"] = torch.full_like(edited["model_parameters"]["0.weight"], 0.25)
    path = write(edited, tmp_path / "edited.ckpt")
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        r.load(path)
        np.testing.assert_array_equal(r.params[0].numpy(), np.full((16, 3), 0.25))
    with ExitStack() as stack:  # optimiser alone: it reads its parameters from the model section
        with (
            ft.tensor(np.zeros((16, 3)), requires_grad=True) as w0,
            ft.tensor(np.zeros(16), requires_grad=True) as w1,
            ft.tensor(np.zeros((2, 16)), requires_grad=True) as w2,
            ft.tensor(np.zeros(2), requires_grad=True) as w3,
        ):
            with ft.Adam([w0, w1, w2, w3], lr=0.05, amsgrad=True) as opt:
                ft.load_checkpoint(path, optimizer=opt)
                np.testing.assert_array_equal(w0.numpy(), np.full((16, 3), 0.25))
                np.testing.assert_array_equal(w3.numpy(), genuine["model_parameters"]["2.bias"].numpy())


def _version_1(genuine: dict) -> dict:
    """The version-1 layout: options as a list, the optimiser's parameters as copies."""
    from pyftorch._lib import OptimOptions

    v1 = copy.deepcopy(genuine)
    v1["version"] = 1
    opt = v1["optimizer"]
    opt["options"] = [float(opt["options"][name]) for name, _ in OptimOptions._fields_]
    opt["params"] = [v1["model_parameters"][name].clone() for name in opt["params"]]
    return v1


def test_version_1_checkpoints_still_load(models, tmp_path, genuine):
    path = write(_version_1(genuine), tmp_path / "v1.ckpt")
    with ExitStack() as stack:
        r, ref = Run(models["mlp"], stack, steps=1), Run(models["mlp"], stack, steps=1)
        r.load(path)
        ref.load(write(genuine, tmp_path / "v2.ckpt"))
        assert_same_state(r.snapshot(), ref.snapshot())
        r.train_step()
        ref.train_step()
        assert_same_state(r.snapshot(), ref.snapshot())


def test_version_1_checkpoint_whose_copies_disagree_is_rejected(models, tmp_path, genuine):
    v1 = _version_1(genuine)
    v1["optimizer"]["params"][2] = v1["optimizer"]["params"][2] + 1.0
    path = write(v1, tmp_path / "v1.ckpt")
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        before = r.snapshot()
        with pytest.raises(errors.LibraryIOError, match="inconsistent"):
            r.load(path)
        assert_same_state(r.snapshot(), before)


# --------------------------------------------------------------------------------------------
# Item 12: hostile files
# --------------------------------------------------------------------------------------------
def test_loading_a_directory_is_an_io_error_naming_it(models, tmp_path):
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        with pytest.raises(errors.LibraryIOError, match="is a directory") as exc:
            r.load(tmp_path)
        assert exc.value.status == 10 and str(tmp_path) in str(exc.value)
    with pytest.raises(errors.LibraryIOError, match="is a directory"):
        Model.load(tmp_path)


def _crafted(genuine: dict) -> dict[str, tuple[object, str]]:
    """name -> (file contents: a dict to torch.save, or bytes; expected message fragment)."""
    buf = io.BytesIO()
    torch.save(genuine, buf)
    raw = buf.getvalue()

    def edit(f):
        d = copy.deepcopy(genuine)
        f(d)
        return d

    zip_buf = io.BytesIO()
    with zipfile.ZipFile(zip_buf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")  # an empty dict, and nothing else
        z.writestr("archive/unexpected.txt", b"hello")
    zip_junk = io.BytesIO()
    with zipfile.ZipFile(zip_junk, "w") as z:
        z.writestr("readme.txt", b"not a checkpoint")
    rng = np.random.default_rng(12)
    return {
        "root_is_a_list": ([1, 2, 3], "not a pyftorch checkpoint"),
        "root_is_a_tensor": (torch.zeros(3), "not a pyftorch checkpoint"),
        "format_missing": (edit(lambda d: d.pop("format")), "not a pyftorch checkpoint"),
        "version_is_a_str": (edit(lambda d: d.update(version="2")), "'version' is a str"),
        "version_from_the_future": (edit(lambda d: d.update(version=99)), "format version 99"),
        "model_parameters_is_a_list": (
            edit(lambda d: d.update(model_parameters=[1.0])),
            "'model_parameters' is a list, expected a dict",
        ),
        "parameter_is_a_str": (
            edit(lambda d: d["model_parameters"].update({"0.bias": "zeros"})),
            "model_parameters['0.bias'] is a str, expected a tensor",
        ),
        "parameter_is_a_float": (edit(lambda d: d["model_parameters"].update({"0.bias": 1.5})), "expected a tensor"),
        "buffers_missing": (edit(lambda d: d.pop("model_buffers")), "has no 'model_buffers' entry"),
        "optimizer_is_a_list": (edit(lambda d: d.update(optimizer=[1])), "'optimizer' is a list, expected a dict"),
        "options_is_a_str": (edit(lambda d: d["optimizer"].update(options="fast")), "expected a dict"),
        "lr_is_a_str": (
            edit(lambda d: d["optimizer"]["options"].update(lr="0.1")),
            "optimizer['options']['lr'] is a str, expected a float",
        ),
        "option_missing": (edit(lambda d: d["optimizer"]["options"].pop("eps")), "entries, expected 14"),
        "steps_is_a_float": (edit(lambda d: d["optimizer"].update(steps=3.0)), "expected an int"),
        "steps_huge": (edit(lambda d: d["optimizer"].update(steps=2**62)), "outside"),
        "state_missing": (edit(lambda d: d["optimizer"].pop("state")), "has no 'state' entry"),
        "state_is_a_dict": (edit(lambda d: d["optimizer"].update(state={"0": {}})), "expected a list"),
        "state_entry_is_a_list": (
            edit(lambda d: d["optimizer"]["state"].__setitem__(0, [])),
            "optimizer['state'][0] is a list, expected a dict",
        ),
        "state_tensor_is_a_str": (edit(lambda d: d["optimizer"]["state"][0].update(exp_avg="x")), "expected a tensor"),
        "params_is_a_tensor": (edit(lambda d: d["optimizer"].update(params=torch.zeros(4))), "expected a list"),
        "int_keys": (edit(lambda d: d.update(model_parameters={0: torch.zeros(1)})), "expected str keys"),
        "scheduler_kind_huge": (edit(lambda d: d["scheduler"].update(kind=2**62)), "outside"),
        # LibTorch's unpickler reads 8-byte LONG1 integers only: a 6-byte one is unreadable
        "six_byte_integer": (edit(lambda d: d["scheduler"].update(kind=2**40)), "not a pyftorch checkpoint"),
        "scheduler_p2_is_none": (edit(lambda d: d["scheduler"].update(p2=None)), "is a None, expected a float"),
        "last_epoch_negative": (edit(lambda d: d["scheduler"].update(last_epoch=-1)), "outside"),
        "empty_file": (b"", "the file is empty"),
        "truncated_at_half": (raw[: len(raw) // 2], "not a pyftorch checkpoint"),
        "truncated_at_100_bytes": (raw[:100], "not a pyftorch checkpoint"),
        "truncated_by_8_bytes": (raw[:-8], "not a pyftorch checkpoint"),
        "random_bytes": (rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not a pyftorch checkpoint"),
        "random_after_pickle_magic": (
            raw[:40] + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "not a pyftorch checkpoint",
        ),
        "zip_with_wrong_entries": (zip_buf.getvalue(), "not a pyftorch checkpoint"),
        "zip_without_archive": (zip_junk.getvalue(), "not a pyftorch checkpoint"),
        "text": (b"format: pyftorch-checkpoint\n", "not a pyftorch checkpoint"),
    }


CRAFTED_NAMES = [
    "root_is_a_list",
    "root_is_a_tensor",
    "format_missing",
    "version_is_a_str",
    "version_from_the_future",
    "model_parameters_is_a_list",
    "parameter_is_a_str",
    "parameter_is_a_float",
    "buffers_missing",
    "optimizer_is_a_list",
    "options_is_a_str",
    "lr_is_a_str",
    "option_missing",
    "steps_is_a_float",
    "steps_huge",
    "state_missing",
    "state_is_a_dict",
    "state_entry_is_a_list",
    "state_tensor_is_a_str",
    "params_is_a_tensor",
    "int_keys",
    "scheduler_kind_huge",
    "six_byte_integer",
    "scheduler_p2_is_none",
    "last_epoch_negative",
    "empty_file",
    "truncated_at_half",
    "truncated_at_100_bytes",
    "truncated_by_8_bytes",
    "random_bytes",
    "random_after_pickle_magic",
    "zip_with_wrong_entries",
    "zip_without_archive",
    "text",
]


@pytest.mark.parametrize("case", CRAFTED_NAMES)
def test_crafted_checkpoint_gets_a_pyftorch_message_and_changes_nothing(models, tmp_path, genuine, case):
    contents, fragment = _crafted(genuine)[case]
    path = tmp_path / f"{case}.ckpt"
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    else:
        write(contents, path)
    with ExitStack() as stack:
        r = Run(models["mlp"], stack)
        before = r.snapshot()
        with pytest.raises(errors.LibraryIOError) as exc:
            r.load(path)
        message = str(exc.value)
        assert fragment in message, message
        assert str(path) in message, message
        assert "INTERNAL ASSERT" not in message and "report a bug" not in message, message
        assert_same_state(r.snapshot(), before)


def test_every_crafted_case_is_tested(genuine):
    assert sorted(_crafted(genuine)) == sorted(CRAFTED_NAMES)


@pytest.mark.parametrize("case", ["random_bytes", "truncated_zip", "zip_with_wrong_entries", "empty"])
def test_hostile_model_file_gets_a_pyftorch_message(models, tmp_path, case):
    raw = models["mlp"].read_bytes()
    zip_buf = io.BytesIO()
    with zipfile.ZipFile(zip_buf, "w") as z:
        z.writestr("mlp/data.pkl", b"\x80\x02]q\x00.")
        z.writestr("mlp/version", b"9\n")
    contents = {
        "random_bytes": np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "truncated_zip": raw[: len(raw) // 2],
        "zip_with_wrong_entries": zip_buf.getvalue(),
        "empty": b"",
    }[case]
    path = tmp_path / f"{case}.pt"
    path.write_bytes(contents)
    with pytest.raises(errors.ModelError) as exc:
        Model.load(path)
    message = str(exc.value)
    assert str(path) in message and "INTERNAL ASSERT" not in message, message
