"""Losses, optimisers, schedulers and clipping from Fortran, step by step against
torch.optim / torch.nn.functional run in the same test.

One Fortran driver runs every case: an element-wise model `logits = x * w + b` trained for
k = 20 steps; it records the loss at every step, the learning rate after every step, the
gradient norm before clipping, and the final parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent
STEPS = 20
BATCH, FEATURES = 6, 4
RTOL = {"real32": 1e-4, "real64": 1e-6}
REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


@dataclass
class Case:
    name: str
    loss: str = "mse"
    reduction: str = "mean"
    loss_param: float = 0.0
    optim: str = "sgd"
    opts: dict = field(default_factory=dict)
    scheduler: str = "none"
    sched: tuple = (0.0, 0.0)
    clip: str = "none"
    clip_value: float = 0.0
    dtype: str = "real64"

    @property
    def id(self) -> str:
        return f"{self.name}-{self.dtype}"


OPTIM_DEFAULTS = dict(
    lr=1e-3,
    momentum=0.0,
    dampening=0.0,
    weight_decay=0.0,
    nesterov=False,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    amsgrad=False,
    alpha=0.99,
    centered=False,
    lr_decay=0.0,
    initial_accumulator_value=0.0,
)

OPTIMISER_CASES = [
    Case("sgd-plain", optim="sgd", opts=dict(lr=0.1)),
    Case("sgd-momentum-nesterov-wd", optim="sgd", opts=dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)),
    Case("sgd-momentum-dampening", optim="sgd", opts=dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.02)),
    Case("adam-plain", optim="adam", opts=dict(lr=0.05)),
    Case("adam-amsgrad-wd", optim="adam", opts=dict(lr=0.03, weight_decay=0.1, amsgrad=True, beta1=0.8, beta2=0.99)),
    Case("adamw-default-wd", optim="adamw", opts=dict(lr=0.05, weight_decay=0.01)),
    Case("adamw-amsgrad", optim="adamw", opts=dict(lr=0.03, weight_decay=0.2, amsgrad=True, eps=1e-6)),
    Case("rmsprop-plain", optim="rmsprop", opts=dict(lr=0.01, eps=1e-8)),
    Case(
        "rmsprop-centered-momentum-wd",
        optim="rmsprop",
        opts=dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01, eps=1e-8),
    ),
    Case("adagrad-plain", optim="adagrad", opts=dict(lr=0.1, eps=1e-10)),
    Case(
        "adagrad-decay-wd-acc",
        optim="adagrad",
        opts=dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-10),
    ),
]
LOSS_CASES = [
    Case("mse-mean", loss="mse", optim="adam", opts=dict(lr=0.05)),
    Case("mse-sum", loss="mse", reduction="sum", optim="sgd", opts=dict(lr=0.01)),
    Case("l1-mean", loss="l1", optim="sgd", opts=dict(lr=0.1, momentum=0.5)),
    Case("l1-none", loss="l1", reduction="none", optim="adam", opts=dict(lr=0.05)),
    Case("smooth_l1-beta0.5", loss="smooth_l1", loss_param=0.5, optim="adam", opts=dict(lr=0.05)),
    Case("smooth_l1-beta2-sum", loss="smooth_l1", reduction="sum", loss_param=2.0, optim="sgd", opts=dict(lr=0.02)),
    Case("huber-delta1", loss="huber", loss_param=1.0, optim="adam", opts=dict(lr=0.05)),
    Case("huber-delta0.3-none", loss="huber", reduction="none", loss_param=0.3, optim="sgd", opts=dict(lr=0.05)),
    Case("cross_entropy-index", loss="cross_entropy", optim="adam", opts=dict(lr=0.05)),
    Case(
        "cross_entropy-index-smoothing-sum",
        loss="cross_entropy",
        reduction="sum",
        loss_param=0.1,
        optim="sgd",
        opts=dict(lr=0.05),
    ),
    Case("cross_entropy-probabilities", loss="cross_entropy_prob", optim="adam", opts=dict(lr=0.05)),
    Case(
        "cross_entropy-probabilities-none", loss="cross_entropy_prob", reduction="none", optim="sgd", opts=dict(lr=0.05)
    ),
    Case("bce-mean", loss="bce", optim="adam", opts=dict(lr=0.05)),
    Case("bce-sum", loss="bce", reduction="sum", optim="sgd", opts=dict(lr=0.02, momentum=0.9)),
]
SCHEDULE_CASES = [
    Case("steplr", optim="sgd", opts=dict(lr=0.1), scheduler="step", sched=(3, 0.5)),
    Case("exponentiallr", optim="adam", opts=dict(lr=0.05), scheduler="exponential", sched=(0, 0.9)),
    Case("cosineannealing", optim="sgd", opts=dict(lr=0.1, momentum=0.9), scheduler="cosine", sched=(7, 0.001)),
    Case("cosineannealing-long", optim="adamw", opts=dict(lr=0.05), scheduler="cosine", sched=(25, 0.0)),
]
CLIP_CASES = [
    Case("clip-norm", optim="sgd", opts=dict(lr=0.1), clip="norm", clip_value=0.5),
    Case("clip-value", optim="adam", opts=dict(lr=0.05), clip="value", clip_value=0.2),
]
CASES = [
    Case(**{**c.__dict__, "dtype": dtype})
    for c in OPTIMISER_CASES + LOSS_CASES + SCHEDULE_CASES + CLIP_CASES
    for dtype in ("real32", "real64")
]


def inputs(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    dtype = np.float32 if case.dtype == "real32" else np.float64
    x = rng.normal(size=(BATCH, FEATURES)).astype(dtype)
    if case.loss == "cross_entropy":
        y = rng.integers(0, FEATURES, size=BATCH).astype(np.int64)
    elif case.loss == "cross_entropy_prob":
        y = rng.dirichlet(np.ones(FEATURES), size=BATCH).astype(dtype)
    elif case.loss == "bce":
        y = rng.uniform(0, 1, size=(BATCH, FEATURES)).astype(dtype)
    else:
        y = (2.0 * x + rng.normal(scale=0.5, size=(BATCH, FEATURES))).astype(dtype)
    w = rng.normal(size=FEATURES).astype(dtype)
    b = rng.normal(size=FEATURES).astype(dtype)
    return dict(x=x, y=y, w=w, b=b)


def manifest_line(case: Case, infile: Path, outfile: Path) -> str:
    o = {**OPTIM_DEFAULTS, **case.opts}
    f = lambda v: repr(float(v))  # noqa: E731
    t = lambda v: "T" if v else "F"  # noqa: E731
    return " ".join(
        [
            case.dtype,
            case.loss,
            str(REDUCTIONS[case.reduction]),
            f(case.loss_param),
            case.optim,
            f(o["lr"]),
            f(o["momentum"]),
            f(o["dampening"]),
            f(o["weight_decay"]),
            t(o["nesterov"]),
            f(o["beta1"]),
            f(o["beta2"]),
            f(o["eps"]),
            t(o["amsgrad"]),
            f(o["alpha"]),
            t(o["centered"]),
            f(o["lr_decay"]),
            f(o["initial_accumulator_value"]),
            case.scheduler,
            f(case.sched[0]),
            f(case.sched[1]),
            case.clip,
            f(case.clip_value),
            str(STEPS),
            str(BATCH),
            str(FEATURES),
            f"'{infile}'",
            f"'{outfile}'",
        ]
    )


def torch_run(case: Case, data: dict[str, np.ndarray]):
    """The same training run with torch.optim and torch.nn.functional."""
    tdtype = torch.float32 if case.dtype == "real32" else torch.float64
    x = torch.tensor(data["x"], dtype=tdtype)
    y = torch.tensor(data["y"]) if case.loss == "cross_entropy" else torch.tensor(data["y"], dtype=tdtype)
    w = torch.tensor(data["w"], dtype=tdtype, requires_grad=True)
    b = torch.tensor(data["b"], dtype=tdtype, requires_grad=True)
    params = [w, b]
    o = {**OPTIM_DEFAULTS, **case.opts}
    if case.optim == "sgd":
        opt = torch.optim.SGD(
            params,
            lr=o["lr"],
            momentum=o["momentum"],
            dampening=o["dampening"],
            weight_decay=o["weight_decay"],
            nesterov=o["nesterov"],
        )
    elif case.optim in ("adam", "adamw"):
        cls = torch.optim.Adam if case.optim == "adam" else torch.optim.AdamW
        opt = cls(
            params,
            lr=o["lr"],
            betas=(o["beta1"], o["beta2"]),
            eps=o["eps"],
            weight_decay=o["weight_decay"],
            amsgrad=o["amsgrad"],
        )
    elif case.optim == "rmsprop":
        opt = torch.optim.RMSprop(
            params,
            lr=o["lr"],
            alpha=o["alpha"],
            eps=o["eps"],
            weight_decay=o["weight_decay"],
            momentum=o["momentum"],
            centered=o["centered"],
        )
    else:
        opt = torch.optim.Adagrad(
            params,
            lr=o["lr"],
            lr_decay=o["lr_decay"],
            weight_decay=o["weight_decay"],
            initial_accumulator_value=o["initial_accumulator_value"],
            eps=o["eps"],
        )
    sched = None
    if case.scheduler == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=int(case.sched[0]), gamma=case.sched[1])
    elif case.scheduler == "exponential":
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=case.sched[1])
    elif case.scheduler == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(case.sched[0]), eta_min=case.sched[1])
    reduction = case.reduction
    losses, lrs, norms = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        logits = x * w + b
        if case.loss == "mse":
            loss = F.mse_loss(logits, y, reduction=reduction)
        elif case.loss == "l1":
            loss = F.l1_loss(logits, y, reduction=reduction)
        elif case.loss == "smooth_l1":
            loss = F.smooth_l1_loss(logits, y, reduction=reduction, beta=case.loss_param)
        elif case.loss == "huber":
            loss = F.huber_loss(logits, y, reduction=reduction, delta=case.loss_param)
        elif case.loss in ("cross_entropy", "cross_entropy_prob"):
            loss = F.cross_entropy(logits, y, reduction=reduction, label_smoothing=case.loss_param)
        else:
            loss = F.binary_cross_entropy_with_logits(logits, y, reduction=reduction)
        losses.append(loss.sum().item())
        loss.backward(torch.ones_like(loss))
        norm = 0.0
        if case.clip == "norm":
            norm = torch.nn.utils.clip_grad_norm_(params, case.clip_value).item()
        elif case.clip == "value":
            torch.nn.utils.clip_grad_value_(params, case.clip_value)
        norms.append(norm)
        opt.step()
        if sched is not None:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(losses), np.array(lrs), np.array(norms), w.detach().numpy(), b.detach().numpy()


@pytest.fixture(scope="module")
def fortran_runs(fortran, tmp_path_factory):
    work = tmp_path_factory.mktemp("training")
    exe = fortran.build(HERE / "fortran" / "train_driver.f90")
    rng = np.random.default_rng(5)
    lines, cases = [], {}
    for i, case in enumerate(CASES):
        data = inputs(case, rng)
        infile, outfile = work / f"in{i}.bin", work / f"out{i}.bin"
        infile.write_bytes(b"".join(data[k].tobytes(order="F") for k in ("x", "y", "w", "b")))
        lines.append(manifest_line(case, infile, outfile))
        cases[case.id] = (data, outfile)
    manifest = work / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    stdout = run([str(exe), str(manifest)], env=fortran_env()).stdout
    return cases, stdout


def read_fortran(outfile: Path):
    v = np.frombuffer(outfile.read_bytes(), dtype=np.float64)
    losses, lrs, norms = v[:STEPS], v[STEPS : 2 * STEPS], v[2 * STEPS : 3 * STEPS]
    w, b = v[3 * STEPS : 3 * STEPS + FEATURES], v[3 * STEPS + FEATURES :]
    return losses, lrs, norms, w, b


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_training_run_matches_pytorch(case, fortran_runs):
    cases, _ = fortran_runs
    data, outfile = cases[case.id]
    got = read_fortran(outfile)
    want = torch_run(case, data)
    rtol = RTOL[case.dtype]
    for name, g, w in zip(("loss per step", "lr per step", "gradient norm", "w", "b"), got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-2, err_msg=f"{case.id}: {name}")
    # The trajectory must actually move: a run whose parameters never change proves nothing.
    assert not np.allclose(got[3], data["w"].astype(np.float64)), "parameters did not change"


def test_training_driver_releases_every_handle(fortran_runs):
    _, stdout = fortran_runs
    assert "live handles at exit: 0" in stdout
