"""FT108 `temporary-used-twice`: an operator temporary passed to your own procedure that uses it twice.

## What it does
Reports a call `call f(a * b)` (or a function reference `f(a * b)`) where the actual
argument is a tensor operator expression, `f` is a procedure defined in the same file, and
`f` uses the corresponding dummy argument again after a first use: in two statements on
one path through `f`, or in a statement inside a loop.  A use is an operand of an
operator, the right-hand side of an assignment, an argument of an ftorch procedure or a
type-bound call on it (`x%get_shape()`); passing it on to another procedure of yours is
not counted.  Uses in the two branches of an `if` are one use.

## Why is this bad?
Operator results are expression temporaries, and the first operator, assignment or ftorch
call that receives one consumes it (that is what keeps `c = a*b + a/b` in a time loop from
allocating a lasting handle on every compiler).  Inside `f` the dummy argument is that
temporary: its first use frees it, and the second use meets a released handle and fails
with an error.

## Example
```fortran
call step(a * b)
...
subroutine step(x)
  type(torch_tensor), intent(in) :: x
  y = x + c
  z = x * d      ! x was consumed by the line above
end subroutine
```

Use instead:
```fortran
t = a * b
call step(t)
```
"""

from __future__ import annotations

from . import Rule, flow_of


def _is_temporary(model, scope, e) -> bool:
    from fparser.two import Fortran2003 as F03

    from ..model import TENSOR

    inner = e
    while isinstance(inner, F03.Parenthesis):
        inner = inner.items[1]
    ops = (F03.Level_2_Expr, F03.Add_Operand, F03.Mult_Operand, F03.Level_2_Unary_Expr)
    return isinstance(inner, ops) and model.type_of(inner, scope) == TENSOR


def _callee(model, scope, name):
    """The procedure scope ``name`` denotes at ``scope`` when it is defined in this file."""
    name = name.lower()
    for s in scope.chain():
        if name in s.vars and s.kind not in ("module", "submodule"):
            v = s.vars[name]
            if v.category != "other" or v.dummy:
                return None
        for c in s.children:
            if c.name and c.name.lower() == name and c.kind in ("subroutine", "function") and not c.interface_body:
                return c
        if any(name in u.names for u in s.uses):
            return None
    tops = [
        c
        for c in model.scopes
        if c.parent is None and c.name and c.name.lower() == name and c.kind in ("subroutine", "function")
    ]
    return tops[0] if len(tops) == 1 else None


def _dummies(callee) -> list:
    from fparser.two import Fortran2003 as F03

    from ..model import children

    head = callee.node.content[0] if getattr(callee.node, "content", None) else None
    if not isinstance(head, (F03.Subroutine_Stmt, F03.Function_Stmt)):
        return []
    return [str(a).lower() for a in children(head.items[2])]


def _uses(stmt, dummy) -> int:
    """How many consuming uses of ``dummy`` the statement (or condition) ``stmt`` makes."""
    from fparser.two import Fortran2003 as F03

    from .. import ftorch_api as api
    from ..model import iter_nodes

    if isinstance(stmt, (F03.Subroutine_Stmt, F03.Function_Stmt, F03.End_Subroutine_Stmt, F03.End_Function_Stmt)):
        return 0
    part = stmt
    if isinstance(stmt, (F03.If_Stmt, F03.If_Then_Stmt, F03.Else_If_Stmt, F03.Where_Stmt)):
        part = stmt.items[0]
    n = 0
    for node in iter_nodes(part):
        if not isinstance(node, F03.Name) or str(node).lower() != dummy:
            continue
        parent = getattr(node, "parent", None)
        if isinstance(parent, F03.Assignment_Stmt) and parent.items[0] is node:
            continue  # a write, not a use
        if isinstance(parent, F03.Procedure_Designator) and parent.items[0] is node:
            n += 1  # x%get_shape(), call x%zero_grad(): a library call on the temporary
            continue
        # an argument of a call: only ftorch procedures consume
        call = parent
        while (
            call is not None
            and not isinstance(call, (F03.Call_Stmt, F03.Part_Ref, F03.Function_Reference, F03.Structure_Constructor))
            and not isinstance(
                call, (F03.Level_2_Expr, F03.Add_Operand, F03.Mult_Operand, F03.Level_2_Unary_Expr, F03.Assignment_Stmt)
            )
        ):
            call = getattr(call, "parent", None)
        if isinstance(call, F03.Call_Stmt):
            d = call.items[0]
            if not isinstance(d, F03.Procedure_Designator) and str(d).lower() in api.CANONICAL:
                n += 1
            continue
        if isinstance(call, (F03.Part_Ref, F03.Function_Reference, F03.Structure_Constructor)):
            continue  # an argument of a function of unknown kind
        n += 1
    return n


class TemporaryUsedTwice(Rule):
    code = "FT108"
    name = "temporary-used-twice"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        from fparser.two import Fortran2003 as F03

        from ..flow import call_parts
        from ..model import children, iter_nodes

        m = ctx.model
        graphs = {id(g.scope): g for g in flow_of(ctx).graphs}
        verdict: dict = {}
        for node in iter_nodes(m.tree):
            if isinstance(node, F03.Call_Stmt) and isinstance(node.items[0], F03.Name):
                name = str(node.items[0])
                _n, _o, _m, pos, kw = call_parts(node)
            elif isinstance(node, (F03.Part_Ref, F03.Function_Reference, F03.Structure_Constructor)) and isinstance(
                node.items[0], F03.Name
            ):
                name = str(node.items[0])
                args = children(node.items[1]) if len(node.items) > 1 else []
                pos = [a for a in args if not isinstance(a, (F03.Actual_Arg_Spec, F03.Component_Spec))]
                kw = {
                    str(a.items[0]).lower(): a.items[1]
                    for a in args
                    if isinstance(a, (F03.Actual_Arg_Spec, F03.Component_Spec))
                }
            else:
                continue
            scope = m.scope_of(node)
            if scope is None:
                continue
            temps = [(i, a) for i, a in enumerate(pos) if _is_temporary(m, scope, a)]
            temps += [(k, a) for k, a in kw.items() if _is_temporary(m, scope, a)]
            if not temps:
                continue
            callee = _callee(m, scope, name)
            if callee is None or id(callee) not in graphs:
                continue
            dummies = _dummies(callee)
            for which, actual in temps:
                dummy = dummies[which] if isinstance(which, int) and which < len(dummies) else which
                if not isinstance(dummy, str) or dummy not in dummies:
                    continue
                key = (id(callee), dummy)
                if key not in verdict:
                    verdict[key] = self._second_use(ctx, graphs[id(callee)], dummy)
                second = verdict[key]
                if second is None:
                    continue
                line = ctx.span_of(second)[0]
                text = " ".join(actual.tofortran().split()) if hasattr(actual, "tofortran") else str(actual)
                msg = (
                    f"the expression temporary `{text}` is passed to `{callee.name}`, which uses its dummy "
                    f"argument `{dummy}` again at line {line} after a first use consumed it; assign the "
                    f"expression to a tensor variable and pass that"
                )
                yield ctx.diag_node(self, msg, node)

    def _second_use(self, ctx, g, dummy):
        """The statement of a second use of ``dummy`` on some path through ``g``, or None."""
        from ..flow import solve

        uses = {n.idx: min(_uses(n.stmt, dummy), 1) for n in g.nodes}
        found = []

        def transfer(node, consumed, report):
            u = uses.get(node.idx, 0)
            if u and consumed and report is not None:
                report(node)
            return consumed or bool(u)

        inn = solve(g, lambda n, s, r: transfer(n, s, r), lambda a, b: a or b, False)
        for n in g.nodes:
            if inn[n.idx] is not None:
                transfer(n, inn[n.idx], found.append)
        return found[0].stmt if found else None


RULE = TemporaryUsedTwice()
