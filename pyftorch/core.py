"""``pyftorch.Tensor`` (module ``pyftorch.core``): a libftorch tensor handle driven from Python through ctypes.

The hot calls (operators, ``from_numpy``, ``close`` and the finaliser) run in the C extension
``pyftorch._speedups`` when it was built (see ``_speedups`` below); without it, through
ctypes, with the same results and errors.

A :class:`Tensor` owns exactly one library handle.  Tensors are immutable handles: every
operator returns a *new* Tensor (Python never uses the Fortran assignment
``ft_tensor_assign`` and never sets ``FT_FLAG_TEMP``).  The handle is released by
:meth:`Tensor.close`, by leaving a ``with`` block, or when the object is garbage-collected;
``pyftorch.live_tensors()`` counts the handles still alive.

Zero-copy views
    ``Tensor.from_numpy(a, copy=False)`` (CPU only) makes the tensor *view* ``a``'s memory:
    later writes to ``a`` are seen by the tensor and are invisible to autograd (a write
    between the forward pass and ``backward`` silently changes gradients).  The Tensor, and
    every Tensor computed from it, keeps ``a`` alive.  ``copy=True`` copies the values.

Misuse raises instead of crashing: a closed tensor raises :class:`ClosedTensorError`, an
operand that is not a Tensor or a real number makes the operator raise ``TypeError``, an
array of an unsupported dtype raises :class:`DTypeError`, a non-C-contiguous, misaligned
(or, for views, read-only) array raises :class:`InvalidArgumentError`.  Behind those Python
checks the library validates every handle again (stale handles are detected, never
dereferenced).
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterable, Sequence
from ctypes import POINTER, byref, c_char, c_int, c_int64, c_void_p
from typing import Any, Union

import numpy as np

from pyftorch import _lib
from pyftorch._checks import checked_int
from pyftorch.errors import (
    ClosedTensorError,
    DTypeError,
    InvalidArgumentError,
    NoGradientError,
)

_L = _lib.load()  # imports torch first, then loads and checks libftorch

# --- constants of ftorch.h ---------------------------------------------------------------
FT_FLAG_COPY = 1
FT_ADD, FT_SUB, FT_MUL, FT_DIV, FT_POW = 0, 1, 2, 3, 4
FT_CPU, FT_CUDA = 0, 1
FT_FILL_EMPTY, FT_FILL_ZEROS, FT_FILL_ONES = 0, 1, 2

#: NumPy dtype -> ft_dtype code.
DTYPE_CODES: dict[np.dtype, int] = {
    np.dtype(np.uint8): 0,
    np.dtype(np.int8): 1,
    np.dtype(np.int16): 2,
    np.dtype(np.int32): 3,
    np.dtype(np.int64): 4,
    np.dtype(np.float16): 5,
    np.dtype(np.float32): 6,
    np.dtype(np.float64): 7,
    np.dtype(np.bool_): 11,
}
#: ft_dtype code -> NumPy dtype.
CODE_DTYPES: dict[int, np.dtype] = {code: dtype for dtype, code in DTYPE_CODES.items()}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_MAX = 2**31 - 1

# --- the hot path (issue 13) ---------------------------------------------------------------
# Operators and zero-copy construction call raw ctypes functions (pyftorch._lib.raw_function):
# the status is checked here, and calls on small tensors keep the GIL (releasing it costs as
# much as the call).  While a Library attribute is replaced (fault injection in tests), the
# replacement is called instead.  Every Tensor carries `_n`, an upper bound of its number of
# elements, to choose between the two.

#: Elements up to which an operator's C call keeps the GIL (microseconds of work).
_SMALL = 4096
#: The bound of a tensor whose size Python does not know.
_BIG = 1 << 62
_HOT = (
    "ft_tensor_binary",
    "ft_tensor_binary_scalar",
    "ft_tensor_binary_iscalar",
    "ft_tensor_neg",
    "ft_tensor_from_blob",
)
_DECLARED = {name: _L.declared[name] for name in _HOT}
_RAW = {
    name: (_lib.raw_function(_L, name, hold_gil=True), _lib.raw_function(_L, name, hold_gil=False)) for name in _HOT
}
_RELEASE = _lib.raw_function(_L, "ft_tensor_release", hold_gil=True)
#: The C extension (pyftorch/_speedups.c) that runs the operators, from_numpy and the
#: finaliser without ctypes; None runs everything below through ctypes (same results and
#: errors, slower).  With it, Tensor's storage is a C struct (TensorBase) and the C number
#: slots call the Python operator methods below for every case they do not handle
#: themselves (other operand types, a replaced Library attribute, a failed status).
_speedups = _lib.load_speedups(_L)
_TensorBase: Any = object if _speedups is None else _speedups.TensorBase
#: Serialises close() with itself, so that two threads closing one tensor delete it once.
_CLOSE_LOCK = threading.Lock()
#: ctypes int64 arrays of the shapes seen (read-only arguments, so they can be shared).
_SHAPES: dict[tuple[int, ...], Any] = {}
_NO_BYTES = c_char * 0
_new_object = _TensorBase.__new__

Scalar = Union[int, float]
DeviceLike = Union[str, Any]
ArrayLike = Any


def _dtype_code(dtype: np.dtype, what: str = "array") -> int:
    try:
        return DTYPE_CODES[dtype]
    except KeyError:
        supported = ", ".join(str(d) for d in DTYPE_CODES)
        raise DTypeError(
            f"{what} has dtype {dtype.str if not dtype.isnative else dtype} that libftorch does not support "
            f"(supported, in native byte order: {supported})"
        ) from None


def parse_device(device: DeviceLike) -> tuple[int, int]:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or a ``torch.device``) -> (ft_device, index)."""
    text = str(device).strip().lower()
    name, _, index = text.partition(":")
    try:
        if name == "cpu":
            if index not in ("", "0"):
                raise ValueError
            return FT_CPU, -1
        if name == "cuda":
            if not index:
                return FT_CUDA, 0
            number = int(index)
            if not 0 <= number <= _INT_MAX:
                raise ValueError
            return FT_CUDA, number
    except ValueError:
        pass
    raise InvalidArgumentError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")


def _device_name(device_type: int, index: int) -> str:
    if device_type == FT_CPU:
        return "cpu"
    if device_type == FT_CUDA:
        return f"cuda:{max(index, 0)}"
    return f"device{device_type}:{index}"


def _shape_array(shape: Sequence[int]) -> Any:
    return (c_int64 * max(len(shape), 1))(*shape)


def _cached_shape_array(shape: tuple[int, ...]) -> Any:
    arr = _SHAPES.get(shape)
    if arr is None:
        arr = _shape_array(shape)
        if len(_SHAPES) < 1024:
            _SHAPES[shape] = arr
    return arr


def _fail(status: int, function: str, *operands: Tensor) -> None:
    """Raise for a failed raw call: ClosedTensorError if an operand was closed (possibly by
    another thread while the call ran), else the library's error."""
    for t in operands:
        if t._handle is None:
            raise ClosedTensorError(
                "the tensor was closed (or never constructed); it cannot be used any more", function=function
            )
    _lib.raise_status(status, function)


def _adopt(handle: int | None, keep: tuple[np.ndarray, ...] | None, n: int) -> Tensor:
    """A new Tensor owning a handle the library just wrote."""
    t = _new_object(Tensor)
    t._handle = handle
    t._keep = keep
    t._meta = None
    t._n = n
    return t


def _binary_method(op: int, reverse: bool) -> Any:
    """The operator method for `op` (reverse: the reflected form, `other op self`)."""
    declared_binary = _DECLARED["ft_tensor_binary"]
    declared_scalar = _DECLARED["ft_tensor_binary_scalar"]
    declared_iscalar = _DECLARED["ft_tensor_binary_iscalar"]
    binary_gil, binary_nogil = _RAW["ft_tensor_binary"]
    scalar_gil, scalar_nogil = _RAW["ft_tensor_binary_scalar"]
    iscalar_gil, iscalar_nogil = _RAW["ft_tensor_binary_iscalar"]
    rev = int(reverse)

    def method(self: Tensor, other: Any) -> Tensor:
        out = c_void_p()
        if type(other) is Tensor or isinstance(other, Tensor):
            a, b = (other, self) if reverse else (self, other)
            # The arrays the operands view are held by this frame for the whole call, so a
            # close() on another thread cannot free memory the operation reads.
            ka, kb = a._keep, b._keep
            keep = ka if (kb is None or kb is ka) else (kb if ka is None else _merge_keep(a, b))
            n = a._n * b._n
            if n > _BIG:
                n = _BIG
            fn = _L.ft_tensor_binary
            if fn is declared_binary:
                status = (binary_gil if n <= _SMALL else binary_nogil)(op, a._handle, b._handle, 0, byref(out))
                if status:
                    _fail(status, "ft_tensor_binary", a, b)
            else:
                fn(op, a._get(), b._get(), 0, byref(out))
            t = _new_object(Tensor)
            t._handle = out.value
            t._keep = keep
            t._meta = None
            t._n = n
            return t
        kind = type(other)
        if kind is float:
            integral = False
        elif kind is int or isinstance(other, numbers.Integral):  # also bool and NumPy integers
            integral = True
        elif isinstance(other, numbers.Real):  # NumPy floating scalars
            integral = False
        else:
            return NotImplemented
        keep, n = self._keep, self._n
        if integral:
            value = int(other)
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise OverflowError(f"integer scalar {value} does not fit in int64")
            fn, declared, gil, nogil, name = (
                _L.ft_tensor_binary_iscalar,
                declared_iscalar,
                iscalar_gil,
                iscalar_nogil,
                "ft_tensor_binary_iscalar",
            )
        else:
            value = float(other)
            fn, declared, gil, nogil, name = (
                _L.ft_tensor_binary_scalar,
                declared_scalar,
                scalar_gil,
                scalar_nogil,
                "ft_tensor_binary_scalar",
            )
        if fn is declared:
            status = (gil if n <= _SMALL else nogil)(op, self._handle, value, rev, 0, byref(out))
            if status:
                _fail(status, name, self)
        else:
            fn(op, self._get(), value, rev, 0, byref(out))
        return _adopt(out.value, keep, n)

    return method


def _merge_keep(*tensors: Tensor) -> tuple[np.ndarray, ...] | None:
    """The arrays a result must keep alive: those viewed by its operands (deduplicated)."""
    keep: dict[int, np.ndarray] = {}
    for t in tensors:
        if t._keep:
            for arr in t._keep:
                keep[id(arr)] = arr
    return tuple(keep.values()) or None


def _check_array(array: Any, *, view: bool) -> np.ndarray:
    """The Python-side checks made before an array's memory is handed to the library."""
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"expected a numpy.ndarray, got {type(array).__name__}"
            + (" (use pyftorch.tensor(...) for lists and scalars)" if array is not None else "")
        )
    _dtype_code(array.dtype)
    if not array.flags.c_contiguous:
        raise InvalidArgumentError(
            f"array of shape {array.shape} with strides {array.strides} is not C-contiguous; "
            "pass numpy.ascontiguousarray(a)"
        )
    if not array.flags.aligned:
        raise InvalidArgumentError("array memory is not aligned for its dtype; pass a.copy()")
    if view and not array.flags.writeable:
        raise InvalidArgumentError(
            "a zero-copy view (copy=False) needs a writeable array: LibTorch may not view read-only memory; "
            "use copy=True"
        )
    return array


class Tensor(_TensorBase):
    """A libftorch tensor: one library handle, with PyTorch-like autograd methods.

    Construct with :meth:`from_numpy` (explicit ``copy=``), :func:`pyftorch.tensor`,
    :func:`pyftorch.zeros` or :func:`pyftorch.ones`.  Operators ``+ - * / **`` and unary
    ``-`` accept Tensors and Python (or NumPy) real scalars on either side and return new
    Tensors; integer scalars use the library's integer-scalar form (``t ** 2`` is an
    integer power).  ``sum()`` and ``mean()`` return one-element rank-1 tensors, as in the
    Fortran API (``torch.sum`` returns a 0-d tensor).
    """

    # With the speedups these attributes are TensorBase's C fields.
    __slots__ = ("_handle", "_keep", "_meta", "_n", "__weakref__") if _speedups is None else ()

    #: Let NumPy scalars/arrays defer to Tensor's reflected operators.
    __array_ufunc__ = None

    _handle: int | None
    _keep: tuple[np.ndarray, ...] | None
    _meta: tuple[tuple[int, ...], np.dtype, str] | None
    _n: int  # an upper bound of the number of elements (see _SMALL)

    # --- construction ------------------------------------------------------------------------
    if _speedups is None:  # else TensorBase's tp_new, the same in C

        def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
            # The one place the fields start out (closed, size unknown): a Tensor that is
            # never constructed (`Tensor.__new__(Tensor)`, or an __init__ that raised) fails
            # like a closed one, not with AttributeError on a slot.
            self = _new_object(cls)
            self._handle = None
            self._keep = None
            self._meta = None
            self._n = _BIG
            return self

    def __init__(
        self, array: np.ndarray, *, copy: bool, requires_grad: bool = False, device: DeviceLike = "cpu"
    ) -> None:
        """Same as :meth:`from_numpy`."""
        self._construct(array, copy, requires_grad, device)

    def _construct(self, array: Any, copy: Any, requires_grad: Any, device: DeviceLike) -> None:
        # The common case (a C-contiguous, aligned array of a supported dtype on the CPU) is
        # checked with a few attribute reads; anything else goes through the full checks,
        # which raise with a message that says what to do.
        if copy is not True and copy is not False:
            raise TypeError("copy must be True (copy the values) or False (view the array, CPU only)")
        code = DTYPE_CODES.get(array.dtype) if type(array) is np.ndarray else None
        flags = array.flags if code is not None else None
        if code is None or not (flags.c_contiguous and flags.aligned and (copy or flags.writeable)):
            array = _check_array(array, view=not copy)
            code = DTYPE_CODES[array.dtype]
            flags = array.flags
        if device == "cpu":
            device_type, index = FT_CPU, -1
        else:
            device_type, index = parse_device(device)
            if not copy and device_type != FT_CPU:
                raise InvalidArgumentError(f"zero-copy views exist only on the CPU; use copy=True for {device!r}")
        shape = array.shape
        # The buffer protocol gives the address without numpy's (slow) ctypes helper; a
        # read-only array (copy=True only) cannot export a writeable buffer.
        data = _NO_BYTES.from_buffer(array) if flags.writeable else array.ctypes.data
        out = c_void_p()
        n = array.size
        fn = _L.ft_tensor_from_blob
        args = (
            data,
            len(shape),
            _cached_shape_array(shape),
            None,
            code,
            device_type,
            index,
            1 if requires_grad else 0,
            FT_FLAG_COPY if copy else 0,
            byref(out),
        )
        if fn is _DECLARED["ft_tensor_from_blob"]:
            gil, nogil = _RAW["ft_tensor_from_blob"]
            status = (gil if not copy or n <= _SMALL else nogil)(*args)
            if status:
                _lib.raise_status(status, "ft_tensor_from_blob")
        else:
            fn(*args)
        self._handle = out.value
        self._n = n
        if not copy:
            self._keep = (array,)

    @classmethod
    def from_numpy(
        cls, array: np.ndarray, *, copy: bool, requires_grad: bool = False, device: DeviceLike = "cpu"
    ) -> Tensor:
        """A tensor holding ``array``'s values.

        Args:
            array: a C-contiguous, aligned NumPy array of a supported dtype (uint8, int8,
                int16, int32, int64, float16, float32, float64, bool) in native byte order.
            copy: required.  ``True`` copies the values; ``False`` makes a zero-copy view of
                ``array`` (CPU only; ``array`` must be writeable and is kept alive by the
                tensor and everything computed from it).
            requires_grad: make the tensor an autograd leaf that receives gradients.  On a
                GPU the leaf is the device tensor this object holds, so ``grad`` works there.
            device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        """
        if _fast_from_numpy is not None and cls is Tensor:
            t = _fast_from_numpy(array, copy, requires_grad, device)
            if t is not NotImplemented:
                return t
        self = cls.__new__(cls)
        self._construct(array, copy, requires_grad, device)
        return self

    @classmethod
    def _wrap(cls, handle: int | None, keep: tuple[np.ndarray, ...] | None = None) -> Tensor:
        """Adopt a new handle written by the library (takes ownership)."""
        self = cls.__new__(cls)
        self._handle = handle
        self._keep = keep
        return self

    # --- lifetime ------------------------------------------------------------------------------
    def _get(self) -> int:
        """The live handle, or ClosedTensorError."""
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise ClosedTensorError(
                "the tensor was closed (or never constructed); it cannot be used any more", function=None
            )
        return handle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` released the handle."""
        return getattr(self, "_handle", None) is None

    def _close(self) -> None:
        """Release the library handle now.  Idempotent; any later use raises ClosedTensorError.

        Thread-safe: a call running on this tensor in another thread finishes on its own
        reference to the values (or raises ClosedTensorError if it starts after the close);
        it never crashes; an operator in flight holds the viewed arrays it reads.
        """
        with _CLOSE_LOCK:
            handle = getattr(self, "_handle", None)
            if handle is None:
                return
            self._handle = None
            # Operators hold the arrays they read in their own frame, so dropping ours is safe.
            self._keep = None
        _L.ft_tensor_delete(handle)

    if _speedups is None:  # else TensorBase.close, the same in C (calls _close for a replaced delete)
        close = _close

    def __enter__(self) -> Tensor:
        self._get()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    if _speedups is None:  # else TensorBase's tp_dealloc releases the handle

        def __del__(self, _release: Any = _RELEASE) -> None:
            # Safe at interpreter shutdown: uses no module globals (the ctypes function is bound
            # as a default argument), never raises, and ft_tensor_release ignores stale handles.
            try:
                handle = self._handle
            except AttributeError:
                return
            if handle is not None:
                self._handle = None
                try:
                    _release(handle)
                except BaseException:  # noqa: BLE001 -- a finaliser must not raise
                    pass

    # --- queries -------------------------------------------------------------------------------
    def _metadata(self) -> tuple[tuple[int, ...], np.dtype, str]:
        h = self._get()
        if self._meta is None:  # shape, dtype and device never change for a handle
            ndim = c_int()
            _L.ft_tensor_ndim(h, byref(ndim))
            ptr = POINTER(c_int64)()
            _L.ft_tensor_shape(h, byref(ptr))
            shape = tuple(int(ptr[i]) for i in range(ndim.value))
            code = c_int()
            _L.ft_tensor_dtype(h, byref(code))
            dtype = CODE_DTYPES.get(code.value)
            if dtype is None:
                raise DTypeError(f"the tensor has a dtype (code {code.value}) that pyftorch cannot represent")
            dev, index = c_int(), c_int()
            _L.ft_tensor_device(h, byref(dev), byref(index))
            self._meta = (shape, dtype, _device_name(dev.value, index.value))
        return self._meta

    @property
    def shape(self) -> tuple[int, ...]:
        """The extents, as a tuple."""
        return self._metadata()[0]

    @property
    def ndim(self) -> int:
        """The rank."""
        return len(self._metadata()[0])

    @property
    def numel(self) -> int:
        """The number of elements."""
        return int(np.prod(self._metadata()[0], dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        """The element type, as a NumPy dtype."""
        return self._metadata()[1]

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda:N"`` (the spelling of ``str(torch.device)``)."""
        return self._metadata()[2]

    def _flag(self, fn: Any) -> bool:
        flag = c_int()
        fn(self._get(), byref(flag))
        return bool(flag.value)

    @property
    def requires_grad(self) -> bool:
        """Whether autograd records operations on this tensor.  Settable on leaves only."""
        return self._flag(_L.ft_tensor_requires_grad)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        _L.ft_tensor_set_requires_grad(self._get(), int(bool(flag)))

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf (AutogradError on a computed tensor); returns self."""
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not computed from tensors that require gradients."""
        return self._flag(_L.ft_tensor_is_leaf)

    @property
    def is_view(self) -> bool:
        """True if the tensor views caller memory (``from_numpy(..., copy=False)``)."""
        return self._flag(_L.ft_tensor_is_view)

    @property
    def has_grad(self) -> bool:
        """True if the tensor currently has a gradient."""
        return self._flag(_L.ft_tensor_has_gradient)

    # --- conversion ----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A new NumPy array with the values (copied from any device; never a view)."""
        shape, dtype, _ = self._metadata()
        out = np.empty(shape, dtype=dtype)
        _L.ft_tensor_copy_to(self._get(), out.ctypes.data, len(shape), _shape_array(shape), None, DTYPE_CODES[dtype])
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.numel != 1:
            raise InvalidArgumentError(f"item() needs a one-element tensor, this one has shape {self.shape}")
        return self.numpy().reshape(-1)[0].item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        return self.numpy().tolist()

    def to(self, device: DeviceLike | None = None, dtype: Any = None) -> Tensor:
        """A copy on another device and/or dtype (recorded by autograd)."""
        dev, index = parse_device(device) if device is not None else parse_device(self.device)
        code = -1 if dtype is None else _dtype_code(np.dtype(dtype), "requested dtype")
        out = c_void_p()
        _L.ft_tensor_to_new(self._get(), dev, index, code, 0, byref(out))
        return Tensor._wrap(out.value)

    def detach(self) -> Tensor:
        """An alias of the values without autograd history (shares storage)."""
        out = c_void_p()
        _L.ft_tensor_detach(self._get(), 0, byref(out))
        return Tensor._wrap(out.value, self._keep)

    # --- arithmetic ----------------------------------------------------------------------------
    def _binary(self, op: int, other: Any, reverse: bool) -> Tensor:
        return _BINARY_METHODS[(op, reverse)](self, other)

    def sum(self) -> Tensor:
        """Sum of all elements, as a one-element rank-1 tensor."""
        out = c_void_p()
        _L.ft_tensor_sum(self._get(), 0, byref(out))
        return Tensor._wrap(out.value, self._keep)

    def mean(self) -> Tensor:
        """Mean of all elements (floating dtypes only), as a one-element rank-1 tensor."""
        out = c_void_p()
        _L.ft_tensor_mean(self._get(), 0, byref(out))
        return Tensor._wrap(out.value, self._keep)

    # --- autograd ------------------------------------------------------------------------------
    def backward(self, gradient: Tensor | np.ndarray | None = None, retain_graph: bool = False) -> None:
        """Back-propagate from this tensor, accumulating into the leaves' gradients.

        Args:
            gradient: the external gradient (same shape, dtype and device), as a Tensor or a
                NumPy array (copied to this tensor's device).  ``None`` means ones of this
                tensor's shape, for any shape (PyTorch accepts ``None`` only for scalars).
            retain_graph: keep the graph so that ``backward`` can run through it again;
                without it a second backward raises :class:`AutogradError`.
        """
        h = self._get()
        retain = int(bool(retain_graph))
        if gradient is None:
            _L.ft_tensor_backward(h, None, retain)
        elif isinstance(gradient, Tensor):
            _L.ft_tensor_backward(h, gradient._get(), retain)
        elif isinstance(gradient, np.ndarray):
            with Tensor.from_numpy(gradient, copy=True, device=self.device) as g:
                _L.ft_tensor_backward(h, g._get(), retain)
        else:
            raise TypeError(f"gradient must be a Tensor, a numpy.ndarray or None, got {type(gradient).__name__}")

    def get_gradient(self) -> Tensor:
        """A snapshot of the gradient as a new Tensor; NoGradientError if there is none."""
        out = c_void_p()
        _L.ft_tensor_get_gradient(self._get(), byref(out))
        return Tensor._wrap(out.value)

    @property
    def grad(self) -> Tensor | None:
        """A snapshot of the gradient (a new Tensor on the same device), or ``None``.

        ``None`` when the tensor has no gradient: no backward reached it yet, it does not
        require gradients, or it is not a leaf (as ``torch.Tensor.grad``).  Each read makes
        a new snapshot; later ``backward``/``zero_grad`` calls do not change it.  Use
        :meth:`get_gradient` to get an exception instead of ``None``.
        """
        try:
            return self.get_gradient()
        except NoGradientError:
            return None

    def zero_grad(self) -> None:
        """Set the gradient to zero in place (no-op when there is no gradient)."""
        _L.ft_tensor_zero_grad(self._get())

    # --- Python protocol -----------------------------------------------------------------------
    def __reduce_ex__(self, protocol: Any) -> Any:
        # The default would copy the handle value: two owners of one handle.  Refuse instead.
        raise TypeError(
            "a pyftorch.Tensor owns a library handle and cannot be pickled or copied; "
            "use t.numpy(), t.detach() or t.to(...)"
        )

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __bool__(self) -> bool:
        if self.numel != 1:
            raise InvalidArgumentError("the truth value of a tensor with more than one element is ambiguous")
        return bool(self.item())

    def __repr__(self) -> str:
        if self.closed:
            return "Tensor(<closed>)"
        shape, dtype, device = self._metadata()
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.numel <= 16:
            values = np.array2string(self.numpy(), separator=", ")
            return f"Tensor({values}, dtype={dtype}, device={device!r}{extra})"
        return f"Tensor(shape={shape}, dtype={dtype}, device={device!r}{extra})"


def _neg(self: Tensor) -> Tensor:
    """-self: a new Tensor."""
    out = c_void_p()
    fn, n = _L.ft_tensor_neg, self._n
    if fn is _DECLARED["ft_tensor_neg"]:
        gil, nogil = _RAW["ft_tensor_neg"]
        status = (gil if n <= _SMALL else nogil)(self._handle, 0, byref(out))
        if status:
            _fail(status, "ft_tensor_neg", self)
    else:
        fn(self._get(), 0, byref(out))
    return _adopt(out.value, self._keep, n)


_neg.__name__ = _neg.__qualname__ = "__neg__"
_BINARY_METHODS = {
    (op, rev): _binary_method(op, rev) for op in (FT_ADD, FT_SUB, FT_MUL, FT_DIV, FT_POW) for rev in (False, True)
}
for _name, _op in (("add", FT_ADD), ("sub", FT_SUB), ("mul", FT_MUL), ("truediv", FT_DIV), ("pow", FT_POW)):
    for _rev in (False, True):
        _m = _BINARY_METHODS[(_op, _rev)]
        _m.__name__ = _m.__qualname__ = f"__{'r' if _rev else ''}{_name}__"
        _m.__doc__ = f"{'other op self' if _rev else 'self op other'} for op {_name}: a new Tensor."
        if _speedups is None:  # else TensorBase's number slots, which call these for the unusual cases
            setattr(Tensor, _m.__name__, _m)
del _name, _op, _rev, _m

#: from_numpy in C for the common case (returns NotImplemented for the Python path), or None.
_fast_from_numpy: Any = None
if _speedups is None:
    Tensor.__neg__ = _neg  # type: ignore[method-assign]
else:
    _speedups.bind(
        {
            "tensor": Tensor,
            "ndarray": np.ndarray,
            "lib_dict": vars(_L),
            "declared": _L.declared,
            "addresses": {
                name: _lib.function_address(_L, name) for name in (*_HOT, "ft_tensor_delete", "ft_tensor_release")
            },
            "binary": {(op, int(rev)): m for (op, rev), m in _BINARY_METHODS.items()},
            "neg": _neg,
            "fail": _fail,
            "raise_status": _lib.raise_status,
            "merge_keep": _merge_keep,
            "close": Tensor._close,
            "small": _SMALL,
            "big": _BIG,
        }
    )
    _fast_from_numpy = _speedups.from_numpy


# --- factories -------------------------------------------------------------------------------
def from_numpy(array: np.ndarray, *, copy: bool, requires_grad: bool = False, device: DeviceLike = "cpu") -> Tensor:
    """Same as :meth:`Tensor.from_numpy`."""
    return Tensor.from_numpy(array, copy=copy, requires_grad=requires_grad, device=device)


def tensor(data: ArrayLike, *, dtype: Any = None, requires_grad: bool = False, device: DeviceLike = "cpu") -> Tensor:
    """A new tensor holding a copy of ``data`` (a scalar, nested lists or any array).

    Like ``numpy.array(data, dtype)``: Python floats give float64.  Always copies.
    """
    if data is None:
        raise TypeError("tensor() needs data, got None")
    if isinstance(data, Tensor):
        raise TypeError("tensor() of a Tensor: use t.detach() or t.to(...)")
    arr = np.array(data, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    return Tensor.from_numpy(arr, copy=True, requires_grad=requires_grad, device=device)


def _new(fill: int, shape: Iterable[int] | int, dtype: Any, requires_grad: bool, device: DeviceLike) -> Tensor:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    # Extents are integers in int64 (negative ones reach the library, which names them).
    dims = tuple(checked_int(s, "shape extent", _INT64_MIN, _INT64_MAX) for s in shape)
    dev, index = parse_device(device)
    out = c_void_p()
    _L.ft_tensor_new(
        fill,
        len(dims),
        _shape_array(dims),
        _dtype_code(np.dtype(dtype), "requested dtype"),
        dev,
        index,
        int(bool(requires_grad)),
        byref(out),
    )
    t = Tensor._wrap(out.value)
    n = 1
    for d in dims:
        n *= max(d, 0)
    t._n = min(n, _BIG)
    return t


def zeros(
    shape: Iterable[int] | int, *, dtype: Any = np.float64, requires_grad: bool = False, device: DeviceLike = "cpu"
) -> Tensor:
    """A new tensor of zeros."""
    return _new(FT_FILL_ZEROS, shape, dtype, requires_grad, device)


def ones(
    shape: Iterable[int] | int, *, dtype: Any = np.float64, requires_grad: bool = False, device: DeviceLike = "cpu"
) -> Tensor:
    """A new tensor of ones."""
    return _new(FT_FILL_ONES, shape, dtype, requires_grad, device)


__all__ = ["Tensor", "from_numpy", "tensor", "zeros", "ones", "parse_device", "DTYPE_CODES", "CODE_DTYPES"]
