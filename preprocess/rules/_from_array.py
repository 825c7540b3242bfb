"""What FT106 and FT107 share: finding the `torch_tensor_from_array` calls of a file, the
declaration facts both rules ask about its data argument, and the diagnostic that quotes the
call.  The two rules differ only in which data arguments they report and in the message."""

from __future__ import annotations

FROM_ARRAY = "torch_tensor_from_array"
_MAX_TEXT = 40


def attrs_of(decl):
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


def in_stmt(scope, name, classes) -> bool:
    """Is ``name`` listed in a statement of ``classes`` (e.g. ``external :: f``) of ``scope``?"""
    from fparser.two import Fortran2003 as F03

    from ..model import SCOPE_CLASSES, iter_nodes

    for n in iter_nodes(scope.node, stop=lambda x: isinstance(x, SCOPE_CLASSES)):
        if isinstance(n, classes):
            if any(isinstance(x, F03.Name) and str(x).lower() == name for x in iter_nodes(n)):
                return True
    return False


def is_from_array(m, scope, local) -> bool:
    """Does the procedure name ``local`` denote ftorch's ``torch_tensor_from_array`` here?"""
    from ..usage import name_provider

    p = name_provider(m, scope, local)
    if p is not None:
        return p.names.get(local, local) == FROM_ARRAY
    return local == FROM_ARRAY and not any(local in s.vars or local in s.funcs for s in scope.chain())


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


def check_data_arguments(rule, ctx, kind_of, message):
    """Diagnostics of ``rule`` for the ``torch_tensor_from_array`` calls (renames included)
    whose data argument ``kind_of(model, scope, data)`` describes (a non-None string).
    ``message(call, kind)`` words the diagnostic; ``call`` is the call as written, shortened
    (``name(tensor, data, ...)``).  The diagnostic marks the data argument when its tokens are
    found, else the whole call."""
    if ctx.model is None:
        return
    from fparser.two import Fortran2003 as F03

    from ..flow import arg, call_parts
    from ..model import children, iter_nodes

    m = ctx.model
    # local names that may denote torch_tensor_from_array (renames included)
    candidates = {FROM_ARRAY} | {
        local for s in m.scopes for u in s.uses for local, used in u.names.items() if used == FROM_ARRAY
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
        kind = kind_of(m, scope, data)
        if kind is None:
            continue
        args = children(call.items[1]) if len(call.items) > 1 else []
        src, st = ctx.lexed(call)
        rngs = arg_tokens(st, local, len(args))
        tensor = arg(pos, kw, 0, "tensor")

        def actual(value, args=args, rngs=rngs):
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
        msg = message(f"{call.items[0]!s}({t_text}, {d_text}, ...)", kind)
        if d_rng is None:
            yield ctx.diag_node(rule, msg, call)
        else:
            yield ctx.diag_tokens(rule, msg, src, d_rng[0], d_rng[1], node=call)
