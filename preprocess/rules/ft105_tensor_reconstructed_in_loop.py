"""FT105 `tensor-reconstructed-in-loop`: a tensor constructed again in a loop without delete.

## What it does
Reports `torch_tensor_from_array`, `torch_tensor_from_blob`, `torch_tensor_empty`,
`torch_tensor_zeros` or `torch_tensor_ones` inside a loop when the loop body (the innermost
loop containing the call) has no `torch_delete`/`torch_tensor_delete` of the same tensor.
An element of a tensor array indexed by a loop variable (`t(i)` in `do i = ...`) is a
different tensor on each iteration and is not reported.

## Why is this bad?
Constructing into a tensor that already holds a LibTorch tensor overwrites the handle.
Whether the old tensor is freed depends on the compiler finalising `intent(out)` arguments
(gfortran 12 and older do not), so each iteration can leak the tensor and its autograd
graph (FTorch issue #540).

## Example
```fortran
do step = 1, nsteps
  call torch_tensor_from_array(loss, loss_data, torch_kCPU)
  ...
end do
```

Use instead:
```fortran
do step = 1, nsteps
  call torch_tensor_from_array(loss, loss_data, torch_kCPU)
  ...
  call torch_delete(loss)
end do
```
"""

from __future__ import annotations

from . import Rule, flow_of


class TensorReconstructedInLoop(Rule):
    code = "FT105"
    name = "tensor-reconstructed-in-loop"
    severity = "warning"

    def check(self, ctx):
        if ctx.model is None:
            return
        for g in flow_of(ctx).graphs:
            for n in g.nodes:
                if not n.loops:
                    continue
                for e in n.events:
                    if e[0] != "construct":
                        continue
                    loop = n.loops[-1]
                    if _element_of_loop(n.stmt, n.loops[-1:]):
                        continue
                    deleted = any(
                        ev[0] == "delete" and ev[1] == e[1]
                        for other in g.nodes
                        if loop in other.loops
                        for ev in other.events
                    )
                    if deleted:
                        continue
                    loop_line = ctx.span_of(loop.content[0])[0]
                    msg = (
                        f"`{e[4]}` re-constructs `{e[1]}` on every iteration of the loop at line {loop_line} "
                        f"without deleting it, which can leak the previous tensor (FTorch #540); add "
                        f"`call torch_delete({e[1]})` in the loop body once `{e[1]}` is no longer needed"
                    )
                    yield ctx.diag_node(self, msg, n.stmt)


def _loop_vars(loops) -> set:
    from fparser.two import Fortran2003 as F03

    from ..model import iter_nodes

    out = set()
    for loop in loops:
        head = loop.content[0] if getattr(loop, "content", None) else None
        for c in iter_nodes(head):
            if isinstance(c, F03.Loop_Control):
                var = c.items[1]
                if isinstance(var, (tuple, list)) and var:
                    out.add(str(var[0]).lower())
            elif isinstance(c, F03.Forall_Triplet_Spec):  # do concurrent (i = 1:n)
                out.add(str(c.items[0]).lower())
    return out


def _element_of_loop(call, loops) -> bool:
    """Is the constructed tensor an array element indexed by a loop variable
    of the innermost loop (``torch_tensor_from_array(t(i), ...)`` in ``do i``): a different tensor
    on each iteration?"""
    from fparser.two import Fortran2003 as F03

    from ..flow import arg, call_parts
    from ..model import iter_nodes

    try:
        _name, _obj, _m, pos, kw = call_parts(call)
    except (IndexError, AttributeError, TypeError):
        return False
    t = arg(pos, kw, 0, "tensor")
    if not isinstance(t, F03.Part_Ref):
        return False
    subs = {str(x).lower() for x in iter_nodes(t.items[1]) if isinstance(x, F03.Name)}
    return bool(subs & _loop_vars(loops))


RULE = TensorReconstructedInLoop()
