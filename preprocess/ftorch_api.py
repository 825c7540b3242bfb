"""The one table of the ``ftorch`` module's public names used by every rule.

Keep this the single place to reconcile with the real module.  Names are stored in their
documented spelling; lookups are case-insensitive through :data:`CANONICAL`.
"""
from __future__ import annotations

MODULE = "ftorch"
#: FTorch's internal modules are treated as aliases of ``ftorch``.
ALIASES = frozenset(
    {"ftorch", "ftorch_tensor", "ftorch_types", "ftorch_devices", "ftorch_model", "ftorch_optim", "ftorch_loss"}
)

TYPES = ("torch_tensor", "torch_model", "torch_optim")
DEVICES = ("torch_kCPU", "torch_kCUDA", "torch_kHIP", "torch_kXPU", "torch_kMPS")
DTYPES = (
    "torch_kUInt8", "torch_kInt8", "torch_kInt16", "torch_kInt32", "torch_kInt64",
    "torch_kFloat16", "torch_kFloat32", "torch_kFloat64",
)
REDUCTIONS = ("torch_kNone", "torch_kMean", "torch_kSum")
PROCEDURES = (
    "torch_tensor_from_array", "torch_tensor_from_blob", "torch_tensor_empty", "torch_tensor_zeros",
    "torch_tensor_ones", "torch_tensor_delete", "torch_delete", "torch_tensor_print",
    "torch_tensor_get_rank", "torch_tensor_get_shape", "torch_tensor_get_dtype",
    "torch_tensor_get_device_type", "torch_tensor_get_device_index", "torch_tensor_requires_grad",
    "torch_tensor_to", "torch_tensor_sum", "torch_tensor_mean", "torch_tensor_zero",
    "torch_tensor_backward", "torch_tensor_get_gradient", "torch_tensor_zero_grad",
    "torch_model_load", "torch_model_forward", "torch_model_parameters", "torch_model_save",
    "torch_model_delete", "torch_optim_SGD", "torch_optim_Adam", "torch_optim_AdamW",
    "torch_optim_RMSprop", "torch_optim_Adagrad", "torch_optim_delete", "torch_loss_mse",
    "torch_loss_l1", "torch_loss_smooth_l1", "torch_loss_huber", "torch_loss_cross_entropy",
    "torch_loss_bce_with_logits",
)
OPERATORS = ("operator(+)", "operator(-)", "operator(*)", "operator(/)", "operator(**)", "assignment(=)")

NAMES = TYPES + DEVICES + DTYPES + REDUCTIONS + PROCEDURES
#: lower-case name -> documented spelling
CANONICAL = {n.lower(): n for n in NAMES}
PUBLIC = frozenset(CANONICAL) | frozenset(OPERATORS)

#: Constructors: the first argument is the tensor being (re)built.
CONSTRUCTORS = frozenset(
    {"torch_tensor_from_array", "torch_tensor_from_blob", "torch_tensor_empty", "torch_tensor_zeros", "torch_tensor_ones"}
)
DELETERS = frozenset({"torch_delete", "torch_tensor_delete"})
OPTIMIZERS = frozenset(n.lower() for n in PROCEDURES if n.startswith("torch_optim_") and n != "torch_optim_delete")
LOSSES = frozenset(n for n in CANONICAL if n.startswith("torch_loss_"))
#: Procedures writing a result tensor (first argument) computed from the other tensor arguments.
DERIVED_RESULT = frozenset({"torch_tensor_sum", "torch_tensor_mean"}) | LOSSES
#: Inquiry-like procedures and intrinsics whose arguments are not value reads.
INQUIRY_INTRINSICS = frozenset(
    {"size", "shape", "lbound", "ubound", "allocated", "associated", "present", "kind", "len", "rank",
     "storage_size", "c_loc", "loc", "is_contiguous"}
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
