"""FT104 `gradient-without-requires-grad`: asking for the gradient of a tensor that has none.

## What it does
Reports `torch_tensor_get_gradient(gradient, tensor)` when `tensor` is a local variable of
the procedure (or main program) that is never constructed with `requires_grad=.true.` in
the visible code.  Tensors that are dummy arguments, module variables, components,
filled by `torch_model_parameters`, passed to another procedure (which may construct them)
or constructed with a non-literal `requires_grad` are assumed fine.  The analysis is per
procedure: a construction counts in the procedure itself and in its internal procedures
(host association), never in another procedure that happens to use the same name.

## Why is this bad?
Only leaf tensors created with `requires_grad=.true.` get a `.grad`.  For any other tensor
FTorch's `get_gradient` finds no gradient and stops the program ("Perhaps you forgot to
call backward").

## Example
```fortran
call torch_tensor_from_array(a, a_data, torch_kCPU)
...
call torch_tensor_get_gradient(dqda, a)
```

Use instead:
```fortran
call torch_tensor_from_array(a, a_data, torch_kCPU, requires_grad=.true.)
```
"""

from __future__ import annotations

from . import Rule, flow_of


class GradientWithoutRequiresGrad(Rule):
    code = "FT104"
    name = "gradient-without-requires-grad"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        graphs = flow_of(ctx).graphs
        # per procedure: what the procedure and its internal procedures (host association)
        # construct with requires_grad; a same-named local of another procedure is another
        # variable
        ok_by_scope: dict = {}
        for g in graphs:
            ok = ok_by_scope.setdefault(id(g.scope), set())
            for n in g.nodes:
                for e in n.events:
                    if e[0] == "construct" and e[2] is not False:
                        ok.add(e[1])
                    elif e[0] in ("params", "escape"):
                        ok.add(e[1])
        for g in graphs:
            ok_keys = set()
            for other in graphs:
                if any(s is g.scope for s in other.scope.chain()):
                    ok_keys |= ok_by_scope.get(id(other.scope), set())
            for n in g.nodes:
                for e in n.events:
                    if e[0] != "getgrad":
                        continue
                    t = e[2]
                    if "%" in t or t in ok_keys:
                        continue
                    owner = next((s for s in g.scope.chain() if t in s.vars), None)
                    if owner is None or owner.kind not in ("program", "subroutine", "function", "block"):
                        continue
                    v = owner.vars[t]
                    if v.dummy or v.category != "tensor":
                        continue
                    msg = (
                        f"`torch_tensor_get_gradient({e[1]}, {t})`: `{t}` is never constructed with "
                        f"`requires_grad=.true.`, so it has no gradient; pass `requires_grad=.true.` when "
                        f"constructing `{t}`"
                    )
                    yield ctx.diag_node(self, msg, n.stmt)


RULE = GradientWithoutRequiresGrad()
