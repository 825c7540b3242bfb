"""FT002 `missing-assignment-import`: tensor assignment without `assignment(=)` in scope.

## What it does
Reports an assignment `t = expr` whose left-hand side is a `torch_tensor` (a declared
variable, array element or derived-type component) when no `assignment(=)` from ftorch is
visible in the scope chain (the scope, its hosts, a re-exporting module, or a bare
`use ftorch`).  The right-hand side must be tensor-valued or of unknown type; an assignment
from a provably non-tensor value is left to the compiler.

## Why is this bad?
It compiles silently.  Without the overloaded assignment, Fortran falls back to intrinsic
assignment of the derived type, which copies the C pointer inside `torch_tensor`: both
variables then own the same LibTorch tensor, the result is never copied into the
left-hand side's data, and freeing one of them leaves the other dangling.  FTorch's
troubleshooting page lists this under *segmentation faults*.  pyftorch's own tensor type
also carries a type-bound assignment, but code should stay portable to FTorch.

## Example
```fortran
use ftorch, only: torch_tensor, operator(*)
type(torch_tensor) :: q, a, b
q = a * b
```

Use instead:
```fortran
use ftorch, only: torch_tensor, operator(*), assignment(=)
```

## Fix
Add `assignment(=)` to the `only:` list of the `use ftorch` that serves this scope.
"""

from __future__ import annotations

from . import Rule, usage_of


class MissingAssignmentImport(Rule):
    code = "FT002"
    name = "missing-assignment-import"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        m = ctx.model
        for a in usage_of(ctx).assigns:
            if not a.tensor or m.provider(a.scope, "assignment(=)") is not None:
                continue
            toks = ctx.assignment_tokens(a.node)
            lhs = str(a.node.items[0]).replace(" % ", "%")
            if toks is not None:
                _src0, st0 = ctx.lexed(a.node)
                ids = [id(t) for t in st0.tokens]
                i0, i1 = ids.index(id(toks[0])), ids.index(id(toks[1]))
                lhs = "".join(t.text for t in st0.tokens[i0:i1])
            msg = (
                f"assignment to torch_tensor `{lhs}` without `assignment(=)` in scope falls back to "
                f"intrinsic assignment, which copies the C pointer; add `assignment(=)` to the "
                f"`use ftorch, only:` list of {a.scope.describe()} or a host"
            )
            src, _st = ctx.lexed(a.node)
            if toks is None:
                yield ctx.diag_node(self, msg, a.node)
            else:
                yield ctx.diag_tokens(self, msg, src, toks[0], toks[2], node=a.node)


RULE = MissingAssignmentImport()
