"""The loader: declarations, torch version check, status mapping, import order."""

from __future__ import annotations

import ctypes
import re
from ctypes import byref, c_void_p
from pathlib import Path

import pytest

from pyftorch import _lib, errors
from pyftorch._lib import FUNCTIONS, NOT_BOUND, STATUS
from tests import abi_header

REPO = Path(__file__).resolve().parents[2]
HEADER = REPO / "fsrc" / "include" / "ftorch.h"
PACKAGE = REPO / "pyftorch"

# C parameter types of ftorch.h -> the ctypes type the table must declare.
C_TO_CTYPES = {
    "int": ctypes.c_int,
    "unsigned": ctypes.c_uint,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "double": ctypes.c_double,
    "ft_tensor": ctypes.c_void_p,
    "void *": ctypes.c_void_p,
    "ft_tensor *": ctypes.POINTER(ctypes.c_void_p),
    "int *": ctypes.POINTER(ctypes.c_int),
    "int64_t *": ctypes.POINTER(ctypes.c_int64),
    "const int64_t *": ctypes.POINTER(ctypes.c_int64),
    "const int64_t **": ctypes.POINTER(ctypes.POINTER(ctypes.c_int64)),
    "char *": ctypes.c_char_p,
    "const char *": ctypes.c_char_p,
    "void **": ctypes.POINTER(ctypes.c_void_p),
    "double *": ctypes.POINTER(ctypes.c_double),
    # handles of the training API: opaque 64-bit values, like ft_tensor
    "ft_model": ctypes.c_void_p,
    "ft_optim": ctypes.c_void_p,
    "ft_scheduler": ctypes.c_void_p,
    "ft_model *": ctypes.POINTER(ctypes.c_void_p),
    "ft_optim *": ctypes.POINTER(ctypes.c_void_p),
    "ft_scheduler *": ctypes.POINTER(ctypes.c_void_p),
    "const ft_tensor *": ctypes.POINTER(ctypes.c_void_p),
    # structs: the ctypes Structure of pyftorch._lib (its layout is checked below)
    "ft_optim_options *": ctypes.POINTER(_lib.OptimOptions),
    "const ft_optim_options *": ctypes.POINTER(_lib.OptimOptions),
}
#: C field types of structs -> ctypes.
C_FIELD_TYPES = {"double": ctypes.c_double, "int": ctypes.c_int, "int64_t": ctypes.c_int64}
C_RETURN = {"int": STATUS, "const char *": ctypes.c_char_p, "int64_t": ctypes.c_int64, "void": None}


def header_prototypes() -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, [parameter types]) for every FT_API function of ftorch.h."""
    return abi_header.prototypes()


def header_struct(name: str) -> list[tuple[str, str]]:
    """[(field name, C type)] of ``typedef struct name { ... } name;`` in ftorch.h."""
    structs = abi_header.parsed().structs
    assert name in structs, f"struct {name} not found in ftorch.h"
    return structs[name]


def test_header_parser_sees_the_abi():
    protos = header_prototypes()
    assert len(protos) >= 70
    assert protos["ft_tensor_binary"] == ("int", ["int", "ft_tensor", "ft_tensor", "unsigned", "ft_tensor *"])
    assert protos["ft_optim_new"] == (
        "int",
        ["int", "const ft_tensor *", "int", "const ft_optim_options *", "ft_optim *"],
    )
    assert header_struct("ft_optim_options")[:2] == [("lr", "double"), ("momentum", "double")]


def test_struct_declarations_match_header():
    """The ctypes Structure has the header's fields, in order, with the same C types."""
    fields = header_struct("ft_optim_options")
    declared = [(name, ctype) for name, ctype in _lib.OptimOptions._fields_]
    assert [n for n, _ in declared] == [n for n, _ in fields]
    for (name, ctype), (_, c_decl) in zip(declared, fields):
        assert ctype is C_FIELD_TYPES[c_decl], f"ft_optim_options.{name}: ctypes {ctype}, header {c_decl}"


def test_struct_layout_matches_the_c_compiler(tmp_path):
    """Offsets and size of ft_optim_options as the C compiler lays it out equal ctypes' layout."""
    import shutil
    import subprocess

    from pyftorch._locate import find_install

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    names = [n for n, _ in _lib.OptimOptions._fields_]
    prints = "".join(f'printf("%zu\\n", offsetof(ft_optim_options, {n}));' for n in names)
    src = tmp_path / "layout.c"
    src.write_text(
        f'#include <stdio.h>\n#include <stddef.h>\n#include "ftorch.h"\n'
        f'int main(void) {{ {prints} printf("%zu\\n", sizeof(ft_optim_options)); return 0; }}\n'
    )
    exe = tmp_path / "layout"
    include = find_install().include_dir  # ftorch.h includes the generated ftorch_version.h
    subprocess.run(
        [cc, f"-I{HEADER.parent}", f"-I{include}", str(src), "-o", str(exe)], check=True, capture_output=True
    )
    c_values = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]
    py_values = [getattr(_lib.OptimOptions, n).offset for n in names] + [ctypes.sizeof(_lib.OptimOptions)]
    assert py_values == c_values


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_declaration_matches_header(name):
    """Every function in the table exists in ftorch.h with exactly the declared signature."""
    protos = header_prototypes()
    assert name in protos, f"{name} is declared in pyftorch._lib.FUNCTIONS but not in ftorch.h"
    ret, params = protos[name]
    sig = FUNCTIONS[name]
    assert len(sig.argtypes) == len(params), f"{name}: {len(sig.argtypes)} argtypes, header has {params}"
    for i, (ctype, ptype) in enumerate(zip(sig.argtypes, params)):
        assert ptype in C_TO_CTYPES, f"{name}: no ctypes mapping for C type {ptype!r}"
        assert ctype == C_TO_CTYPES[ptype], f"{name} argument {i}: declared {ctype}, header says {ptype}"
    if name in _lib.RELEASE_FUNCTIONS:  # return int, always FT_OK: deliberately no errcheck
        assert ret == "int" and sig.restype is ctypes.c_int
    elif ret == "int" and name in (
        "ft_last_status",
        "ft_cuda_available",
        "ft_cuda_device_count",
        "ft_distributed_available",
    ):
        assert sig.restype is ctypes.c_int  # these return values, not statuses
    else:
        assert sig.restype is C_RETURN[ret], f"{name}: restype {sig.restype}, header returns {ret}"


def test_training_api_is_bound():
    """Every function of the training half of ftorch.h (models ... checkpoints) is in the table."""
    prefixes = ("ft_model_", "ft_loss", "ft_optim_", "ft_scheduler_", "ft_clip_", "ft_checkpoint_")
    training = {name for name in header_prototypes() if name.startswith(prefixes)}
    assert len(training) >= 30
    assert training <= set(FUNCTIONS), sorted(training - set(FUNCTIONS))


def test_every_function_used_is_declared():
    """Every ft_* name the package calls is in the table (so it has argtypes and restype)."""
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r"\b(?:_L|lib|load\(\))\.(ft_\w+)", path.read_text()))
    assert used, "the scan found no library calls"
    undeclared = used - set(FUNCTIONS)
    assert not undeclared, f"called but not declared in pyftorch._lib.FUNCTIONS: {sorted(undeclared)}"


def test_bound_functions_carry_their_declarations(lib):
    for name, sig in FUNCTIONS.items():
        fn = getattr(lib, name)
        assert fn.argtypes is not None and list(fn.argtypes) == list(sig.argtypes), name
        if sig.returns_status:
            assert fn.restype is ctypes.c_int and fn.errcheck is _lib._check_status, name
        else:
            assert fn.restype is sig.restype, name


def test_not_bound_functions_are_in_the_header_and_refused(lib):
    protos = header_prototypes()
    for name in NOT_BOUND:
        assert name in protos
        with pytest.raises(AttributeError, match="not declared"):
            getattr(lib, name)


def test_library_reports_versions(lib):
    import torch

    assert re.fullmatch(r"\d+\.\d+\.\d+.*", lib.version)
    assert _lib.base_version(lib.torch_version) == _lib.base_version(torch.__version__)


# --- torch version check ----------------------------------------------------------------------
@pytest.mark.parametrize("built,running", [("2.13.0", "2.13.0+cpu"), ("2.13.0", "2.13.0"), ("2.11.0", "2.11.0+cu130")])
def test_version_check_ignores_local_suffix(built, running):
    _lib.check_torch_version(built, running, allow=False)


def test_version_mismatch_is_refused_with_a_clear_message():
    with pytest.raises(errors.TorchVersionMismatch) as info:
        _lib.check_torch_version("2.11.0", "2.13.0+cpu", "/x/libftorch.so", allow=False)
    text = str(info.value)
    assert "2.11.0" in text and "2.13.0+cpu" in text and "/x/libftorch.so" in text
    assert _lib.ALLOW_MISMATCH_ENV in text
    assert isinstance(info.value, ImportError)


def test_version_mismatch_override_warns(monkeypatch):
    monkeypatch.setenv(_lib.ALLOW_MISMATCH_ENV, "1")
    with pytest.warns(RuntimeWarning, match="built against LibTorch 2.11.0"):
        _lib.check_torch_version("2.11.0", "2.13.0+cpu")


def test_version_mismatch_refused_when_loading(python_subprocess):
    code = (
        "import torch; torch.__version__ = '9.9.9'\n"
        "import pyftorch\n"
        "try:\n    pyftorch.Tensor\nexcept pyftorch.TorchVersionMismatch as e:\n    print('REFUSED', e)\n"
    )
    proc = python_subprocess(code)
    assert proc.returncode == 0, proc.stderr
    assert "REFUSED" in proc.stdout and "9.9.9" in proc.stdout
    proc = python_subprocess(
        code.replace("REFUSED", "X") + "print(pyftorch.tensor([1.0]).numpy())\n", env={_lib.ALLOW_MISMATCH_ENV: "1"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1.]" in proc.stdout and "RuntimeWarning" in proc.stderr


# --- loading ------------------------------------------------------------------------------------
def test_import_pyftorch_loads_neither_torch_nor_the_library(python_subprocess):
    proc = python_subprocess(
        "import sys, pyftorch, pyftorch.errors, pyftorch.crosscheck\n"
        "from pyftorch import _lib\n"
        "print('torch' in sys.modules, _lib.loaded() is None)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_torch_is_loaded_once_and_before_the_library(python_subprocess):
    proc = python_subprocess(
        "import sys, pyftorch\n"
        "t = pyftorch.tensor([1.0, 2.0])\n"
        "maps = open('/proc/self/maps').read().split('\\n')\n"
        "def paths(name):\n"
        "    return sorted({l.split()[-1] for l in maps if l.split() and l.split()[-1].endswith('/' + name)})\n"
        "print(len(paths('libtorch_cpu.so')), len(paths('libc10.so')), 'torch' in sys.modules)\n"
        "print([p for p in paths('libftorch.so.0')])\n"
    )
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0].split()
    assert first == ["1", "1", "True"], proc.stdout


def test_missing_library_raises_a_clear_error(python_subprocess, tmp_path):
    missing = tmp_path / "nowhere" / "libftorch.so"
    proc = python_subprocess(
        "import pyftorch\n"
        "try:\n    pyftorch.tensor([1.0])\n"
        "except pyftorch.LibraryLoadError as e:\n    print('LOADERROR', e)\n",
        env={"PYFTORCH_LIB": str(missing)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADERROR" in proc.stdout and "PYFTORCH_LIB" in proc.stdout and str(missing) in proc.stdout


def test_pyftorch_lib_env_selects_the_library(python_subprocess, lib):
    proc = python_subprocess(
        "import pyftorch\nprint(pyftorch.library_info()['library'])", env={"PYFTORCH_LIB": str(lib.path)}
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == Path(lib.path)


# --- errors -------------------------------------------------------------------------------------
def test_status_codes_map_to_subclasses():
    assert set(errors.STATUS_CLASSES) == set(range(1, 16))
    for status, cls in errors.STATUS_CLASSES.items():
        exc = errors.error_for_status(status, "msg", "ft_fn")
        assert type(exc) is cls and isinstance(exc, errors.FTorchError) and isinstance(exc, RuntimeError)
        assert exc.status == status and exc.status_name == errors.STATUS_NAMES[status]
        assert str(exc) == f"ft_fn: msg [{errors.STATUS_NAMES[status]}]"
    unknown = errors.error_for_status(99, "?")
    assert type(unknown) is errors.FTorchError and unknown.status_name == "FT_ERR_UNKNOWN(99)"
    assert issubclass(errors.ShapeError, ValueError) and issubclass(errors.DTypeError, TypeError)


def test_errors_pickle_with_their_attributes():
    import pickle

    exc = pickle.loads(pickle.dumps(errors.ShapeError("bad", 3, "ft_x")))
    assert type(exc) is errors.ShapeError and exc.status == 3 and exc.function == "ft_x" and exc.message == "bad"


def test_library_status_becomes_exception_with_library_message(lib):
    with pytest.raises(errors.InvalidArgumentError) as info:
        lib.ft_set_num_threads(0)
    assert info.value.status == 8 and info.value.function == "ft_set_num_threads"
    assert "number of threads must be >= 1" in info.value.message
    assert lib.ft_last_status() == 8


def test_null_handle_is_refused_by_the_library(lib):
    out = c_void_p()
    with pytest.raises(errors.NullHandleError, match="not constructed"):
        lib.ft_tensor_neg(None, 0, byref(out))
    assert out.value is None  # output untouched


def test_garbage_handle_is_detected_not_dereferenced(lib):
    flag = ctypes.c_int()
    for bogus in (0xDEADBEEF, 1, (1 << 40) | 5, 2**63 + 17):
        with pytest.raises(errors.StaleHandleError):
            lib.ft_tensor_requires_grad(bogus, byref(flag))


def test_undeclared_function_cannot_be_called(lib):
    with pytest.raises(AttributeError, match="FUNCTIONS"):
        lib.ft_tensor_assign  # noqa: B018
    with pytest.raises(AttributeError, match="FUNCTIONS"):
        lib.ft_does_not_exist  # noqa: B018


def test_python_never_passes_flags_to_operators(lib, monkeypatch):
    """Every operator call from Python passes flags = 0 (never FT_FLAG_TEMP, which is Fortran's)."""
    from pyftorch.crosscheck import builtin_suite, run_suite

    flag_position = {
        "ft_tensor_binary": 3,
        "ft_tensor_binary_scalar": 4,
        "ft_tensor_binary_iscalar": 4,
        "ft_tensor_neg": 1,
        "ft_tensor_sum": 1,
        "ft_tensor_mean": 1,
        "ft_tensor_to_new": 4,
        "ft_tensor_detach": 1,
    }
    calls = {name: 0 for name in flag_position}

    def watch(name, real):
        def wrapper(*args):
            assert args[flag_position[name]] == 0, f"{name} called with flags={args[flag_position[name]]}"
            calls[name] += 1
            return real(*args)

        return wrapper

    for name in flag_position:
        monkeypatch.setattr(lib, name, watch(name, getattr(lib, name)))
    results = run_suite(builtin_suite(), ["cpu"], ["float64"])
    assert all(r.status == "pass" for r in results)
    import pyftorch as ft

    with ft.tensor([1.0]) as t, t.to(dtype="float32") as f, t.detach() as d:
        assert f.dtype.name == "float32" and not d.requires_grad
    assert all(calls.values()), calls


def test_library_missing_a_symbol_is_refused():
    class FakeCDLL:
        def __getattr__(self, name):
            if name == "ft_tensor_backward":
                raise AttributeError(name)
            return ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 0)

    with pytest.raises(errors.LibraryLoadError, match="ft_tensor_backward"):
        _lib.Library(Path("/fake/libftorch.so"), FakeCDLL())


# --- completeness: every function, argument and constant of ftorch.h has its Python mirror ------
def test_every_header_function_is_bound_or_excused():
    """The ctypes table covers ftorch.h completely: each function is declared or deliberately not bound."""
    header = set(header_prototypes())
    assert not set(FUNCTIONS) & set(NOT_BOUND)
    missing = header - set(FUNCTIONS) - set(NOT_BOUND)
    assert not missing, f"in ftorch.h but neither in pyftorch._lib.FUNCTIONS nor NOT_BOUND: {sorted(missing)}"
    stale = (set(FUNCTIONS) | set(NOT_BOUND)) - header
    assert not stale, f"declared in pyftorch._lib but gone from ftorch.h: {sorted(stale)}"


def _python_constants() -> dict[str, int]:
    """Every FT_* integer constant that pyftorch's modules define."""
    import importlib

    found: dict[str, int] = {}
    for name in ("pyftorch.errors", "pyftorch.core", "pyftorch.losses", "pyftorch.optim", "pyftorch.distributed"):
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("FT_") and isinstance(value, int):
                assert found.get(attr, value) == value, f"{attr} has two values in pyftorch"
                found[attr] = value
    return found


def test_every_enumerator_is_mirrored_with_its_value():
    """Status codes, dtypes and reductions by table; every other enumerator by an FT_* constant."""
    import numpy as np

    from pyftorch import core, losses

    enums = abi_header.enumerators()
    assert errors.STATUS_NAMES == {value: name for name, value in enums["ft_status"].items()}
    dtype_names = {f"FT_{np.dtype(d).name.upper().rstrip('_')}": code for d, code in core.DTYPE_CODES.items()}
    assert dtype_names == enums["ft_dtype"]
    assert {f"FT_REDUCTION_{k.upper()}": v for k, v in losses.REDUCTIONS.items()} == enums["ft_reduction"]
    python = _python_constants()
    by_table = set(enums["ft_status"]) | set(enums["ft_dtype"]) | set(enums["ft_reduction"])
    header = {name: value for items in enums.values() for name, value in items.items()}
    for name, value in header.items():
        if name in by_table or name in _lib.NOT_MIRRORED:
            assert name not in _lib.NOT_MIRRORED or name not in python, f"{name} is mirrored and excused"
            continue
        assert name in python, f"enumerator {name} of ftorch.h has no Python constant (or NOT_MIRRORED entry)"
        assert python[name] == value, f"{name}: Python {python[name]}, ftorch.h {value}"
    stale = {n for n in python if n not in header}
    assert not stale, f"pyftorch constants that ftorch.h no longer has: {sorted(stale)}"
    assert set(_lib.NOT_MIRRORED) <= set(header)


def test_completeness_checks_catch_a_changed_signature():
    """A throw-away header edit (one parameter type changed) is seen by the table comparison."""
    text = abi_header.HEADER.read_text()
    changed = text.replace(
        "FT_API int ft_optim_set_lr(ft_optim o, double lr);", "FT_API int ft_optim_set_lr(ft_optim o, int64_t lr);"
    )
    assert changed != text
    protos = abi_header.prototypes(changed)
    assert protos["ft_optim_set_lr"][1] == ["ft_optim", "int64_t"]
    assert C_TO_CTYPES[protos["ft_optim_set_lr"][1][1]] != FUNCTIONS["ft_optim_set_lr"].argtypes[1]


def test_fault_injection_before_core_import_reaches_operators():
    """A Library attribute replaced before pyftorch.core is imported still receives the
    operator calls: the hot path compares with the declared functions, not an import-time
    snapshot (which once captured the replacement and bypassed it)."""
    import subprocess
    import sys

    script = """
from pyftorch import _lib
lib = _lib.load()
calls = []
real = lib.ft_tensor_binary
lib.ft_tensor_binary = lambda *a: (calls.append(1), real(*a))[1]
import numpy as np
from pyftorch.core import Tensor
t = Tensor.from_numpy(np.ones(3), copy=True)
u = t + t
print(len(calls))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1"
