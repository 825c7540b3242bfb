"""FT101 `stale-gradient`: reading a gradient that a later backward or zero_grad changed.

## What it does
Tracks gradient holders: the first argument of `torch_tensor_get_gradient(gradient, tensor)`
and the Fortran array that holder was built from with `torch_tensor_from_array`.  A read of
a holder after a later `torch_tensor_backward` that can reach `tensor`, or after
`torch_tensor_zero_grad(tensor)` / `tensor%zero_grad()` or an optimiser's
`optimizer%zero_grad()` / `torch_optim_zero_grad(optimizer)` (when the optimiser is built in
the same procedure, only for its parameter tensors), with no fresh `get_gradient` in
between, is reported.  The analysis follows the procedure's control flow, including loops:
a read at the top of a loop body reached from a backward at the bottom of the previous
iteration counts.

## Why is this bad?
`torch_tensor_get_gradient` copies the current `.grad` into the holder once.  Later
backward passes accumulate into LibTorch's `.grad` and `zero_grad` zeroes it, but neither
reaches the holder: the Fortran array keeps the old values.  The FTorch documentation says
`get_gradient` "must be called after every call to `torch_tensor_backward` or
`torch_tensor_zero_grad`, even if the gradient for the same tensor is being extracted into
the same array".

## Example
```fortran
call torch_tensor_backward(loss)
call torch_tensor_get_gradient(dlda, a)
call torch_tensor_zero_grad(a)
call torch_tensor_backward(loss2)
print *, dlda_data          ! stale: still the first gradient
```

Use instead:
```fortran
call torch_tensor_backward(loss2)
call torch_tensor_get_gradient(dlda, a)
print *, dlda_data
```
"""

from __future__ import annotations

from . import Rule, flow_of


def _merge(a, b):
    out = dict(a)
    for k, v in b.items():
        if k not in out or (v[0] == "stale" and out[k][0] != "stale"):
            out[k] = v
    return out


class StaleGradient(Rule):
    code = "FT101"
    name = "stale-gradient"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        for g in flow_of(ctx).graphs:
            yield from self._graph(ctx, g)

    def _graph(self, ctx, g):
        from ..flow import deps_table, solve

        holders = {e[1] for n in g.nodes for e in n.events if e[0] == "getgrad"}
        if not holders:
            return
        arrays = {}
        for n in g.nodes:
            for e in n.events:
                if e[0] == "construct" and e[1] in holders and e[3]:
                    arrays.setdefault(e[1], set()).add(e[3])
        deps = deps_table(g)
        opt_params: dict = {}  # optimiser -> parameter tensors (None: not known)
        for n in g.nodes:
            for e in n.events:
                if e[0] == "optparams":
                    known = opt_params.get(e[1], frozenset())
                    opt_params[e[1]] = None if (e[2] is None or known is None) else known | e[2]
        nodes = g.nodes

        def transfer(node, s, report):
            s = dict(s)
            for e in node.events:
                kind = e[0]
                if kind == "read":
                    v = s.get(e[1])
                    if v is not None and v[0] == "stale" and report is not None:
                        report(node, e[1], v)
                elif kind == "write" and e[2]:
                    s.pop(e[1], None)
                elif kind == "construct":
                    s.pop(e[1], None)
                elif kind == "getgrad":
                    for k in {e[1]} | arrays.get(e[1], set()):
                        s[k] = ("fresh", e[2], node.idx, e[1])
                elif kind == "backward":
                    reach = deps.get(e[1])
                    for k, v in list(s.items()):
                        if v[0] == "fresh" and (reach is None or v[1] in reach or v[1] == e[1]):
                            s[k] = ("stale", v[1], v[2], v[3], node.idx, f"torch_tensor_backward({e[1]})")
                elif kind == "zerograd" and e[2] == "tensor":
                    for k, v in list(s.items()):
                        if v[0] == "fresh" and v[1] == e[1]:
                            s[k] = ("stale", v[1], v[2], v[3], node.idx, e[3])
                elif kind == "zerograd" and e[2] == "optim":
                    # an optimiser's zero_grad zeroes the gradients of its parameters: those
                    # given to its constructor in this procedure, or (when it was built
                    # elsewhere) possibly any tensor
                    params = opt_params.get(e[4], None)
                    for k, v in list(s.items()):
                        if v[0] == "fresh" and (params is None or v[1] in params):
                            s[k] = ("stale", v[1], v[2], v[3], node.idx, e[3])
            return s

        inn = solve(g, lambda n, s, r: transfer(n, s, r), _merge, {})
        seen = set()
        found = []

        def report(node, key, v):
            if (node.idx, key) in seen:
                return
            seen.add((node.idx, key))
            found.append((node, key, v))

        for n in nodes:
            if inn[n.idx] is not None:
                transfer(n, inn[n.idx], report)
        for node, key, v in found:
            _, tensor, gg_idx, holder, cause_idx, cause = v
            gg_line = ctx.span_of(nodes[gg_idx].stmt)[0]
            cause_line = ctx.span_of(nodes[cause_idx].stmt)[0]
            what = f"`{key}`" + (f" (the data of gradient holder `{holder}`)" if key != holder else "")
            msg = (
                f"{what} is read after `{cause}` at line {cause_line} changed the gradient of `{tensor}` "
                f"fetched at line {gg_line}; call `torch_tensor_get_gradient({holder}, {tensor})` again "
                f"before reading it"
            )
            yield ctx.diag_node(self, msg, node.stmt)


RULE = StaleGradient()
