"""The four implementations of every case, behind one interface.

A variant is set up for one (case, size, dtype), hands out a callable ``run(n)`` that
performs the case's operation n times, reads back the case's output and is torn down:

- ``fortran``: bind(c) loops in bench/kernels/bench_fortran.f90 using the public ftorch API;
- ``cxx``: the same loops with raw LibTorch calls (bench_cxx.cpp), the floor;
- ``torch``: Python loops over PyTorch tensors;
- ``pyftorch``: Python loops over pyftorch.Tensor (see bench/_ftshim.py);
- ``eager``: the training step in Python PyTorch with a plain nn.Module (``torch`` runs the
  TorchScript file that all the others load).

Every variant gets private copies of the same operands, and its tensors view them (no
copy), as a Fortran user's tensors view the user's arrays.  Operator results rebind the
result variable (``c = a * b``): the previous result is released after the new one exists.

A training case (``case.training``) gets the batch as ``a`` (inputs) and ``b`` (targets),
flattened in C order; the variant loads bench.training's TorchScript file, builds an Adam
optimiser over the model's parameters and runs ``n`` steps per call of ``run(n)``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from ctypes import c_char_p, c_double, c_int, c_int64, c_void_p
from types import SimpleNamespace
from typing import Any

import numpy as np

from bench import _ftshim, training
from bench.cases import (
    CASES,
    CXX_COPY,
    DTYPES,
    EAGER,
    GRAD_BACKWARD,
    GRAD_NONE,
    OUT_C,
    OUT_GRAD,
    OUT_HOLDER,
    OUT_T,
    OUT_WEIGHT,
    Case,
)

Loop = Callable[[int], None]


class Variant:
    name: str

    def setup(self, case: Case, size: int, dtype: str, a: np.ndarray, b: np.ndarray) -> None:
        raise NotImplementedError

    def loop(self, case: Case) -> Loop:
        raise NotImplementedError

    def result(self, output: int) -> np.ndarray:
        raise NotImplementedError

    def teardown(self) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------
# Compiled kernels (Fortran and C++), driven through ctypes
# ------------------------------------------------------------------------------------------


class KernelError(RuntimeError):
    pass


class CompiledVariant(Variant):
    """Kernels with entry points <prefix>_setup/_<case>/_result/_teardown."""

    def __init__(self, name: str, path: str, prefix: str) -> None:
        self.name = name
        self.lib = ctypes.CDLL(path)
        self.prefix = prefix
        self._fn("setup", [c_int64, c_int, c_void_p, c_void_p, c_int])
        # (model file, its length, batch, inputs, outputs, dtype, x, y, learning rate)
        self._fn("train_setup", [c_char_p, c_int, c_int, c_int, c_int, c_int, c_void_p, c_void_p, c_double])
        self._fn("result", [c_int, c_void_p])
        self._fn("teardown", [])
        for case, spec in CASES.items():
            if name in spec.variants:
                self._fn(self._case_name(case), [c_int64])
        self.size = 0

    def _case_name(self, case: str) -> str:
        return case

    def _fn(self, what: str, argtypes: list) -> Any:
        fn = getattr(self.lib, f"{self.prefix}_{what}")
        fn.argtypes = argtypes
        fn.restype = c_int
        return fn

    def _call(self, what: str, *args: Any) -> None:
        status = getattr(self.lib, f"{self.prefix}_{what}")(*args)
        if status != 0:
            raise KernelError(f"{self.prefix}_{what} failed with status {status}")

    def setup(self, case, size, dtype, a, b):
        if case.training:
            self.size = training.WEIGHT_ELEMENTS
            path = str(training.model_file(dtype)).encode()
            self._call(
                "train_setup",
                path,
                len(path),
                size,
                training.N_IN,
                training.N_OUT,
                DTYPES[dtype],
                a.ctypes.data,
                b.ctypes.data,
                training.LR,
            )
            return
        self.size = size
        self._call("setup", size, DTYPES[dtype], a.ctypes.data, b.ctypes.data, case.grad_mode)

    def loop(self, case):
        fn = getattr(self.lib, f"{self.prefix}_{self._case_name(case.name)}")
        name = f"{self.prefix}_{self._case_name(case.name)}"

        def run(n: int) -> None:
            status = fn(n)
            if status != 0:
                raise KernelError(f"{name} failed with status {status}")

        return run

    def result(self, output):
        out = np.empty(self.size, dtype=np.float64)
        self._call("result", output, out.ctypes.data)
        return out

    def teardown(self):
        self._call("teardown")


class CopyVariant(CompiledVariant):
    """The C++ kernels' `<case>_copy` loops: copy_ of a fresh result into the view."""

    def _case_name(self, case: str) -> str:
        return f"{case}_copy"


# ------------------------------------------------------------------------------------------
# Python PyTorch
# ------------------------------------------------------------------------------------------


class TorchVariant(Variant):
    """Python PyTorch; a training step runs the TorchScript file (torch.jit.load)."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.st = SimpleNamespace()

    def load_model(self, dtype: str) -> Any:
        return training.load_scripted(dtype)

    def setup(self, case, size, dtype, a, b):
        torch = self.torch
        torch.set_num_threads(1)
        st = self.st = SimpleNamespace()
        if case.training:
            st.x_arr = a.reshape(size, training.N_IN).copy()
            st.y_arr = b.reshape(size, training.N_OUT).copy()
            st.x, st.y = torch.from_numpy(st.x_arr), torch.from_numpy(st.y_arr)
            st.model = self.load_model(dtype)
            st.opt = torch.optim.Adam(st.model.parameters(), lr=training.LR)
            st.out = st.loss = None
            return
        st.a_arr, st.b_arr = a.copy(), b.copy()
        st.ones_arr, st.g_arr = np.ones_like(a), np.zeros_like(a)
        st.a = torch.from_numpy(st.a_arr)
        st.b = torch.from_numpy(st.b_arr)
        st.ones = torch.from_numpy(st.ones_arr)
        st.g = torch.from_numpy(st.g_arr)
        st.t = torch.from_numpy(st.a_arr)
        st.c = st.q = None
        if case.grad_mode != GRAD_NONE:
            st.a.requires_grad_(True)
            st.q = st.a * st.b + st.a / st.b
        if case.grad_mode == GRAD_BACKWARD:
            st.q.backward(st.ones, retain_graph=True)

    def loop(self, case):
        if case.training:
            return self.train_loop()
        st = self.st
        a, b, q, ones, g, arr = st.a, st.b, st.q, st.ones, st.g, st.a_arr
        from_numpy = self.torch.from_numpy

        def add(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a + b
            st.c = c

        def sub(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a - b
            st.c = c

        def mul(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a * b
            st.c = c

        def div(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a / b
            st.c = c

        def expr(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a * b + a / b
            st.c = c

        def from_array(n):
            t, st.t = st.t, None
            for _ in range(n):
                del t
                t = from_numpy(arr)
            st.t = t

        def backward(n):
            for _ in range(n):
                q.backward(ones, retain_graph=True)

        def get_gradient(n):
            for _ in range(n):
                g.copy_(a.grad)

        def zero_grad(n):
            for _ in range(n):
                a.grad.zero_()

        return locals()[case.name]

    def train_loop(self) -> Loop:
        st = self.st
        model, opt, x, y = st.model, st.opt, st.x, st.y
        mse_loss = self.torch.nn.functional.mse_loss

        def train_step(n):
            out, loss, st.out, st.loss = st.out, st.loss, None, None
            for _ in range(n):
                out = model(x)
                loss = mse_loss(out, y)
                loss.backward()
                opt.step()
                opt.zero_grad()
            st.out, st.loss = out, loss

        return train_step

    def result(self, output):
        st = self.st
        if output == OUT_WEIGHT:
            return training.first_weight(st.model)
        value = {OUT_C: lambda: st.c, OUT_T: lambda: st.t, OUT_GRAD: lambda: st.a.grad, OUT_HOLDER: lambda: st.g}[
            output
        ]()
        return value.detach().to(self.torch.float64).numpy().copy()

    def teardown(self):
        self.st = SimpleNamespace()


class EagerTorchVariant(TorchVariant):
    """Python PyTorch with a plain nn.Module holding the file's weights (training step only)."""

    name = EAGER

    def load_model(self, dtype: str) -> Any:
        return training.load_eager(dtype)


# ------------------------------------------------------------------------------------------
# pyftorch (ctypes)
# ------------------------------------------------------------------------------------------


class PyftorchVariant(Variant):
    name = "pyftorch"

    def __init__(self) -> None:
        self.T = _ftshim.tensor_class()
        self.get_gradient_into = _ftshim.get_gradient_into
        self.st = SimpleNamespace()

    def setup(self, case, size, dtype, a, b):
        T = self.T
        _ftshim.library().ft_set_num_threads(1)
        st = self.st = SimpleNamespace()
        if case.training:
            import pyftorch

            st.x_arr = a.reshape(size, training.N_IN).copy()
            st.y_arr = b.reshape(size, training.N_OUT).copy()
            st.x = pyftorch.Tensor.from_numpy(st.x_arr, copy=False)
            st.y = pyftorch.Tensor.from_numpy(st.y_arr, copy=False)
            st.model = pyftorch.Model.load(training.model_file(dtype), requires_grad=True, training=True)
            st.params = st.model.parameters()
            st.opt = pyftorch.Adam(st.params, lr=training.LR)
            st.out = st.loss = None
            return
        st.a_arr, st.b_arr = a.copy(), b.copy()
        st.ones_arr, st.g_arr = np.ones_like(a), np.zeros_like(a)
        grad = case.grad_mode != GRAD_NONE
        st.a = T.from_numpy(st.a_arr, copy=False, requires_grad=grad)
        st.b = T.from_numpy(st.b_arr, copy=False)
        st.ones = T.from_numpy(st.ones_arr, copy=False)
        st.g = T.from_numpy(st.g_arr, copy=False)
        st.t = T.from_numpy(st.a_arr, copy=False)
        st.c = st.q = None
        if grad:
            st.q = st.a * st.b + st.a / st.b
        if case.grad_mode == GRAD_BACKWARD:
            st.q.backward(st.ones, retain_graph=True)

    def loop(self, case):
        if case.training:
            return self.train_loop()
        st = self.st
        a, b, q, ones, g, arr = st.a, st.b, st.q, st.ones, st.g, st.a_arr
        from_numpy = self.T.from_numpy
        get_gradient_into = self.get_gradient_into

        def add(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a + b
            st.c = c

        def sub(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a - b
            st.c = c

        def mul(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a * b
            st.c = c

        def div(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a / b
            st.c = c

        def expr(n):
            c, st.c = st.c, None
            for _ in range(n):
                c = a * b + a / b
            st.c = c

        def from_array(n):
            t, st.t = st.t, None
            for _ in range(n):
                t.close()
                t = from_numpy(arr, copy=False)
            st.t = t

        def backward(n):
            for _ in range(n):
                q.backward(ones, retain_graph=True)

        def get_gradient(n):
            for _ in range(n):
                get_gradient_into(g, a)

        def zero_grad(n):
            for _ in range(n):
                a.zero_grad()

        return locals()[case.name]

    def train_loop(self) -> Loop:
        import pyftorch

        st = self.st
        model, opt, x, y = st.model, st.opt, st.x, st.y
        mse_loss = pyftorch.mse_loss

        def train_step(n):
            out, loss, st.out, st.loss = st.out, st.loss, None, None
            for _ in range(n):
                out = model(x, requires_grad=True)
                loss = mse_loss(out, y)
                loss.backward()
                opt.step()
                opt.zero_grad()
            st.out, st.loss = out, loss

        return train_step

    def result(self, output):
        st = self.st
        if output == OUT_WEIGHT:
            return st.params[0].numpy().reshape(-1).astype(np.float64)
        if output == OUT_HOLDER:
            return st.g_arr.astype(np.float64)
        if output == OUT_GRAD:
            grad = st.a.get_gradient()
            try:
                return grad.numpy()
            finally:
                grad.close()
        return {OUT_C: st.c, OUT_T: st.t}[output].numpy()

    def teardown(self):
        st = self.st
        for name in ("c", "q", "t", "g", "ones", "b", "a", "out", "loss", "x", "y", "opt", "model"):
            owner = getattr(st, name, None)
            if owner is not None:
                owner.close()
        for param in getattr(st, "params", ()):
            param.close()
        self.st = SimpleNamespace()


def make_variants(fortran_lib: str, cxx_lib: str) -> dict[str, Variant]:
    """All variants by name (bench.cases.VARIANTS order)."""
    return {
        "fortran": CompiledVariant("fortran", fortran_lib, "bench_f"),
        "cxx": CompiledVariant("cxx", cxx_lib, "bench_cxx"),
        CXX_COPY: CopyVariant(CXX_COPY, cxx_lib, "bench_cxx"),
        "torch": TorchVariant(),
        "pyftorch": PyftorchVariant(),
        EAGER: EagerTorchVariant(),
    }
