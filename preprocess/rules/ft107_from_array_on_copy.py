"""FT107 `from-array-on-copy`: `torch_tensor_from_array` on an argument the compiler copies.

## What it does
Reports `call torch_tensor_from_array(tensor, data, ...)` (also with `data_in=`) when
`data` is a variable reference that the compiler cannot pass in place, so it passes a copy
in a temporary:

* an array section with a vector subscript: `x(idx)` where `idx` is an integer array,
  `x([1, 3])`, `x(idx(1:2), :)`;
* a named constant: a `parameter` array or an element or section of one.

Expressions, array constructors, literals and function results are FT106's; this rule
covers the variable-like forms that look harmless.  A name whose type or attributes are not
visible in the file (for example one that comes from another module) is not reported.

## Why is this bad?
`torch_tensor_from_array` does not copy: the tensor views the memory of its data argument.
A vector-subscripted section is not a contiguous piece of `x`, so the compiler gathers the
elements into a temporary, passes that, and frees it when the call returns (copying it back
into `x` only for an `intent(inout)` dummy, which `data_in` is not).  The tensor then views
freed memory: every write through it is lost and reads give garbage (under valgrind, one
short program made 200,000 invalid writes).  A named constant lives in read-only memory, or
is copied to a temporary: a write through the tensor (`assignment(=)`, an optimiser step)
segfaults.

## Example
```fortran
integer :: idx(2) = [1, 3]
real, parameter :: w0(2) = [0.5, 0.25]
call torch_tensor_from_array(t, x(idx), torch_kCPU)
call torch_tensor_from_array(w, w0, torch_kCPU)
```

Use instead:
```fortran
real, target :: x_sel(2), w0_data(2) = [0.5, 0.25]
x_sel = x(idx)
call torch_tensor_from_array(t, x_sel, torch_kCPU)
call torch_tensor_from_array(w, w0_data, torch_kCPU)
```
"""

from __future__ import annotations

from . import Rule
from ._from_array import attrs_of, check_data_arguments, in_stmt


def _is_parameter(scope, name) -> bool:
    from fparser.two import Fortran2003 as F03

    for s in scope.chain():
        v = s.vars.get(name)
        if v is not None:
            return "PARAMETER" in attrs_of(v.node) or in_stmt(s, name, (F03.Parameter_Stmt,))
        if any(name in u.names or (u.wildcard and not u.ftorch) for u in s.uses):
            return False  # from another module: cannot tell
    return False


def _is_array_valued(model, scope, e) -> bool:
    """Is the subscript ``e`` array-valued (a vector subscript)?"""
    from fparser.two import Fortran2003 as F03

    from ..model import children

    if isinstance(e, F03.Array_Constructor):
        return True
    if isinstance(e, F03.Name):
        v = model.lookup_var(scope, str(e))
        return v is not None and v.rank > 0 and v.category in ("integer",)
    if isinstance(e, F03.Part_Ref) and isinstance(e.items[0], F03.Name):
        v = model.lookup_var(scope, str(e.items[0]))
        if v is None or v.rank == 0 or v.category != "integer":
            return False
        return any(
            isinstance(s, F03.Subscript_Triplet) or _is_array_valued(model, scope, s) for s in children(e.items[1])
        )
    if isinstance(e, F03.Parenthesis):
        return _is_array_valued(model, scope, e.items[1])
    return False


def copy_kind(model, scope, e) -> str | None:
    """Why the actual argument ``e`` is passed as a copy, or None."""
    from fparser.two import Fortran2003 as F03

    from ..model import children

    part, base = None, None
    if isinstance(e, F03.Name):
        base = str(e).lower()
    elif isinstance(e, F03.Part_Ref) and isinstance(e.items[0], F03.Name):
        part, base = e, str(e.items[0]).lower()
    elif isinstance(e, F03.Data_Ref) and isinstance(e.items[-1], F03.Part_Ref):
        part = e.items[-1]
    if base is not None and _is_parameter(scope, base):
        return f"the named constant `{base}`"
    if part is not None:
        v = model.lookup_var(scope, base) if base else None
        if base is not None and (v is None or v.rank == 0 or v.category in ("other", "ftorch")):
            return None  # a function call, a scalar or something unknown
        if any(_is_array_valued(model, scope, s) for s in children(part.items[1])):
            return "an array section with a vector subscript"
    return None


class FromArrayOnCopy(Rule):
    code = "FT107"
    name = "from-array-on-copy"
    severity = "error"

    def check(self, ctx):
        yield from check_data_arguments(
            self,
            ctx,
            copy_kind,
            lambda call, kind: (
                f"`{call}`: the data argument is {kind}, which the compiler passes as a temporary "
                f"copy, so the tensor views memory that is freed (or read-only) after the call; copy "
                f"the values into an array variable with the `target` attribute and pass that"
            ),
        )


RULE = FromArrayOnCopy()
