"""FT106 `from-array-on-temporary`: `torch_tensor_from_array` on an expression instead of a variable.

## What it does
Reports `call torch_tensor_from_array(tensor, data, ...)` (also with `data_in=`) when the
data argument is not a variable: an array constructor (`[3.0_wp]`, `(/ 1.0, 2.0 /)`), a
literal, an arithmetic or other expression (`x * 2.0`, `-x`), a parenthesised expression
(`(x)`), or the result of a function: an intrinsic such as `reshape`, `spread` or `real`,
or a function declared in the visible code whose result is not a pointer.  Variables, array
elements and sections (`x(:, 1)`), components (`s%x`) and pointer arrays are fine.  fparser
cannot tell `f(a)` from an array element, so a name that is not declared in the file as a
function (or is not an intrinsic) is assumed to be an array.

## Why is this bad?
`torch_tensor_from_array` does not copy: the tensor views the memory of its data argument.
When that argument is an expression, the compiler evaluates it into a temporary that is
freed (or lives in read-only memory) once the call returns, so the tensor points at dead
memory.  Reading it later gives garbage (Inf values were seen with flang 19), and writing
to it, e.g. through `assignment(=)` or an optimiser step, can crash.  FTorch's own
documentation builds a one-element multiplier this way
(`torch_tensor_from_array(multiplier, [3.0_wp], [1], torch_kCPU)`), which has this problem.
With pyftorch, a scalar factor needs no tensor at all: write `3.0_wp * a`.

## Example
```fortran
call torch_tensor_from_array(multiplier, [3.0_wp], [1], torch_kCPU)
q = multiplier * a
```

Use instead:
```fortran
real(wp), target :: multiplier_data(1) = [3.0_wp]
call torch_tensor_from_array(multiplier, multiplier_data, [1], torch_kCPU)
q = multiplier * a
```
"""

from __future__ import annotations

from . import Rule
from ._from_array import attrs_of, check_data_arguments, in_stmt


def _pointer_result(fscope, res) -> bool:
    from fparser.two import Fortran2003 as F03

    v = fscope.vars.get(res)
    if v is not None and "POINTER" in attrs_of(v.node):
        return True
    return in_stmt(fscope, res, (F03.Pointer_Stmt,))


def _resolve(scope, name):
    """What ``name`` is in ``scope``: "function" (declared, non-pointer result), "variable",
    "use" (named in another module's only-list, or an ftorch name), "wildcard" (undeclared, but
    a ``use`` without ``only`` of another module may provide it) or None (undeclared)."""
    from fparser.two import Fortran2003 as F03

    wildcard = False
    for s in scope.chain():
        v = s.vars.get(name)
        if v is not None:
            if s.kind == "function" and getattr(s, "result_name", None) == name:
                return "variable"
            attrs = attrs_of(v.node)
            external = "EXTERNAL" in attrs or in_stmt(s, name, (F03.External_Stmt,))
            if external and "POINTER" not in attrs and not in_stmt(s, name, (F03.Pointer_Stmt,)):
                return "function"
            return "variable"
        if name in s.funcs:
            fs, res = s.funcs[name]
            return "variable" if _pointer_result(fs, res) else "function"
        for c in s.children:
            if c.interface_body and c.name and c.name.lower() == name and isinstance(c.node, F03.Function_Body):
                res = getattr(c, "result_name", name)
                return "variable" if _pointer_result(c, res) else "function"
        for u in s.uses:
            if name in u.names:
                return "use"
            if u.wildcard and not u.ftorch:
                wildcard = True
    return "wildcard" if wildcard else None


def _intrinsic_names():
    from fparser.two.Fortran2003 import Intrinsic_Name

    return {n.lower() for n in Intrinsic_Name.function_names}


def temporary_kind(scope, e) -> str | None:
    """A description of the temporary that the actual argument ``e`` evaluates to, or None when
    it is (or may be) a variable."""
    from fparser.two import Fortran2003 as F03

    from ..model import LITERALS, OP_CLASSES

    if isinstance(e, F03.Array_Constructor):
        return "an array constructor"
    if isinstance(e, LITERALS):
        return "a literal"
    if isinstance(e, F03.Parenthesis):
        return "a parenthesised expression"
    if isinstance(e, OP_CLASSES):
        return "an expression"
    if isinstance(e, F03.Intrinsic_Function_Reference):
        name = str(e.items[0]).lower()
        if name == "null":
            return None
        what = _resolve(scope, name)
        if what in ("variable", "use"):
            return None
        return f"the result of {'function' if what == 'function' else 'intrinsic'} `{name}`"
    if isinstance(e, (F03.Part_Ref, F03.Structure_Constructor, F03.Function_Reference)):
        head = e.items[0]
        if not isinstance(head, (F03.Name, F03.Type_Name)):
            return None
        name = str(head).lower()
        what = _resolve(scope, name)
        if what == "function":
            return f"the result of function `{name}`"
        if what is None and name in _intrinsic_names():
            return f"the result of intrinsic `{name}`"
    return None


class FromArrayOnTemporary(Rule):
    code = "FT106"
    name = "from-array-on-temporary"
    severity = "error"

    def check(self, ctx):
        yield from check_data_arguments(
            self,
            ctx,
            lambda _model, scope, data: temporary_kind(scope, data),
            lambda call, kind: (
                f"`{call}` views a temporary ({kind}) that is freed after the call; store the values "
                f"in an array variable with the `target` attribute and pass that"
            ),
        )


RULE = FromArrayOnTemporary()
