"""FT005 `scalar-operand`: a Fortran scalar used as an operand of a tensor operator.

## What it does
Reports a literal (`2.0_wp`, `3`) or a scalar `real`/`integer` variable or array element
used as an operand of `+ - * /` whose other operand is a `torch_tensor`.  `**` with a
scalar exponent is the normal FTorch form and is not reported.  Severity: info.

## Why is this bad?
FTorch overloads `+ - * /` for tensor-tensor operands only; there is no tensor-scalar
form, so the code does not compile against FTorch.  The portable way, from FTorch's online
training documentation, is a rank-1 tensor with a single element, which broadcasts.  The
tensor views its array, so the array must be a variable (FTorch's own snippet passes the
constructor `[3.0_wp]`, a temporary: see FT106):

```fortran
real(wp), target :: multiplier_value(1) = [3.0_wp]
call torch_tensor_from_array(multiplier, multiplier_value, [1], torch_kCPU)
```

pyftorch also provides native scalar operators (`2.0_wp * a`); when you target pyftorch
only, switch this rule off (`ignore = ["FT005"]`).

## Example
```fortran
q = 2.0_wp * a
```

Use instead:
```fortran
real(wp), target :: two(1) = [2.0_wp]
call torch_tensor_from_array(two_t, two, [1], torch_kCPU)
q = two_t * a
```
"""

from __future__ import annotations

from . import Rule, usage_of


def scalar_operand(m, e, scope) -> bool:
    from fparser.two import Fortran2003 as F03

    from ..model import iter_nodes

    _NUMERIC = (
        F03.Int_Literal_Constant,
        F03.Real_Literal_Constant,
        F03.Signed_Int_Literal_Constant,
        F03.Signed_Real_Literal_Constant,
    )
    if isinstance(e, _NUMERIC):
        return True
    if isinstance(e, F03.Parenthesis):
        return scalar_operand(m, e.items[1], scope)
    if isinstance(e, F03.Level_2_Unary_Expr):
        return isinstance(e.items[1], _NUMERIC)
    if isinstance(e, F03.Name):
        v = m.lookup_var(scope, str(e))
        return v is not None and v.category in ("real", "integer") and v.rank == 0
    if isinstance(e, F03.Part_Ref):
        v = m.lookup_var(scope, str(e.items[0]))
        if v is None or v.category not in ("real", "integer") or v.rank == 0:
            return False
        return not any(isinstance(n, F03.Subscript_Triplet) for n in iter_nodes(e.items[1]))
    return False


class ScalarOperand(Rule):
    code = "FT005"
    name = "scalar-operand"
    severity = "info"

    def check(self, ctx):
        if ctx.model is None:
            return
        from ..model import TENSOR

        m = ctx.model
        for op in usage_of(ctx).ops:
            if op.kind != "bin" or op.sym == "**":
                continue
            for side, mine, other in (("left", 0, op.right), ("right", 2, op.left)):
                if other != TENSOR:
                    continue
                operand = op.node.items[mine]
                if not scalar_operand(m, operand, op.scope):
                    continue
                text = operand.tofortran() if hasattr(operand, "tofortran") else str(operand)
                msg = (
                    f"scalar `{text}` as an operand of tensor `{op.sym}`: FTorch has no tensor-scalar "
                    f"`{op.sym}`; use a one-element rank-1 tensor over an array variable, e.g. "
                    f"`real(wp), target :: s(1) = [{text}]` and "
                    f"`call torch_tensor_from_array(scalar_t, s, [1], torch_kCPU)`"
                )
                rng = ctx.operand_range(op.node, side)
                src, _st = ctx.lexed(op.node)
                if rng is None:
                    yield ctx.diag_node(self, msg, op.node)
                else:
                    yield ctx.diag_tokens(self, msg, src, rng[0], rng[1], node=op.node)


RULE = ScalarOperand()
