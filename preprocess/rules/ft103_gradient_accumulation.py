"""FT103 `gradient-accumulation`: two backward passes into the same leaf without zero_grad.

## What it does
Reports a `torch_tensor_backward` that accumulates into a leaf tensor (one constructed with
`requires_grad=.true.`, or a model's parameters when `torch_model_forward` ran with
`requires_grad=.true.`) that an earlier backward already filled, with no
`torch_tensor_zero_grad(leaf)`, `leaf%zero_grad()` or optimiser `zero_grad` (type-bound
`optimizer%zero_grad()` or procedural `torch_optim_zero_grad(optimizer)`) in between.  A
loss computed from an expression argument (`torch_tensor_mean(loss, (out - tgt)**2)`)
depends on the tensors that expression reads.
Loops are followed: a training loop without a `zero_grad` is reported.  Severity: warning,
because accumulation is sometimes intended (gradient accumulation over micro-batches).

## Why is this bad?
Gradients accumulate: LibTorch adds each backward pass into `.grad`.  Without zeroing, the
second gradient is the sum of both, and an optimiser step then uses the wrong value.

## Example
```fortran
call torch_tensor_backward(q)
call torch_tensor_backward(p)   ! a%grad now holds dq/da + dp/da
```

Use instead:
```fortran
call torch_tensor_backward(q)
call torch_tensor_zero_grad(a)
call torch_tensor_backward(p)
```
"""

from __future__ import annotations

from . import Rule, backward_findings, earlier_backward


def _transfer(node, s, report):
    leaves, acc = dict(s[0]), dict(s[1])
    for e in node.events:
        if e[0] == "construct":
            leaves[e[1]] = frozenset({e[1]}) if e[2] is True else frozenset()
            acc.pop(e[1], None)
        elif e[0] in ("assign", "derive"):
            new = set()
            for src in e[2]:
                new |= leaves.get(src, frozenset())
            if e[0] == "derive" and e[3]:
                new.add(e[3])
            leaves[e[1]] = frozenset(new)
        elif e[0] == "backward":
            ls = leaves.get(e[1], frozenset())
            hits = sorted(leaf for leaf in ls if leaf in acc)
            if hits and report is not None:
                report(node, e[1], hits, acc[hits[0]])
            for leaf in ls:
                acc[leaf] = node.idx
        elif e[0] == "zerograd":
            if e[2] == "tensor":
                acc.pop(e[1], None)
            else:
                acc.clear()
    return (leaves, acc)


class GradientAccumulation(Rule):
    code = "FT103"
    name = "gradient-accumulation"
    severity = "warning"

    def check(self, ctx):
        if ctx.model is None:
            return
        for g, node, t, hits, first in backward_findings(ctx, _transfer):
            names = ", ".join(f"`{h[6:]}` parameters" if h.startswith("model:") else f"`{h}`" for h in hits)
            zero = (
                "the optimiser's `zero_grad`"
                if any(h.startswith("model:") for h in hits)
                else " and ".join(f"`torch_tensor_zero_grad({h})`" for h in hits)
            )
            where = earlier_backward(ctx, g, first, node)
            msg = (
                f"`torch_tensor_backward({t})` accumulates into the gradient of {names} already filled by "
                f"{where}; call {zero} in between if accumulation is not intended"
            )
            yield ctx.diag_node(self, msg, node.stmt)


RULE = GradientAccumulation()
