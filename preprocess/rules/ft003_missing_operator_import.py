"""FT003 `missing-operator-import`: tensor operator without the matching `operator(op)`.

## What it does
Reports `+ - * / **` (and unary `-`) applied to a `torch_tensor` operand when the matching
`operator(op)` from ftorch is not visible in the scope chain.  For `**` the tensor is the
left operand (the exponent is a scalar).

## Why is this bad?
The overloaded operators are generic interfaces of the ftorch module: without importing
them, `a * b` on tensors does not compile, and compilers report it as a type mismatch that
does not say which import is missing.  With a bare `use ftorch` everything is imported, but
then FT001 asks you to list what you use.

## Example
```fortran
use ftorch, only: assignment(=), torch_tensor
type(torch_tensor) :: q, a, b
q = a * b
```

Use instead:
```fortran
use ftorch, only: assignment(=), operator(*), torch_tensor
```

## Fix
Add the named `operator(op)` to the `use ftorch, only:` list of the scope or a host.
"""

from __future__ import annotations

from . import Rule, usage_of


class MissingOperatorImport(Rule):
    code = "FT003"
    name = "missing-operator-import"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        m = ctx.model
        for op in usage_of(ctx).ops:
            if not op.tensor or m.provider(op.scope, op.spec) is not None:
                continue
            what = "unary `-`" if op.kind == "un" else f"operator `{op.sym}`"
            msg = (
                f"{what} on torch_tensor but `{op.spec}` is not imported; add `{op.spec}` to the "
                f"`use ftorch, only:` list of {op.scope.describe()} or a host"
            )
            tok = ctx.op_token(op.node)
            src, _st = ctx.lexed(op.node)
            if tok is None:
                yield ctx.diag_node(self, msg, op.node)
            else:
                yield ctx.diag_tokens(self, msg, src, tok, tok, node=op.node)


RULE = MissingOperatorImport()
