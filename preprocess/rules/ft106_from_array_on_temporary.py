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

_FROM_ARRAY = "torch_tensor_from_array"
_MAX_TEXT = 40


def _attrs_of(decl):
    """Upper-case attribute words of a type declaration statement."""
    from fparser.two import Fortran2003 as F03

    from ..model import iter_nodes

    if not isinstance(decl, F03.Type_Declaration_Stmt) or decl.items[1] is None:
        return set()
    return {
        str(a).split("(")[0].strip().upper()
        for a in iter_nodes(decl.items[1])
        if isinstance(a, (F03.Attr_Spec, F03.Dimension_Attr_Spec, F03.Intent_Attr_Spec))
    }


def _in_stmt(scope, name, classes) -> bool:
    """Is ``name`` listed in a statement of ``classes`` (e.g. ``external :: f``) of ``scope``?"""
    from fparser.two import Fortran2003 as F03

    from ..model import SCOPE_CLASSES, iter_nodes

    for n in iter_nodes(scope.node, stop=lambda x: isinstance(x, SCOPE_CLASSES)):
        if isinstance(n, classes):
            if any(isinstance(x, F03.Name) and str(x).lower() == name for x in iter_nodes(n)):
                return True
    return False


def _pointer_result(fscope, res) -> bool:
    from fparser.two import Fortran2003 as F03

    v = fscope.vars.get(res)
    if v is not None and "POINTER" in _attrs_of(v.node):
        return True
    return _in_stmt(fscope, res, (F03.Pointer_Stmt,))


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
            attrs = _attrs_of(v.node)
            external = "EXTERNAL" in attrs or _in_stmt(s, name, (F03.External_Stmt,))
            if external and "POINTER" not in attrs and not _in_stmt(s, name, (F03.Pointer_Stmt,)):
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


def is_from_array(m, scope, local) -> bool:
    """Does the procedure name ``local`` denote ftorch's ``torch_tensor_from_array`` here?"""
    from ..usage import name_provider

    p = name_provider(m, scope, local)
    if p is not None:
        return p.names.get(local, local) == _FROM_ARRAY
    return local == _FROM_ARRAY and not any(local in s.vars or local in s.funcs for s in scope.chain())


def arg_tokens(st, local, nargs):
    """(first, last) token of each actual argument of ``call local(...)`` in the lexed
    statement ``st`` (possibly an ``if (...) call``), or None."""
    if st is None:
        return None
    toks = st.tokens
    start = next(
        (
            k + 2
            for k in range(len(toks) - 2)
            if toks[k].low == "call" and toks[k + 1].low == local and toks[k + 2].text == "("
        ),
        None,
    )
    if start is None:
        return None
    out, depth, first, prev = [], 0, None, None
    for t in toks[start:]:
        if t.text in ("(", "[", "(/"):
            depth += 1
            if depth == 1:
                continue
        elif t.text in (")", "]", "/)"):
            depth -= 1
            if depth == 0:
                break
        elif t.text == "," and depth == 1:
            out.append((first, prev))
            first = None
            continue
        if first is None:
            first = t
        prev = t
    if first is not None:
        out.append((first, prev))
    return out if len(out) == nargs and all(a[0] is not None for a in out) else None


def _text(src, rng, node) -> str:
    if rng is not None and rng[0].line == rng[1].end_line:
        text = src.lines[rng[0].line - 1][rng[0].col : rng[1].end_col]
    else:
        text = node.tofortran() if hasattr(node, "tofortran") else str(node)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 4] + " ..."


class FromArrayOnTemporary(Rule):
    code = "FT106"
    name = "from-array-on-temporary"
    severity = "error"

    def check(self, ctx):
        if ctx.model is None:
            return
        from fparser.two import Fortran2003 as F03

        from ..flow import arg, call_parts
        from ..model import children, iter_nodes

        m = ctx.model
        # local names that may denote torch_tensor_from_array (renames included)
        candidates = {_FROM_ARRAY} | {
            local for s in m.scopes for u in s.uses for local, used in u.names.items() if used == _FROM_ARRAY
        }
        stop = (F03.Call_Stmt, F03.Assignment_Stmt, F03.Type_Declaration_Stmt, F03.Use_Stmt)
        for call in iter_nodes(m.tree, stop=lambda n: isinstance(n, stop)):
            if not isinstance(call, F03.Call_Stmt) or not isinstance(call.items[0], F03.Name):
                continue
            local = str(call.items[0]).lower()
            if local not in candidates:
                continue
            scope = m.scope_of(call)
            if scope is None or not is_from_array(m, scope, local):
                continue
            _name, _obj, _meth, pos, kw = call_parts(call)
            data = arg(pos, kw, 1, "data_in", "data")
            if data is None:
                continue
            kind = temporary_kind(scope, data)
            if kind is None:
                continue
            args = children(call.items[1]) if len(call.items) > 1 else []
            src, st = ctx.lexed(call)
            rngs = arg_tokens(st, local, len(args))
            tensor = arg(pos, kw, 0, "tensor")

            def actual(value):
                i = next(
                    (
                        k
                        for k, a in enumerate(args)
                        if a is value or (isinstance(a, F03.Actual_Arg_Spec) and a.items[1] is value)
                    ),
                    None,
                )
                if i is None:
                    return None, value
                return (rngs[i] if rngs else None), args[i]

            d_rng, d_node = actual(data)
            t_text = _text(src, *actual(tensor)) if tensor is not None else "tensor"
            d_text = _text(src, d_rng, d_node)
            msg = (
                f"`{call.items[0]!s}({t_text}, {d_text}, ...)` views a temporary ({kind}) that is "
                f"freed after the call; store the values in an array variable with the `target` "
                f"attribute and pass that"
            )
            if d_rng is None:
                yield ctx.diag_node(self, msg, call)
            else:
                yield ctx.diag_tokens(self, msg, src, d_rng[0], d_rng[1], node=call)


RULE = FromArrayOnTemporary()
