"""What the ``ftorch`` modules export, for every rule: read from the generated table.

:mod:`preprocess.ftorch_api_table` is generated from the Fortran sources in ``fsrc/fortran``
(``fsrc/tools/gen_api_table.py``) and checked in, so the linter needs neither the sources
nor the native library; ``tests/python/test_api_table.py`` fails when the table and the
sources differ in any name.  Names are stored in their documented spelling; lookups are
case-insensitive through :data:`CANONICAL`.
"""

from __future__ import annotations

from .ftorch_api_table import MODULES as _MODULES

MODULE = "ftorch"
#: FTorch's internal modules are treated as aliases of ``ftorch`` (each provides the subset
#: of ftorch's names listed for it in the table).
ALIASES = frozenset(
    {"ftorch", "ftorch_tensor", "ftorch_types", "ftorch_devices", "ftorch_model", "ftorch_optim", "ftorch_loss"}
)

_FTORCH = _MODULES[MODULE]
TYPES = tuple(n for n, k in _FTORCH.items() if k == "type")
DEVICES = ("torch_kCPU", "torch_kCUDA", "torch_kHIP", "torch_kXPU", "torch_kMPS")
DTYPES = tuple(
    n
    for n in _FTORCH
    if n.startswith("torch_k") and n not in DEVICES and n not in ("torch_kNone", "torch_kMean", "torch_kSum")
)
REDUCTIONS = ("torch_kNone", "torch_kMean", "torch_kSum")
#: Every other named constant (status codes, ftorch_int, version constants).
CONSTANTS = tuple(n for n, k in _FTORCH.items() if k == "constant" and n not in DEVICES + DTYPES + REDUCTIONS)
PROCEDURES = tuple(n for n, k in _FTORCH.items() if k == "procedure")
OPERATORS = ("operator(+)", "operator(-)", "operator(*)", "operator(/)", "operator(**)", "assignment(=)")

NAMES = TYPES + DEVICES + DTYPES + REDUCTIONS + CONSTANTS + PROCEDURES
#: lower-case name -> documented spelling, for ftorch and the modules treated as its aliases
#: (ftorch_tensor also exports e.g. torch_tensor_add, as FTorch's does).
CANONICAL = {n.lower(): n for mod in sorted(ALIASES) for n, k in _MODULES.get(mod, {}).items() if k != "generic"}
CANONICAL.update({n.lower(): n for n in NAMES})
PUBLIC = frozenset(CANONICAL) | frozenset(OPERATORS)
#: module -> the lower-case names and operator specs it makes public
_PROVIDES = {
    mod: frozenset(n.lower() if k != "generic" else n for n, k in names.items()) for mod, names in _MODULES.items()
}


def provides(module: str, spec: str) -> bool:
    """Does a bare ``use module`` give ``spec`` (a lower-case name or an operator spec)?"""
    names = _PROVIDES.get(module.lower())
    return spec in names if names is not None else spec in PUBLIC


#: Constructors: the first argument is the tensor being (re)built.
CONSTRUCTORS = frozenset(
    {
        "torch_tensor_from_array",
        "torch_tensor_from_blob",
        "torch_tensor_empty",
        "torch_tensor_zeros",
        "torch_tensor_ones",
    }
)
DELETERS = frozenset({"torch_delete", "torch_tensor_delete"})
#: Optimiser constructors (torch_optim_* names that build an optimiser, not its methods).
OPTIMIZERS = frozenset(
    {"torch_optim_sgd", "torch_optim_adam", "torch_optim_adamw", "torch_optim_rmsprop", "torch_optim_adagrad"}
)
LOSSES = frozenset(n for n in CANONICAL if n.startswith("torch_loss_"))
#: Procedures writing a result tensor (first argument) computed from the other tensor arguments.
DERIVED_RESULT = frozenset({"torch_tensor_sum", "torch_tensor_mean"}) | LOSSES
#: Inquiry-like procedures and intrinsics whose arguments are not value reads.
INQUIRY_INTRINSICS = frozenset(
    {
        "size",
        "shape",
        "lbound",
        "ubound",
        "allocated",
        "associated",
        "present",
        "kind",
        "len",
        "rank",
        "storage_size",
        "c_loc",
        "loc",
        "is_contiguous",
    }
)
#: Tensor-valued operators overloaded by ftorch: ``op symbol -> spec``.
OPERATOR_SPEC = {"+": "operator(+)", "-": "operator(-)", "*": "operator(*)", "/": "operator(/)", "**": "operator(**)"}
ASSIGNMENT_SPEC = "assignment(=)"


def canonical(name: str) -> str:
    return CANONICAL.get(name.lower(), name)


def spec_sort_key(spec: str):
    """Order for generated ``only:`` lists: assignment, operators, then names."""
    if spec == ASSIGNMENT_SPEC:
        return (0, 0, spec)
    if spec in OPERATORS:
        return (1, OPERATORS.index(spec), spec)
    return (2, 0, spec.lower())
