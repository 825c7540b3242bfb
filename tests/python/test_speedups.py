"""The C extension of the binding's hot calls (pyftorch/_speedups.c, issue 13 item 3).

With the extension, Tensor's storage is a C struct, the operators + - * / ** and unary -
are C number slots and ``from_numpy`` has a C path; everything unusual goes to the Python
(ctypes) implementation, which raises the documented errors.  These tests check that:

* the checkout build loads the extension (a silently missing one would only be slower);
* pyftorch works the same through ctypes alone (``PYFTORCH_NO_SPEEDUPS=1``, in a subprocess);
* the C paths give PyTorch's values and the Python paths' errors, keep viewed arrays alive,
  and still call a replaced Library function (fault injection).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

import pyftorch as ft
from pyftorch import _lib, core
from pyftorch.errors import ClosedTensorError, FTorchError

REPO = Path(__file__).resolve().parents[2]
HOT = ("ft_tensor_binary", "ft_tensor_binary_scalar", "ft_tensor_binary_iscalar", "ft_tensor_neg")


def test_checkout_build_loads_the_speedups():
    assert core._speedups is not None, f"pyftorch._speedups is not in use: {_lib.speedups_reason}"
    assert _lib.speedups_reason == ""
    with ft.tensor([1.0]) as t:
        assert isinstance(t, core._speedups.TensorBase)
    # The C slots, not Python methods, run the operators; no Python finaliser.
    assert "__mul__" not in vars(ft.Tensor) and "__neg__" not in vars(ft.Tensor)
    assert "__del__" not in vars(ft.Tensor)


# One script for both modes: values against PyTorch, errors by type, live handles at the end.
SCRIPT = textwrap.dedent(
    """
    import gc, sys
    import numpy as np, torch
    import pyftorch as ft
    from pyftorch import core
    from pyftorch.errors import ClosedTensorError

    want_speedups = sys.argv[1] == "1"
    assert (core._speedups is not None) == want_speedups, core._speedups
    assert ("__del__" in vars(ft.Tensor)) == (not want_speedups)
    rng = np.random.default_rng(3)
    for n in (1, 5000):  # 5000 > _SMALL: the calls that release the GIL
        for dtype in (np.float64, np.float32):
            x = rng.random(n).astype(dtype) + 0.5
            y = rng.random(n).astype(dtype) + 0.5
            a = ft.Tensor.from_numpy(x, copy=False)
            b = ft.from_numpy(y, copy=True)
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            pairs = [
                (a + b, tx + ty), (a - b, tx - ty), (a * b, tx * ty), (a / b, tx / ty), (a ** b, tx ** ty),
                (2.5 * a, 2.5 * tx), (a - 1.5, tx - 1.5), (3 / a, 3 / tx), (a ** 2, tx ** 2), (2 ** a, 2 ** tx),
                (-a, -tx), (a * np.float32(2), tx * 2.0), (True + a, tx + 1),
            ]
            for got, want in pairs:
                assert got.dtype == x.dtype, (got.dtype, x.dtype)
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
            x[0] = 7.0  # a view sees later writes; the copy does not
            assert (a * 1.0).numpy()[0] == 7.0 and b.numpy()[0] == y[0]
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.bool_):
        arr = np.arange(6).reshape(2, 3).astype(dtype)
        for copy in (False, True):
            t = ft.Tensor.from_numpy(arr, copy=copy)
            assert t.dtype == arr.dtype and t.shape == (2, 3), (t.dtype, t.shape)
            np.testing.assert_array_equal(t.numpy(), arr)
    assert ft.Tensor.from_numpy(np.array(2.5), copy=False).shape == ()
    assert ft.Tensor.from_numpy(np.zeros((0, 3)), copy=False).shape == (0, 3)
    errors = []
    for make in (
        lambda: ft.Tensor.from_numpy(np.ones(3, dtype=np.uint16), copy=False),
        lambda: ft.Tensor.from_numpy(np.ones((3, 4))[:, ::2], copy=False),
        lambda: ft.Tensor.from_numpy(np.frombuffer(bytes(24), dtype=np.float64), copy=False),
        lambda: ft.Tensor.from_numpy(np.ones(3), copy=None),
        lambda: ft.Tensor.from_numpy([1.0], copy=False),
        lambda: ft.tensor([1.0]) * ft.tensor([1.0], dtype=np.float32),
        lambda: ft.tensor([1.0]) * 2**70,
        lambda: ft.tensor([1.0]) * "x",
    ):
        try:
            make()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        else:
            errors.append("no error")
    closed = ft.tensor([1.0])
    closed.close()
    never = ft.Tensor.__new__(ft.Tensor)  # never constructed: the same error as a closed one
    for make in (
        lambda: closed * closed, lambda: closed * 2.0, lambda: 2 * closed, lambda: -closed,
        lambda: never * closed, lambda: ft.tensor([1.0]) * never, lambda: never * 2.0, lambda: 2 ** never,
        lambda: -never,
    ):
        try:
            make()
        except ClosedTensorError as exc:
            errors.append(f"ClosedTensorError: {exc}")
    for line in errors:
        print(line)
    del a, b, t, pairs, got
    gc.collect()
    print("live", ft.live_tensors())
    """
)


@pytest.fixture(scope="module")
def both_modes():
    outs = {}
    for mode in ("1", "0"):
        env = dict(os.environ, PYTHONPATH=str(REPO), **{_lib.NO_SPEEDUPS_ENV: "" if mode == "1" else "1"})
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env, timeout=300, cwd=str(REPO)
        )
        assert proc.returncode == 0, f"mode {mode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        outs[mode] = proc.stdout.splitlines()
    return outs


def test_ctypes_fallback_works_without_the_speedups(both_modes):
    """PYFTORCH_NO_SPEEDUPS=1: values, errors and handle accounting through ctypes alone."""
    out = both_modes["0"]
    assert out[-1] == "live 0", out
    assert out[0].startswith("DTypeError: array has dtype uint16"), out
    assert out[1].startswith("InvalidArgumentError: array of shape (3, 2)"), out
    assert out[2].startswith("InvalidArgumentError: a zero-copy view (copy=False) needs a writeable array"), out
    assert out[3].startswith("TypeError: copy must be True"), out
    assert out[4].startswith("TypeError: expected a numpy.ndarray, got list"), out
    assert out[5].startswith("DTypeError"), out
    assert out[6] == f"OverflowError: integer scalar {2**70} does not fit in int64", out
    assert out[7].startswith("TypeError: can't multiply sequence by non-int of type 'Tensor'"), out
    # 4 closed operands, 5 never constructed
    assert len([line for line in out if line.startswith("ClosedTensorError")]) == 9, out


def test_speedups_give_the_fallback_s_values_and_errors(both_modes):
    """The same script with the extension: identical messages, no handle left."""
    assert both_modes["1"] == both_modes["0"]


def test_views_keep_their_arrays_alive():
    x, y = np.arange(1.0, 5.0), np.arange(5.0, 9.0)
    a = ft.Tensor.from_numpy(x, copy=False)
    b = ft.Tensor.from_numpy(y, copy=False)
    assert a._keep == (x,) and a._n == 4
    c = a * b
    d = -(2.0 * a)
    assert {id(k) for k in c._keep} == {id(x), id(y)} and d._keep == (x,)
    refs = weakref.ref(x), weakref.ref(y)
    del x, y, a, b
    gc.collect()
    assert all(r() is not None for r in refs)  # held by c (and d)
    np.testing.assert_array_equal(c.numpy(), [5.0, 12.0, 21.0, 32.0])
    np.testing.assert_array_equal(d.numpy(), [-2.0, -4.0, -6.0, -8.0])
    del c, d
    gc.collect()
    assert all(r() is None for r in refs)


def test_tensor_is_weakly_referencable_and_released_by_dealloc():
    start = ft.live_tensors()
    t = ft.tensor([1.0, 2.0])
    r = weakref.ref(t)
    assert ft.live_tensors() == start + 1
    del t
    assert r() is None and ft.live_tensors() == start  # no gc needed: reference counting


def test_three_argument_pow_is_refused():
    with ft.tensor([2.0]) as t, pytest.raises(TypeError):
        pow(t, 2, 3)


@pytest.mark.parametrize("name", HOT)
def test_replaced_operator_function_is_called(lib, monkeypatch, name):
    """Fault injection: while a Library attribute is replaced, the C slots call the
    replacement (through the Python path), for tensors, scalars and negation."""
    calls = []
    real = getattr(lib, name)
    monkeypatch.setattr(lib, name, lambda *args: (calls.append(name), real(*args))[1])
    a, b = ft.tensor([2.0, 3.0]), ft.tensor([4.0, 5.0])
    results = [a * b, a * 2.0, 3 * a, -a]
    np.testing.assert_array_equal(results[0].numpy(), [8.0, 15.0])
    np.testing.assert_array_equal(results[2].numpy(), [6.0, 9.0])
    np.testing.assert_array_equal(results[3].numpy(), [-2.0, -3.0])
    assert calls == [name], calls


def test_replaced_from_blob_is_called(lib, monkeypatch):
    calls = []
    real = lib.ft_tensor_from_blob
    monkeypatch.setattr(lib, "ft_tensor_from_blob", lambda *args: (calls.append(1), real(*args))[1])
    arr = np.ones(3)
    with ft.Tensor.from_numpy(arr, copy=False) as t, ft.from_numpy(arr, copy=True) as u:
        assert t._keep == (arr,) and u._keep is None
    assert calls == [1, 1]


def test_errors_of_the_c_path_are_those_of_the_python_path(lib, monkeypatch):
    """A failing library call raises the same error from the C slot as from the ctypes path."""

    def failures():
        found = []
        for make in (
            lambda: ft.tensor([1.0, 2.0]) * ft.tensor([1.0, 2.0, 3.0]),
            lambda: ft.tensor([1.0]) / ft.tensor([1], dtype=np.int64),
            lambda: ft.tensor([True]) - 1,
        ):
            with pytest.raises(Exception) as info:
                make()
            found.append((type(info.value), str(info.value)))
        return found

    c_path = failures()
    for name in HOT:  # a wrapper is not the declared function: the Python path runs
        real = getattr(lib, name)
        monkeypatch.setattr(lib, name, lambda *args, _real=real: _real(*args))
    assert failures() == c_path
    assert all(issubclass(kind, FTorchError) for kind, _ in c_path), c_path


def test_closed_operand_raises_closed_tensor_error():
    t = ft.tensor([1.0])
    u = ft.tensor([2.0])
    t.close()
    for make in (lambda: t * u, lambda: u * t, lambda: t + 1, lambda: 1.0 - t, lambda: -t, lambda: t**2):
        with pytest.raises(ClosedTensorError):
            make()
    u.close()


def test_large_operands_match_torch():
    """Above _SMALL elements the calls release the GIL; the values are the same."""
    n = core._SMALL * 3 + 1
    x = np.linspace(0.5, 2.0, n)
    a = ft.Tensor.from_numpy(x, copy=False)
    tx = torch.from_numpy(x)
    np.testing.assert_allclose((a * a + 1.5 - a / 2.0).numpy(), (tx * tx + 1.5 - tx / 2.0).numpy())
    np.testing.assert_allclose((-(a**3)).numpy(), (-(tx**3)).numpy())
    assert (a * a)._n == n * n and (a * 2)._n == n  # an upper bound: the product for two tensors


def test_replaced_delete_is_called_by_close(lib, monkeypatch):
    calls = []
    real = lib.ft_tensor_delete
    monkeypatch.setattr(lib, "ft_tensor_delete", lambda handle: (calls.append(1), real(handle))[1])
    t = ft.tensor([1.0])
    t.close()
    t.close()  # idempotent: deletes once
    assert calls == [1] and t.closed and t._keep is None


def test_constructor_matches_from_numpy():
    """Tensor(...) (the Python path, __init__ on TensorBase's storage) builds what from_numpy builds."""
    arr = np.arange(6.0).reshape(2, 3)
    with ft.Tensor(arr, copy=False) as t, ft.Tensor.from_numpy(arr, copy=False) as u:
        assert t._keep == (arr,) == u._keep and t._n == u._n == 6
        arr[0, 0] = 9.0
        np.testing.assert_array_equal(t.numpy(), u.numpy())
        assert t.numpy()[0, 0] == 9.0 and t.shape == (2, 3)
