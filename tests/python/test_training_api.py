"""The training API of pyftorch: models, losses, optimisers, schedulers, clipping, checkpoints.

Values are checked against PyTorch in the same test; the exhaustive comparisons (every
loss, optimiser, scheduler and clipping mode on float32 and float64) are the crosscheck's
training cases (test_crosscheck.py).  Every test also leaves the library's live-handle
count where it found it (tests/conftest.py); some assert it explicitly.
"""

from __future__ import annotations

import gc
import inspect
import pickle
import weakref
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pyftorch as ft  # noqa: E402
from pyftorch import errors, optim  # noqa: E402
from pyftorch.model import Model  # noqa: E402
from pyftorch.torchscript import save_torchscript  # noqa: E402


class TwoHeads(torch.nn.Module):
    """A model with a tuple of outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.lin(x)
        return y, torch.tanh(y) * 2.0


class ListHeads(torch.nn.Module):
    """A model returning a List[Tensor] (no static length)."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x * 2.0, x + 1.0]


def mlp(n_in: int, n_out: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 8), torch.nn.Tanh(), torch.nn.Linear(8, n_out)).double()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    frozen = mlp(3, 2, seed=3)
    for p in frozen.parameters():
        p.requires_grad_(False)
    bogus = d / "not-a-model.pt"
    bogus.write_text("this is not TorchScript\n")
    return {
        "mlp": save_torchscript(mlp(3, 2, seed=1), d / "mlp.pt"),
        "other": save_torchscript(mlp(3, 5, seed=2), d / "other.pt"),
        "frozen": save_torchscript(frozen, d / "frozen.pt"),
        "two": save_torchscript(TwoHeads().double(), d / "two.pt"),
        "list": save_torchscript(ListHeads(), d / "list.pt"),
        "bogus": bogus,
    }


def data(seed: int, n: int = 5, n_in: int = 3, n_out: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out))


def same(actual, desired, err_msg: str = "") -> None:
    """float64 agreement to a few ulps.  Both sides run the same LibTorch kernels and agree bit for
    bit in practice, but CPU BLAS (matmul) results may depend on buffer alignment, which differs
    between runs that allocate differently (e.g. a run restored from a checkpoint)."""
    np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-15, err_msg=err_msg)


def close_all(*objs) -> None:
    for o in objs:
        if isinstance(o, (list, tuple)):
            close_all(*o)
        elif o is not None:
            o.close()


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
def test_model_forward_matches_torch(models):
    x, _ = data(0)
    ref = torch.jit.load(str(models["mlp"]))
    with Model.load(models["mlp"]) as model, ft.tensor(x) as X:
        assert model.num_parameters == 4 and not model.training
        with model(X) as y:  # default: no autograd history
            assert isinstance(y, ft.Tensor) and y.shape == (5, 2) and not y.requires_grad
            same(y.numpy(), ref(torch.tensor(x)).detach().numpy())
        with model.forward(X, requires_grad=True) as y:
            assert y.requires_grad and not y.is_leaf


def test_model_gradients_and_parameters_match_torch(models):
    x, t = data(1)
    ref = torch.jit.load(str(models["mlp"]))
    F.mse_loss(ref(torch.tensor(x)), torch.tensor(t)).backward()
    with Model.load(models["mlp"]) as model, ft.tensor(x) as X, ft.tensor(t) as T:
        params = model.parameters()
        loss = ft.mse_loss(model(X, requires_grad=True), T)
        loss.backward()
        names = [n for n, _ in ref.named_parameters()]
        assert len(params) == len(names) == 4
        for p, (name, rp) in zip(params, ref.named_parameters()):
            assert p.requires_grad and p.is_leaf and p.is_view, name  # parameters write through
            same(p.numpy(), rp.detach().numpy(), err_msg=name)
            with p.grad as g:
                same(g.numpy(), rp.grad.numpy(), err_msg=name)
        close_all(params, loss)


def test_parameters_alias_the_weights_and_outlive_the_model(models):
    x, _ = data(2)
    model = Model.load(models["mlp"], requires_grad=True)
    params = model.parameters()
    X = ft.tensor(x)
    before = model(X).numpy()
    with ft.SGD(params, lr=0.5) as opt:
        (model(X, requires_grad=True) * 1.0).sum().backward()
        opt.step()
    after = model(X).numpy()
    assert not np.allclose(before, after)  # the optimiser trained the model through the aliases
    model.close()
    w = params[0].numpy()  # the handles keep the weights alive
    assert w.shape == (8, 3) and np.isfinite(w).all()
    close_all(params, X)


@pytest.mark.parametrize(
    "requires_grad,file,expected",
    [
        (None, "mlp", True),
        (False, "mlp", False),
        (True, "mlp", True),
        (None, "frozen", False),
        (True, "frozen", True),
        (False, "frozen", False),
    ],
)
def test_requires_grad_at_load(models, requires_grad, file, expected):
    """None keeps the file's setting, False freezes (FTorch issue #585), True unfreezes."""
    with Model.load(models[file], requires_grad=requires_grad) as model:
        params = model.parameters()
        assert [p.requires_grad for p in params] == [expected] * 4
        if not expected:  # an optimiser over frozen parameters is refused
            with pytest.raises(errors.InvalidArgumentError, match="does not require gradients"):
                ft.Adam(params)
        close_all(params)


def test_train_eval_and_repr(models):
    with Model.load(models["mlp"], training=True) as model:
        assert model.training
        assert model.eval() is model and not model.training
        assert model.train() is model and model.training
        model.train(False)
        assert not model.training
        assert "mlp.pt" in repr(model) and "training=False" in repr(model)
    assert repr(model) == "Model(<closed>)"


def test_dropout_follows_the_mode(tmp_path):
    torch.manual_seed(0)
    path = save_torchscript(torch.nn.Sequential(torch.nn.Dropout(0.5)).double(), tmp_path / "drop.pt")
    x = np.ones((4, 50))
    with Model.load(path, training=False) as model, ft.tensor(x) as X:
        with model(X) as y:
            same(y.numpy(), x)  # eval: identity
        model.train()
        with model(X) as y:
            assert set(np.unique(y.numpy())) <= {0.0, 2.0} and (y.numpy() == 0).any()


def test_save_writes_the_current_weights(models, tmp_path):
    x, t = data(3)
    with Model.load(models["mlp"], requires_grad=True) as model, ft.tensor(x) as X, ft.tensor(t) as T:
        params = model.parameters()
        with ft.Adam(params, lr=0.1) as opt:
            ft.mse_loss(model(X, requires_grad=True), T).backward()
            opt.step()
        model.save(tmp_path / "trained.pt")
        saved = torch.jit.load(str(tmp_path / "trained.pt"))
        for p, (name, sp) in zip(params, saved.named_parameters()):
            same(p.numpy(), sp.detach().numpy(), err_msg=name)
        with Model.load(tmp_path / "trained.pt") as again, model(X) as y1, again(X) as y2:
            same(y1.numpy(), y2.numpy())
        close_all(params)


def test_multiple_outputs(models):
    x, _ = data(4)
    ref = torch.jit.load(str(models["two"]))
    r1, r2 = ref(torch.tensor(x))
    with Model.load(models["two"]) as model, ft.tensor(x) as X:
        out = model(X)
        assert isinstance(out, tuple) and len(out) == 2
        same(out[0].numpy(), r1.detach().numpy())
        same(out[1].numpy(), r2.detach().numpy())
        close_all(out)
        with pytest.raises(errors.InvalidArgumentError, match="returned 2 tensor"):
            model(X, n_outputs=3)


def test_list_outputs_need_n_outputs(models):
    with Model.load(models["list"]) as model, ft.tensor([1.0, 2.0]) as X:
        with pytest.raises(errors.InvalidArgumentError, match="n_outputs"):
            model(X)
        a, b = model(X, n_outputs=2)
        assert a.tolist() == [2.0, 4.0] and b.tolist() == [2.0, 3.0]
        close_all(a, b)
    with Model.load(models["list"], n_outputs=2) as model, ft.tensor([1.0]) as X:
        out = model(X)
        assert len(out) == 2
        close_all(out)


def test_model_errors(models, tmp_path):
    with pytest.raises(errors.LibraryIOError, match="cannot open model file"):
        Model.load(tmp_path / "missing.pt")
    with pytest.raises(errors.ModelError, match="is not a TorchScript model"):
        Model.load(models["bogus"])
    with pytest.raises(errors.InvalidArgumentError, match="empty"):
        Model.load("")
    with pytest.raises(errors.InvalidArgumentError, match="unknown device"):
        Model.load(models["mlp"], device="tpu")
    with pytest.raises(TypeError, match="requires_grad"):
        Model.load(models["mlp"], requires_grad="yes")
    with pytest.raises(TypeError):
        Model.load(42)
    with Model.load(models["mlp"]) as model:
        with pytest.raises(TypeError, match=r"not a pyftorch\.Tensor"):
            model(np.zeros((2, 3)))
        with ft.zeros((2, 5)) as bad, pytest.raises(errors.FTorchError, match="shapes cannot be multiplied"):
            model(bad)
        with ft.zeros((2, 3)) as x, pytest.raises(errors.FTorchError, match="argument"):
            model(x, x)
        with pytest.raises(errors.LibraryIOError):
            model.save(tmp_path / "no" / "such" / "dir" / "m.pt")
    for use in (lambda: model(None), model.parameters, model.train, lambda: model.training, lambda: model.save("x")):
        with pytest.raises(errors.ClosedHandleError, match="model was closed"):
            use()


def test_model_lifetime(models):
    start = ft.live_handles()
    model = Model.load(models["mlp"])
    assert ft.live_handles() == start + 1
    model.close()
    model.close()  # idempotent
    assert ft.live_handles() == start and model.closed
    model = Model.load(models["mlp"])
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None and ft.live_handles() == start  # __del__ released it
    with Model.load(models["mlp"]) as model:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(model)
    assert ft.live_handles() == start


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------
LOSS_FUNCTIONS = {
    "mse_loss": ({}, {}),
    "l1_loss": ({}, {}),
    "smooth_l1_loss": ({"beta": 0.5}, {"beta": 0.5}),
    "huber_loss": ({"delta": 0.5}, {"delta": 0.5}),
    "binary_cross_entropy_with_logits": ({}, {}),
}


@pytest.mark.parametrize("name", sorted(LOSS_FUNCTIONS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(name, reduction):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(4, 3)), rng.uniform(0, 1, size=(4, 3))
    kw, tkw = LOSS_FUNCTIONS[name]
    tx = torch.tensor(x, requires_grad=True)
    ref = getattr(F, name)(tx, torch.tensor(y), reduction=reduction, **tkw)
    ref.backward(torch.ones_like(ref))
    with ft.tensor(x, requires_grad=True) as X, ft.tensor(y) as Y:
        with getattr(ft, name)(X, Y, reduction=reduction, **kw) as loss:
            assert loss.shape == ((4, 3) if reduction == "none" else (1,))
            same(loss.numpy().reshape(ref.shape), ref.detach().numpy())
            loss.backward()
        with X.grad as g:
            same(g.numpy(), tx.grad.numpy())


def test_cross_entropy_targets():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 3))
    idx = np.array([0, 2, 1, 2])
    prob = rng.dirichlet(np.ones(3), size=4)
    with ft.tensor(x, requires_grad=True) as X, ft.tensor(idx) as I, ft.tensor(prob) as P:  # noqa: E741 -- X, I, P: the loss's math names
        for target, ref_target in ((I, torch.tensor(idx)), (P, torch.tensor(prob))):
            with ft.cross_entropy(X, target, label_smoothing=0.1) as loss:
                ref = F.cross_entropy(torch.tensor(x), ref_target, label_smoothing=0.1)
                assert loss.item() == pytest.approx(ref.item(), rel=1e-12)


def test_loss_errors():
    with ft.zeros(3, requires_grad=True) as x, ft.zeros(4) as y4, ft.zeros(3, dtype=np.float32) as y32:
        with pytest.raises(errors.ShapeError, match=r"input has shape \[3\] but target has shape \[4\]"):
            ft.mse_loss(x, y4)  # torch would broadcast (with a warning); the library refuses
        with pytest.raises(errors.DTypeError):
            ft.l1_loss(x, y32)
        with pytest.raises(errors.InvalidArgumentError, match="reduction"):
            ft.mse_loss(x, x, reduction="average")
        with pytest.raises(TypeError, match=r"target must be a pyftorch\.Tensor"):
            ft.mse_loss(x, np.zeros(3))
        with pytest.raises(errors.InvalidArgumentError, match="beta"):
            ft.smooth_l1_loss(x, x, beta=-1.0)
        with pytest.raises(errors.InvalidArgumentError, match="delta"):
            ft.huber_loss(x, x, delta=0.0)
    with (
        ft.zeros((4, 3)) as x,
        ft.tensor(np.array([0, 1, 2, 0], dtype=np.int32)) as i32,
        ft.tensor(np.array([0, 1, 2])) as short,
        ft.tensor(np.array([1, 2])) as ints,
    ):
        with pytest.raises(errors.DTypeError, match="int64"):
            ft.cross_entropy(x, i32)
        with pytest.raises(errors.ShapeError, match="class-index target"):
            ft.cross_entropy(x, short)
        with pytest.raises(errors.InvalidArgumentError, match="label_smoothing"):
            ft.cross_entropy(x, short, label_smoothing=1.5)
        with pytest.raises(errors.DTypeError, match="floating point"):
            ft.mse_loss(ints, ints)


# --------------------------------------------------------------------------------------------
# Optimisers
# --------------------------------------------------------------------------------------------
OPTIMIZERS = {
    "SGD": optim.FT_OPTIM_SGD,
    "Adam": optim.FT_OPTIM_ADAM,
    "AdamW": optim.FT_OPTIM_ADAMW,
    "RMSprop": optim.FT_OPTIM_RMSPROP,
    "Adagrad": optim.FT_OPTIM_ADAGRAD,
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_defaults_are_torch_and_library_defaults(name):
    """The Python signature's defaults == torch.optim's == ft_optim_defaults (which fills the struct)."""
    ours = {
        k: p.default
        for k, p in inspect.signature(getattr(optim, name)).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    torch_params = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(ours) <= set(torch_params)  # torch's names ...
    for key, value in ours.items():
        assert value == torch_params[key].default, key  # ... and torch's defaults
    # what is left are torch's implementation switches (and Adam's AdamW mode), not hyper-parameters
    assert set(torch_params) - set(ours) - {"params"} <= {
        "foreach",
        "differentiable",
        "fused",
        "capturable",
        "decoupled_weight_decay",
    }
    library = optim.optim_defaults(OPTIMIZERS[name])
    for key, value in ours.items():
        if key == "betas":
            assert (library.beta1, library.beta2) == value
        else:
            assert getattr(library, key) == value, key
    with ft.zeros(2, requires_grad=True) as p, getattr(optim, name)([p]) as opt:
        assert opt.lr == ours["lr"] and opt.options["maximize"] == 0


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_scheduler_signatures_are_torchs(name):
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name)).parameters
    assert list(ours) == [k for k in theirs if k != "last_epoch"]
    assert all(ours[k].default == theirs[k].default for k in ours)


def test_optimizer_hyperparameters_reach_the_library():
    with ft.zeros(2, requires_grad=True) as p:
        with optim.Adam([p], lr=0.3, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.2, amsgrad=True) as opt:
            o = opt.options
            assert (o["lr"], o["beta1"], o["beta2"], o["eps"], o["weight_decay"], o["amsgrad"]) == (
                0.3,
                0.5,
                0.6,
                1e-3,
                0.2,
                1,
            )
        with optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, maximize=True) as opt:
            assert opt.options["nesterov"] == 1 and opt.options["maximize"] == 1 and opt.options["momentum"] == 0.9


def test_optimizer_errors():
    with ft.zeros(3) as frozen, ft.zeros(3, requires_grad=True) as p:
        with pytest.raises(errors.InvalidArgumentError, match="does not require gradients"):
            ft.SGD([p, frozen], lr=0.1)
        with p * 2.0 as computed, pytest.raises(errors.InvalidArgumentError, match="not a leaf"):
            ft.Adam([computed])
        with pytest.raises(errors.InvalidArgumentError, match="no parameters"):
            ft.SGD([])
        with pytest.raises(TypeError, match="single Tensor"):
            ft.SGD(p)
        with pytest.raises(TypeError, match=r"not a pyftorch\.Tensor"):
            ft.SGD([p, torch.zeros(3)])
        with pytest.raises(errors.InvalidArgumentError, match="learning rate"):
            ft.SGD([p], lr=-1.0)
        with pytest.raises(errors.InvalidArgumentError, match="Nesterov"):
            ft.SGD([p], lr=0.1, nesterov=True)
        with pytest.raises(errors.InvalidArgumentError, match="beta"):
            ft.Adam([p], betas=(1.5, 0.9))
        with pytest.raises(errors.InvalidArgumentError, match="betas"):
            ft.AdamW([p], betas=0.9)
        q = ft.zeros(2, requires_grad=True)
        q.close()
        with pytest.raises(errors.ClosedTensorError):
            ft.SGD([p, q])
        opt = ft.SGD([p])
        opt.close()
        for use in (opt.step, opt.zero_grad, lambda: opt.lr, lambda: opt.steps):
            with pytest.raises(errors.ClosedHandleError, match="optimiser was closed"):
                use()
        with ft.SGD([p]) as opt, pytest.raises(errors.InvalidArgumentError, match="learning rate"):
            opt.lr = -0.5


def test_step_zero_grad_lr_and_steps():
    with ft.tensor([1.0, -2.0], requires_grad=True) as w, ft.tensor([3.0], requires_grad=True) as unused:
        opt = ft.SGD([w, unused], lr=0.1)
        assert opt.steps == 0 and opt.lr == 0.1
        (w * w).sum().backward()
        assert opt.step(lambda: "closure result") == "closure result"
        assert w.tolist() == pytest.approx([0.8, -1.6]) and unused.tolist() == [3.0]  # no gradient: skipped
        assert opt.steps == 1
        opt.zero_grad(set_to_none=False)
        assert w.has_grad and w.grad.tolist() == [0.0, 0.0]
        opt.zero_grad()
        assert not w.has_grad and w.grad is None
        opt.lr = 0.5
        assert opt.lr == 0.5 and "lr=0.5" in repr(opt) and "steps=1" in repr(opt)
        opt.close()
        assert repr(opt) == "SGD(<closed>)"


def test_optimizer_matches_torch_over_a_model(models):
    """Model + Adam (amsgrad) + CosineAnnealingLR + clipping: 20 steps equal torch's, bit for bit."""
    x, t = data(5)
    ref = torch.jit.load(str(models["mlp"]))
    ref.train()
    ref_params = list(ref.parameters())
    topt = torch.optim.Adam(ref_params, lr=0.02, weight_decay=0.01, amsgrad=True, foreach=False)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=7, eta_min=1e-3)
    with Model.load(models["mlp"], training=True) as model, ft.tensor(x) as X, ft.tensor(t) as T:
        params = model.parameters()
        with (
            ft.Adam(params, lr=0.02, weight_decay=0.01, amsgrad=True) as opt,
            ft.CosineAnnealingLR(opt, T_max=7, eta_min=1e-3) as sched,
        ):
            for _ in range(20):
                opt.zero_grad()
                with ft.mse_loss(model(X, requires_grad=True), T) as loss:
                    loss.backward()
                norm = ft.clip_grad_norm_(params, 0.5)
                opt.step()
                sched.step()
                topt.zero_grad()
                ref_loss = F.mse_loss(ref(torch.tensor(x)), torch.tensor(t))
                ref_loss.backward()
                assert norm == pytest.approx(torch.nn.utils.clip_grad_norm_(ref_params, 0.5).item(), rel=1e-12)
                topt.step()
                tsched.step()
                assert loss.closed and opt.lr == tsched.get_last_lr()[0]
        for p, rp in zip(params, ref_params):
            same(p.numpy(), rp.detach().numpy())
        close_all(params)


def test_optimizer_keeps_viewed_arrays_alive():
    arr = np.array([1.0, 2.0, 3.0])
    ref = weakref.ref(arr)
    t = ft.Tensor.from_numpy(arr, copy=False, requires_grad=True)
    (t * t).sum().backward()
    opt = ft.SGD([t], lr=0.1)
    del t, arr
    gc.collect()
    assert ref() is not None  # the optimiser updates that memory in place
    opt.step()
    np.testing.assert_allclose(ref(), [0.8, 1.6, 2.4])
    opt.close()
    del opt
    gc.collect()
    assert ref() is None


def test_optimizer_lifetime_and_handles():
    start = ft.live_handles()
    with ft.zeros(3, requires_grad=True) as p:
        opt = ft.RMSprop([p])
        assert ft.live_handles() == start + 2
        ref = weakref.ref(opt)
        del opt
        gc.collect()
        assert ref() is None and ft.live_handles() == start + 1
        with ft.Adagrad([p]) as opt, pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(opt)
    assert ft.live_handles() == start


# --------------------------------------------------------------------------------------------
# Schedulers
# --------------------------------------------------------------------------------------------
def test_scheduler_api():
    with ft.zeros(2, requires_grad=True) as p, ft.SGD([p], lr=0.1) as opt, ft.StepLR(opt, step_size=2) as sched:
        assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1] and sched.optimizer is opt
        lrs = []
        for _ in range(5):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
            assert opt.lr == sched.last_lr
        assert sched.last_epoch == 5 and lrs == pytest.approx([0.1, 0.01, 0.01, 0.001, 0.001])
        assert "last_epoch=5" in repr(sched)


def test_scheduler_keeps_its_optimizer_alive():
    start = ft.live_handles()
    p = ft.zeros(2, requires_grad=True)
    opt = ft.SGD([p], lr=1.0)
    sched = ft.ExponentialLR(opt, gamma=0.5)
    opt.close()
    p.close()
    sched.step()  # the library's optimiser lives on inside the scheduler
    assert sched.last_lr == 0.5
    sched.close()
    assert ft.live_handles() == start


def test_scheduler_errors():
    with ft.zeros(2, requires_grad=True) as p, ft.SGD([p]) as opt:
        for bad in (0, 2.5, -3, True):
            with pytest.raises(errors.InvalidArgumentError, match="step_size"):
                ft.StepLR(opt, step_size=bad)
        with pytest.raises(errors.InvalidArgumentError, match="T_max"):
            ft.CosineAnnealingLR(opt, T_max=0)
        with pytest.raises(TypeError, match="optimiser"):
            ft.ExponentialLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), gamma=0.9)
        sched = ft.StepLR(opt, step_size=3)
        sched.close()
        with pytest.raises(errors.ClosedHandleError, match="scheduler was closed"):
            sched.step()
    with pytest.raises(errors.ClosedHandleError):
        ft.StepLR(opt, step_size=3)


# --------------------------------------------------------------------------------------------
# Clipping
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), "inf"])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=4)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ((ta * ta).sum() + (tb**3).sum()).backward()
    total = torch.nn.utils.clip_grad_norm_([ta, tb], 0.5, norm_type)
    with ft.tensor(a, requires_grad=True) as A, ft.tensor(b, requires_grad=True) as B:
        ((A * A).sum() + (B**3).sum()).backward()
        got = ft.clip_grad_norm_([A, B], 0.5, norm_type)
        assert isinstance(got, float) and got == pytest.approx(total.item(), rel=1e-12) and got > 0.5
        for t, r in ((A, ta), (B, tb)):
            with t.grad as g:
                same(g.numpy(), r.grad.numpy())


def test_clipping_edge_cases():
    with ft.tensor([3.0, -4.0], requires_grad=True) as a:
        assert ft.clip_grad_norm_([a], 1.0) == 0.0  # no gradient yet: nothing to clip
        a.backward(np.array([3.0, -4.0]))
        assert ft.clip_grad_norm_(a, 100.0) == 5.0  # a single Tensor is accepted, as by torch
        ft.clip_grad_value_(a, 3.5)
        assert a.grad.tolist() == [3.0, -3.5]
        for bad in (0, -2.0):
            with pytest.raises(errors.InvalidArgumentError, match="norm_type"):
                ft.clip_grad_norm_([a], 1.0, bad)
        with pytest.raises(TypeError):
            ft.clip_grad_value_([a, "b"], 1.0)


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------
def _train(model: Model, opt, sched, X, T, steps: int) -> None:
    params = model.parameters()
    for _ in range(steps):
        opt.zero_grad()
        with ft.mse_loss(model(X, requires_grad=True), T) as loss:
            loss.backward()
        ft.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
    close_all(params)


def _run(models, first_half_ckpt: Path | None = None, resume_from: Path | None = None, steps: int = 20):
    x, t = data(6)
    with Model.load(models["mlp"], training=True) as model, ft.tensor(x) as X, ft.tensor(t) as T:
        params = model.parameters()
        with ft.AdamW(params, lr=0.05, amsgrad=True) as opt, ft.CosineAnnealingLR(opt, T_max=15) as sched:
            if resume_from is not None:
                ft.load_checkpoint(resume_from, model, opt, sched)
                assert opt.steps == steps and sched.last_epoch == steps
            _train(model, opt, sched, X, T, steps)
            if first_half_ckpt is not None:
                ft.save_checkpoint(first_half_ckpt, model, optimizer=opt, scheduler=sched)
            result = [p.numpy() for p in params], opt.lr
        close_all(params)
    return result


def test_restart_from_checkpoint_equals_uninterrupted_run(models, tmp_path):
    ckpt = tmp_path / "half.ckpt"
    full, full_lr = _run(models, steps=20)
    half, _ = _run(models, first_half_ckpt=ckpt, steps=10)
    resumed, resumed_lr = _run(models, resume_from=ckpt, steps=10)
    assert resumed_lr == full_lr
    for a, b, h in zip(full, resumed, half):
        same(b, a)
        assert not np.array_equal(h, a)
    saved = torch.load(str(ckpt), weights_only=True)  # plain values only: the safe loader reads it
    assert saved["format"] == "pyftorch-checkpoint" and saved["optimizer"]["name"] == "AdamW"
    assert saved["scheduler"]["last_epoch"] == 10 and set(saved["model_parameters"]) == {
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    }


def test_optimizer_only_checkpoint(tmp_path):
    with ft.tensor([1.0, 2.0], requires_grad=True) as w, ft.SGD([w], lr=0.1, momentum=0.9) as opt:
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        ft.optim.save_checkpoint(tmp_path / "opt.ckpt", optimizer=opt)
        snapshot = w.tolist()
        opt.step()  # momentum carries on: w changes even with the same gradient
        opt.lr = 0.7
        ft.optim.load_checkpoint(tmp_path / "opt.ckpt", optimizer=opt)
        assert w.tolist() == snapshot and opt.lr == 0.1 and opt.steps == 3


def test_checkpoint_errors_leave_objects_unchanged(models, tmp_path):
    with Model.load(models["other"], requires_grad=True) as other:
        ft.save_checkpoint(tmp_path / "other.ckpt", other)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with Model.load(models["mlp"], requires_grad=True) as model:
        params = model.parameters()
        before = [p.numpy() for p in params]
        with pytest.raises(errors.InvalidArgumentError, match="different model"):
            ft.load_checkpoint(tmp_path / "other.ckpt", model)
        with pytest.raises(errors.LibraryIOError, match="cannot open checkpoint"):
            ft.load_checkpoint(tmp_path / "missing.ckpt", model)
        with pytest.raises(errors.LibraryIOError, match="not a pyftorch checkpoint"):
            ft.load_checkpoint(tmp_path / "junk.ckpt", model)
        with ft.SGD(params) as sgd, ft.Adam(params) as adam:
            ft.save_checkpoint(tmp_path / "sgd.ckpt", model, sgd)
            with pytest.raises(errors.InvalidArgumentError, match="SGD optimiser, not Adam"):
                ft.load_checkpoint(tmp_path / "sgd.ckpt", model, adam)
            with pytest.raises(errors.InvalidArgumentError, match="no 'optimizer' entry"):
                ft.load_checkpoint(tmp_path / "other.ckpt", optimizer=sgd)
            with pytest.raises(TypeError, match="model must be a pyftorch Model"):
                ft.save_checkpoint(tmp_path / "x.ckpt", params[0])
            with pytest.raises(TypeError, match="optimizer must be"):
                ft.save_checkpoint(tmp_path / "x.ckpt", model, torch.optim.SGD([torch.zeros(1, requires_grad=True)]))
        for p, b in zip(params, before):
            same(p.numpy(), b)
        close_all(params)
    with pytest.raises(errors.ClosedHandleError):
        ft.save_checkpoint(tmp_path / "closed.ckpt", model)


# --------------------------------------------------------------------------------------------
# Package
# --------------------------------------------------------------------------------------------
def test_names_are_exported_lazily(python_subprocess):
    names = [
        "Model",
        "mse_loss",
        "l1_loss",
        "smooth_l1_loss",
        "huber_loss",
        "cross_entropy",
        "binary_cross_entropy_with_logits",
        "SGD",
        "Adam",
        "AdamW",
        "RMSprop",
        "Adagrad",
        "StepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "clip_grad_norm_",
        "clip_grad_value_",
        "save_checkpoint",
        "load_checkpoint",
        "Optimizer",
        "LRScheduler",
        "save_torchscript",
        "ClosedHandleError",
    ]
    proc = python_subprocess(
        "import sys, pyftorch\n"
        f"names = {names!r}\n"
        "assert set(names) <= set(dir(pyftorch)) and set(names) <= set(pyftorch.__all__)\n"
        "print('torch' in sys.modules)\n"
        "print(pyftorch.optim.Adam is pyftorch.Adam, pyftorch.losses.mse_loss is pyftorch.mse_loss,\n"
        "      pyftorch.model.Model is pyftorch.Model, all(getattr(pyftorch, n) for n in names))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True", "True", "True"]
