"""FT102 `backward-without-retain-graph`: a second backward through an already freed graph.

## What it does
Reports a `torch_tensor_backward` whose graph was already used by an earlier
`torch_tensor_backward` called without `retain_graph=.true.`, with no re-evaluation of the
expressions in between.  Two calls reach the same graph when they start from the same
output tensor, or from outputs that share an intermediate tensor computed once (for example
`c = a * b`, then `q = c + a` and `p = c * b`).  Recomputing the expressions (as a training
loop does each iteration) builds a fresh graph and is fine.  Only operations that save
tensors for backward count: `*`, `/`, `**`, losses, `torch_model_forward` and functions of
unknown kind.  A graph made only of copies, `+`, `-`, `torch_tensor_sum`/`mean` and
`torch_tensor_to` (for example `q = a` with `a` a leaf) can be run through again, in PyTorch
and in pyftorch, and is not reported.

## Why is this bad?
By default backward frees the graph's saved tensors as it goes.  A second backward through
any part of it fails at run time in LibTorch ("Trying to backward through the graph a
second time"), and FTorch turns that error into a process exit.

## Example
```fortran
q = a * b
call torch_tensor_backward(q)
call torch_tensor_backward(q)
```

Use instead:
```fortran
q = a * b
call torch_tensor_backward(q, retain_graph=.true.)
call torch_tensor_backward(q)
```
"""

from __future__ import annotations

from . import Rule, backward_findings, earlier_backward


def _transfer(node, s, report):
    graphs, freed = dict(s[0]), dict(s[1])
    for e in node.events:
        if e[0] in ("assign", "derive"):
            # only a node that saves tensors can be freed by a backward (a graph of
            # additions or plain copies can be run through any number of times)
            saves = e[3] if e[0] == "assign" else e[4]
            new = {node.idx} if saves else set()
            for src in e[2]:
                new |= graphs.get(src, frozenset())
            graphs[e[1]] = frozenset(new)
            freed.pop(node.idx, None)
        elif e[0] == "construct":
            graphs[e[1]] = frozenset()
        elif e[0] == "backward":
            gr = graphs.get(e[1], frozenset({"ext:" + e[1]}))
            hit = [d for d in gr if d in freed]
            if hit and report is not None:
                report(node, e[1], freed[hit[0]])
            if e[2] is False:
                for d in gr:
                    freed[d] = node.idx
    return (graphs, freed)


class BackwardWithoutRetainGraph(Rule):
    code = "FT102"
    name = "backward-without-retain-graph"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        for g, node, t, first in backward_findings(ctx, _transfer):
            where = earlier_backward(ctx, g, first, node)
            msg = (
                f"`torch_tensor_backward({t})` goes through a graph already freed by {where}; pass `retain_graph=.true.` to that earlier call, or recompute `{t}` before "
                f"this backward"
            )
            yield ctx.diag_node(self, msg, node.stmt)


RULE = BackwardWithoutRetainGraph()
