/*
 * pyftorch._speedups -- the hot calls of pyftorch.Tensor in C (issue 13).
 *
 * Through ctypes, a size-1 `a * b` costs about three times PyTorch's own `a * b`: argument
 * conversion, the Python method frame, the result object and a Python finaliser each cost
 * as much as the library call.  This module removes them for the calls that dominate:
 *
 *   - TensorBase, the C base class of pyftorch.Tensor: the handle, the viewed arrays and
 *     the size bound live in a C struct, tp_dealloc releases the handle (no Python
 *     __del__), and close() deletes it;
 *   - the number slots + - * / ** (both operand orders) and unary -, which call
 *     ft_tensor_binary / _binary_scalar / _binary_iscalar / _neg directly;
 *   - from_numpy(array, copy, requires_grad, device) for C-contiguous NumPy arrays on the
 *     CPU (through the buffer protocol: no NumPy headers).
 *
 * No torch headers and no link to libftorch: pyftorch.core calls bind() once with the
 * addresses of the C functions (from its ctypes Library), the Tensor class, and the Python
 * functions that handle everything unusual.  Every case this file does not handle itself
 * (another operand type, an integer that does not fit int64, a replaced Library attribute
 * in a fault-injection test, an array the buffer protocol refuses) is passed to those Python
 * functions, which raise today's exceptions with today's messages; so does every failed
 * status.
 *
 * Threads: calls on small tensors (n <= small elements) keep the GIL (releasing it costs as
 * much as the call); larger ones release it.  While the GIL is released the call holds
 * references to the arrays its operands view (the result's `keep` tuple), so a close() on
 * another thread cannot free memory the library reads; the library itself validates every
 * handle (a handle deleted meanwhile is an error status, never a crash).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <structmember.h>

typedef int (*binary_fn)(int, void *, void *, unsigned, void **);
typedef int (*scalar_fn)(int, void *, double, int, unsigned, void **);
typedef int (*iscalar_fn)(int, void *, int64_t, int, unsigned, void **);
typedef int (*neg_fn)(void *, unsigned, void **);
typedef int (*from_blob_fn)(void *, int, const int64_t *, const int64_t *, int, int, int, int, unsigned, void **);
typedef int (*release_fn)(void *);
typedef int (*delete_fn)(void *);

enum { N_OPS = 5, MAX_DIMS = 64, FT_FLAG_COPY = 1, FT_CPU = 0 };
enum { F_BINARY, F_SCALAR, F_ISCALAR, F_NEG, F_FROM_BLOB, F_DELETE, N_HOT };
static const char *const hot_names[N_HOT] = {"ft_tensor_binary", "ft_tensor_binary_scalar", "ft_tensor_binary_iscalar",
                                             "ft_tensor_neg",    "ft_tensor_from_blob",     "ft_tensor_delete"};

typedef struct {
  PyObject_HEAD void *handle; /* NULL once closed (Python sees None) */
  PyObject *keep;             /* tuple of the arrays the tensor views, or NULL/None */
  PyObject *meta;             /* cached (shape, dtype, device), or NULL/None */
  long long n;                /* an upper bound of the number of elements */
  PyObject *weakrefs;
} TensorBase;

/* Everything bind() sets.  One interpreter, one library: module-level state. */
static struct {
  int bound;
  PyTypeObject *tensor;   /* pyftorch.Tensor (exact type of every result) */
  PyTypeObject *ndarray;  /* numpy.ndarray */
  PyObject *lib_dict;     /* the Library instance's __dict__ (fault injection replaces entries) */
  PyObject *names[N_HOT]; /* interned function names */
  PyObject *declared[N_HOT];
  void *fn[N_HOT];
  PyObject *binary_py[N_OPS][2]; /* the Python operator methods: [op][reverse] */
  PyObject *neg_py;
  PyObject *fail;       /* fail(status, name, *operands): raises */
  PyObject *raise_st;   /* raise_status(status, name): raises */
  PyObject *merge_keep; /* merge_keep(a, b): the union of two keep tuples */
  PyObject *close_py;   /* the Python close(self), for a replaced ft_tensor_delete */
  PyObject *cpu;        /* "cpu" */
  long long small, big;
} S;

static release_fn release = NULL; /* set by bind(); tp_dealloc uses it */

static int is_none(PyObject *o) { return o == NULL || o == Py_None; }

/* 1 while Library.<name> is still the declared ctypes function (no fault injection). */
static int declared(int which) {
  PyObject *now = PyDict_GetItemWithError(S.lib_dict, S.names[which]);
  return now == S.declared[which];
}

/* Raise through Python; always returns NULL. */
static PyObject *raise_via(PyObject *fn, PyObject *args) {
  if (args == NULL) return NULL;
  PyObject *r = PyObject_Call(fn, args, NULL);
  Py_DECREF(args);
  if (r != NULL) {
    Py_DECREF(r);
    PyErr_SetString(PyExc_SystemError, "pyftorch: a failed call did not raise");
  }
  return NULL;
}

static PyObject *fail2(int status, int which, PyObject *a, PyObject *b) {
  PyObject *args =
      b ? Py_BuildValue("(iOOO)", status, S.names[which], a, b) : Py_BuildValue("(iOO)", status, S.names[which], a);
  return raise_via(S.fail, args);
}

/* A new Tensor owning `handle`; steals `keep`.  Releases the handle if allocation fails. */
static PyObject *adopt(void *handle, PyObject *keep, long long n) {
  TensorBase *t = (TensorBase *)S.tensor->tp_alloc(S.tensor, 0);
  if (t == NULL) {
    release(handle);
    Py_XDECREF(keep);
    return NULL;
  }
  t->handle = handle;
  t->keep = keep;
  t->n = n;
  return (PyObject *)t;
}

static int not_bound(void) {
  PyErr_SetString(PyExc_RuntimeError, "pyftorch._speedups is not bound: import pyftorch.core first");
  return -1;
}

/* --- TensorBase ----------------------------------------------------------------------------- */
static PyTypeObject TensorBaseType;

static PyObject *tb_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  (void)args;
  (void)kwds;
  TensorBase *t = (TensorBase *)type->tp_alloc(type, 0);
  if (t != NULL) t->n = S.bound ? S.big : ((long long)1 << 62);
  return (PyObject *)t;
}

static void tb_dealloc(PyObject *self) {
  TensorBase *t = (TensorBase *)self;
  if (t->weakrefs != NULL) PyObject_ClearWeakRefs(self);
  void *h = t->handle;
  t->handle = NULL;
  /* Release before dropping the arrays the tensor views.  ft_tensor_release ignores stale
   * handles and never fails; it is safe at interpreter shutdown (no Python objects). */
  if (h != NULL && release != NULL) release(h);
  Py_CLEAR(t->keep);
  Py_CLEAR(t->meta);
  Py_TYPE(self)->tp_free(self);
}

static PyObject *tb_get_handle(PyObject *self, void *closure) {
  (void)closure;
  void *h = ((TensorBase *)self)->handle;
  if (h == NULL) Py_RETURN_NONE;
  return PyLong_FromVoidPtr(h);
}

static int tb_set_handle(PyObject *self, PyObject *value, void *closure) {
  (void)closure;
  void *h = NULL;
  if (!is_none(value)) {
    if (!PyLong_Check(value)) {
      PyErr_SetString(PyExc_TypeError, "_handle must be an int or None");
      return -1;
    }
    h = PyLong_AsVoidPtr(value);
    if (h == NULL && PyErr_Occurred()) return -1;
  }
  ((TensorBase *)self)->handle = h;
  return 0;
}

static PyGetSetDef tb_getset[] = {
    {"_handle", tb_get_handle, tb_set_handle, "the library handle (None once closed)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef tb_members[] = {
    {"_keep", T_OBJECT, offsetof(TensorBase, keep), 0, "the arrays the tensor views"},
    {"_meta", T_OBJECT, offsetof(TensorBase, meta), 0, "cached (shape, dtype, device)"},
    {"_n", T_LONGLONG, offsetof(TensorBase, n), 0, "an upper bound of the number of elements"},
    {NULL, 0, 0, 0, NULL},
};

/* --- operators ------------------------------------------------------------------------------- */
static long long mul_bound(long long a, long long b) {
  long long n;
  if (__builtin_mul_overflow(a, b, &n) || n > S.big) return S.big;
  return n;
}

/* The keep tuple of a result of a and b (a new reference, or NULL for none); -1 on error. */
static int result_keep(PyObject *a, PyObject *b, PyObject **out) {
  PyObject *ka = ((TensorBase *)a)->keep, *kb = ((TensorBase *)b)->keep;
  if (is_none(ka)) ka = NULL;
  if (is_none(kb)) kb = NULL;
  if (kb == NULL || kb == ka) {
    Py_XINCREF(ka);
    *out = ka;
  } else if (ka == NULL) {
    Py_INCREF(kb);
    *out = kb;
  } else {
    PyObject *k = PyObject_CallFunctionObjArgs(S.merge_keep, a, b, NULL);
    if (k == NULL) return -1;
    if (k == Py_None) Py_CLEAR(k);
    *out = k;
  }
  return 0;
}

static PyObject *call_py(PyObject *fn, PyObject *x, PyObject *y) {
  PyObject *args[2] = {x, y};
  return PyObject_Vectorcall(fn, args, y ? 2 : 1, NULL);
}

static PyObject *binary_op(int op, PyObject *v, PyObject *w) {
  if (!S.bound) return not_bound(), NULL;
  int rev = !PyObject_TypeCheck(v, &TensorBaseType);
  PyObject *self = rev ? w : v, *other = rev ? v : w;
  if (Py_TYPE(self) != S.tensor) goto python;
  void *out = NULL;
  int status;
  if (Py_TYPE(other) == S.tensor) {
    if (!declared(F_BINARY)) goto python;
    PyObject *a = rev ? other : self, *b = rev ? self : other, *keep;
    if (result_keep(a, b, &keep) < 0) return NULL;
    void *ha = ((TensorBase *)a)->handle, *hb = ((TensorBase *)b)->handle;
    long long n = mul_bound(((TensorBase *)a)->n, ((TensorBase *)b)->n);
    binary_fn fn = (binary_fn)S.fn[F_BINARY];
    if (n <= S.small) {
      status = fn(op, ha, hb, 0, &out);
    } else {
      Py_BEGIN_ALLOW_THREADS status = fn(op, ha, hb, 0, &out);
      Py_END_ALLOW_THREADS
    }
    if (status != 0) {
      Py_XDECREF(keep);
      return fail2(status, F_BINARY, a, b);
    }
    return adopt(out, keep, n);
  }
  int which;
  double d = 0.0;
  long long i = 0;
  if (PyFloat_CheckExact(other)) {
    which = F_SCALAR;
    d = PyFloat_AS_DOUBLE(other);
  } else if (PyLong_CheckExact(other)) {
    int overflow;
    i = PyLong_AsLongLongAndOverflow(other, &overflow);
    if (overflow) goto python; /* Python raises OverflowError with the value */
    if (i == -1 && PyErr_Occurred()) return NULL;
    which = F_ISCALAR;
  } else {
    goto python; /* bool, NumPy scalars, other types (NotImplemented) */
  }
  if (!declared(which)) goto python;
  TensorBase *t = (TensorBase *)self;
  PyObject *keep = is_none(t->keep) ? NULL : t->keep;
  Py_XINCREF(keep);
  void *h = t->handle;
  long long n = t->n;
  if (which == F_SCALAR) {
    scalar_fn fn = (scalar_fn)S.fn[F_SCALAR];
    if (n <= S.small) {
      status = fn(op, h, d, rev, 0, &out);
    } else {
      Py_BEGIN_ALLOW_THREADS status = fn(op, h, d, rev, 0, &out);
      Py_END_ALLOW_THREADS
    }
  } else {
    iscalar_fn fn = (iscalar_fn)S.fn[F_ISCALAR];
    if (n <= S.small) {
      status = fn(op, h, (int64_t)i, rev, 0, &out);
    } else {
      Py_BEGIN_ALLOW_THREADS status = fn(op, h, (int64_t)i, rev, 0, &out);
      Py_END_ALLOW_THREADS
    }
  }
  if (status != 0) {
    Py_XDECREF(keep);
    return fail2(status, which, self, NULL);
  }
  return adopt(out, keep, n);
python:
  /* The Python method of the same operator (self op other, or other op self) */
  return call_py(S.binary_py[op][rev], self, other);
}

static PyObject *nb_add(PyObject *v, PyObject *w) { return binary_op(0, v, w); }
static PyObject *nb_sub(PyObject *v, PyObject *w) { return binary_op(1, v, w); }
static PyObject *nb_mul(PyObject *v, PyObject *w) { return binary_op(2, v, w); }
static PyObject *nb_div(PyObject *v, PyObject *w) { return binary_op(3, v, w); }
static PyObject *nb_pow(PyObject *v, PyObject *w, PyObject *z) {
  if (z != Py_None) Py_RETURN_NOTIMPLEMENTED; /* pow(a, b, modulo) is not defined for tensors */
  return binary_op(4, v, w);
}

static PyObject *nb_neg(PyObject *self) {
  if (!S.bound) return not_bound(), NULL;
  if (Py_TYPE(self) != S.tensor || !declared(F_NEG)) return call_py(S.neg_py, self, NULL);
  TensorBase *t = (TensorBase *)self;
  PyObject *keep = is_none(t->keep) ? NULL : t->keep;
  Py_XINCREF(keep);
  void *out = NULL;
  int status;
  neg_fn fn = (neg_fn)S.fn[F_NEG];
  if (t->n <= S.small) {
    status = fn(t->handle, 0, &out);
  } else {
    void *h = t->handle;
    Py_BEGIN_ALLOW_THREADS status = fn(h, 0, &out);
    Py_END_ALLOW_THREADS
  }
  if (status != 0) {
    Py_XDECREF(keep);
    return fail2(status, F_NEG, self, NULL);
  }
  return adopt(out, keep, t->n);
}

static PyNumberMethods tb_number = {
    .nb_add = nb_add,
    .nb_subtract = nb_sub,
    .nb_multiply = nb_mul,
    .nb_true_divide = nb_div,
    .nb_power = nb_pow,
    .nb_negative = nb_neg,
};

/* close(): read and clear the handle in one step under the GIL (so two threads closing one
 * tensor delete it once), delete it, then drop the viewed arrays.  An operator in flight on
 * another thread holds its own references to those arrays. */
static PyObject *tb_close(PyObject *self, PyObject *unused) {
  (void)unused;
  TensorBase *t = (TensorBase *)self;
  if (t->handle == NULL) Py_RETURN_NONE;
  if (!S.bound) return not_bound(), NULL;
  if (!declared(F_DELETE)) return call_py(S.close_py, self, NULL);
  void *h = t->handle;
  PyObject *keep = t->keep;
  t->handle = NULL;
  t->keep = NULL;
  delete_fn fn = (delete_fn)S.fn[F_DELETE];
  int status;
  if (t->n <= S.small) {
    status = fn(h);
  } else {
    Py_BEGIN_ALLOW_THREADS status = fn(h);
    Py_END_ALLOW_THREADS
  }
  Py_XDECREF(keep);
  if (status != 0) return raise_via(S.raise_st, Py_BuildValue("(iO)", status, S.names[F_DELETE]));
  Py_RETURN_NONE;
}

static PyMethodDef tb_methods[] = {
    {"close", tb_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease the library handle now.  Idempotent; any later use raises ClosedTensorError.\n\n"
     "Thread-safe: a call running on this tensor in another thread finishes on its own\n"
     "reference to the values (or raises ClosedTensorError if it starts after the close);\n"
     "it never crashes; an operator in flight holds the viewed arrays it reads."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TensorBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pyftorch._speedups.TensorBase",
    .tp_basicsize = sizeof(TensorBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The C part of pyftorch.Tensor: handle storage, finaliser and operators.",
    .tp_new = tb_new,
    .tp_dealloc = tb_dealloc,
    .tp_getset = tb_getset,
    .tp_methods = tb_methods,
    .tp_members = tb_members,
    .tp_weaklistoffset = offsetof(TensorBase, weakrefs),
    .tp_as_number = &tb_number,
};

/* --- from_numpy ------------------------------------------------------------------------------ */
/* The ft_dtype of a buffer's single-character native format, or -1. */
static int dtype_code(const char *format, Py_ssize_t itemsize) {
  if (format == NULL || format[0] == '\0' || format[1] != '\0') return -1;
  switch (format[0]) {
    case 'B': return itemsize == 1 ? 0 : -1;
    case 'b':
    case 'h':
    case 'i':
    case 'l':
    case 'q':
      switch (itemsize) {
        case 1: return 1;
        case 2: return 2;
        case 4: return 3;
        case 8: return 4;
        default: return -1;
      }
    case 'e': return itemsize == 2 ? 5 : -1;
    case 'f': return itemsize == 4 ? 6 : -1;
    case 'd': return itemsize == 8 ? 7 : -1;
    case '?': return itemsize == 1 ? 11 : -1;
    default: return -1;
  }
}

/* from_numpy(array, copy, requires_grad, device): a new Tensor, or NotImplemented when the
 * Python path must handle (and explain) the arguments. */
static PyObject *sp_from_numpy(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  (void)module;
  if (nargs != 4) {
    PyErr_SetString(PyExc_TypeError, "from_numpy(array, copy, requires_grad, device)");
    return NULL;
  }
  if (!S.bound) return not_bound(), NULL;
  PyObject *array = args[0], *copy = args[1], *device = args[3];
  if (Py_TYPE(array) != S.ndarray || (copy != Py_True && copy != Py_False)) Py_RETURN_NOTIMPLEMENTED;
  if (device != S.cpu && !(PyUnicode_CheckExact(device) && PyUnicode_Compare(device, S.cpu) == 0))
    Py_RETURN_NOTIMPLEMENTED;
  if (!declared(F_FROM_BLOB)) Py_RETURN_NOTIMPLEMENTED;
  int as_copy = copy == Py_True;
  Py_buffer view;
  if (PyObject_GetBuffer(array, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (as_copy ? 0 : PyBUF_WRITABLE)) < 0) {
    PyErr_Clear(); /* read-only, not contiguous, unusual dtype: the Python checks explain */
    Py_RETURN_NOTIMPLEMENTED;
  }
  int code = dtype_code(view.format, view.itemsize);
  if (code < 0 || view.ndim > MAX_DIMS || view.itemsize <= 0 || (uintptr_t)view.buf % (uintptr_t)view.itemsize) {
    PyBuffer_Release(&view);
    Py_RETURN_NOTIMPLEMENTED;
  }
  int requires_grad = PyObject_IsTrue(args[2]);
  if (requires_grad < 0) {
    PyBuffer_Release(&view);
    return NULL;
  }
  int64_t shape[MAX_DIMS];
  long long n = 1;
  for (int d = 0; d < view.ndim; d++) {
    shape[d] = (int64_t)view.shape[d];
    n *= (long long)view.shape[d];
  }
  if (view.ndim == 0) shape[0] = 0;
  PyObject *keep = NULL;
  if (!as_copy && (keep = PyTuple_Pack(1, array)) == NULL) {
    PyBuffer_Release(&view);
    return NULL;
  }
  from_blob_fn fn = (from_blob_fn)S.fn[F_FROM_BLOB];
  void *out = NULL;
  int status;
  unsigned flags = as_copy ? FT_FLAG_COPY : 0;
  if (!as_copy || n <= S.small) {
    status = fn(view.buf, view.ndim, shape, NULL, code, FT_CPU, -1, requires_grad, flags, &out);
  } else {
    Py_BEGIN_ALLOW_THREADS status = fn(view.buf, view.ndim, shape, NULL, code, FT_CPU, -1, requires_grad, flags, &out);
    Py_END_ALLOW_THREADS
  }
  PyBuffer_Release(&view);
  if (status != 0) {
    Py_XDECREF(keep);
    return raise_via(S.raise_st, Py_BuildValue("(iO)", status, S.names[F_FROM_BLOB]));
  }
  return adopt(out, keep, n);
}

/* --- bind ------------------------------------------------------------------------------------ */
static PyObject *item(PyObject *config, const char *key) {
  PyObject *v = PyDict_GetItemString(config, key); /* borrowed */
  if (v == NULL) PyErr_Format(PyExc_KeyError, "bind(): missing %s", key);
  return v;
}

static int set_ref(PyObject **slot, PyObject *value) {
  if (value == NULL) return -1;
  Py_INCREF(value);
  Py_XSETREF(*slot, value);
  return 0;
}

static PyObject *sp_bind(PyObject *module, PyObject *config) {
  (void)module;
  if (!PyDict_Check(config)) {
    PyErr_SetString(PyExc_TypeError, "bind() takes a dict");
    return NULL;
  }
  PyObject *tensor = item(config, "tensor"), *ndarray = item(config, "ndarray");
  if (tensor == NULL || ndarray == NULL) return NULL;
  if (!PyType_Check(tensor) || !PyType_IsSubtype((PyTypeObject *)tensor, &TensorBaseType) || !PyType_Check(ndarray)) {
    PyErr_SetString(PyExc_TypeError, "bind(): tensor must subclass TensorBase and ndarray must be a type");
    return NULL;
  }
  PyObject *lib_dict = item(config, "lib_dict"), *declared_fns = item(config, "declared");
  PyObject *addresses = item(config, "addresses"), *binary = item(config, "binary");
  if (!lib_dict || !declared_fns || !addresses || !binary) return NULL;
  for (int k = 0; k < N_HOT; k++) {
    PyObject *fn = PyDict_GetItemString(declared_fns, hot_names[k]);
    PyObject *address = PyDict_GetItemString(addresses, hot_names[k]);
    if (fn == NULL || address == NULL) {
      PyErr_Format(PyExc_KeyError, "bind(): no declared function or address for %s", hot_names[k]);
      return NULL;
    }
    void *p = PyLong_AsVoidPtr(address);
    if (p == NULL) {
      if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "bind(): NULL address for %s", hot_names[k]);
      return NULL;
    }
    PyObject *name = PyUnicode_InternFromString(hot_names[k]);
    if (name == NULL) return NULL;
    Py_XSETREF(S.names[k], name);
    set_ref(&S.declared[k], fn);
    S.fn[k] = p;
  }
  PyObject *release_address = PyDict_GetItemString(addresses, "ft_tensor_release");
  if (release_address == NULL) {
    PyErr_SetString(PyExc_KeyError, "bind(): no address for ft_tensor_release");
    return NULL;
  }
  void *rel = PyLong_AsVoidPtr(release_address);
  if (rel == NULL) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bind(): NULL address for ft_tensor_release");
    return NULL;
  }
  for (int op = 0; op < N_OPS; op++) {
    for (int r = 0; r < 2; r++) {
      PyObject *key = Py_BuildValue("(ii)", op, r);
      if (key == NULL) return NULL;
      PyObject *fn = PyDict_GetItemWithError(binary, key);
      Py_DECREF(key);
      if (fn == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "bind(): no Python method for op %d", op);
        return NULL;
      }
      set_ref(&S.binary_py[op][r], fn);
    }
  }
  PyObject *small_obj = item(config, "small"), *big_obj = item(config, "big");
  if (small_obj == NULL || big_obj == NULL) return NULL;
  long long small = PyLong_AsLongLong(small_obj), big = PyLong_AsLongLong(big_obj);
  if (PyErr_Occurred()) return NULL;
  if (set_ref(&S.neg_py, item(config, "neg")) < 0 || set_ref(&S.fail, item(config, "fail")) < 0 ||
      set_ref(&S.raise_st, item(config, "raise_status")) < 0 || set_ref(&S.close_py, item(config, "close")) < 0 ||
      set_ref(&S.merge_keep, item(config, "merge_keep")) < 0 || set_ref(&S.lib_dict, lib_dict) < 0 ||
      set_ref((PyObject **)&S.tensor, tensor) < 0 || set_ref((PyObject **)&S.ndarray, ndarray) < 0)
    return NULL;
  if (!PyDict_Check(S.lib_dict)) {
    PyErr_SetString(PyExc_TypeError, "bind(): lib_dict must be the Library's __dict__");
    return NULL;
  }
  if (S.cpu == NULL && (S.cpu = PyUnicode_InternFromString("cpu")) == NULL) return NULL;
  S.small = small;
  S.big = big;
  release = (release_fn)rel;
  S.bound = 1;
  Py_RETURN_NONE;
}

static PyMethodDef sp_methods[] = {
    {"bind", (PyCFunction)sp_bind, METH_O, "bind(config): connect the module to pyftorch.core (once, at import)."},
    {"from_numpy", (PyCFunction)(void (*)(void))sp_from_numpy, METH_FASTCALL,
     "from_numpy(array, copy, requires_grad, device): a Tensor, or NotImplemented for the Python path."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sp_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_speedups",
    .m_doc = "The hot calls of pyftorch.Tensor in C (see pyftorch/_speedups.c).",
    .m_size = -1,
    .m_methods = sp_methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
  if (PyType_Ready(&TensorBaseType) < 0) return NULL;
  PyObject *m = PyModule_Create(&sp_module);
  if (m == NULL) return NULL;
  Py_INCREF(&TensorBaseType);
  /* pyftorch._lib.SPEEDUPS_API: bind()'s contract; a stale build is refused, not bound. */
  if (PyModule_AddIntConstant(m, "API", 1) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  if (PyModule_AddObject(m, "TensorBase", (PyObject *)&TensorBaseType) < 0) {
    Py_DECREF(&TensorBaseType);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
