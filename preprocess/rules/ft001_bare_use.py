"""FT001 `bare-use`: `use ftorch` without an `only:` list.

## What it does
Reports a `use ftorch` (or one of FTorch's internal modules such as `ftorch_tensor`) that
has no `only:` list.  A list of renames alone (`use ftorch, tt => torch_tensor_from_array`)
counts as bare.  The message names the exact `only:` list the scope needs: the FTorch names
and the `operator(..)`/`assignment(=)` specifications used in the scope and in the scopes
it contains.

## Why is this bad?
FTorch's documentation recommends importing exactly the operators you use.  A bare `use`
hides which overloaded operators a scope depends on, so deleting or moving code silently
changes what `=` means for a `torch_tensor` (see FT002), and every FTorch name leaks into
the scope.  fortitude's C121 (`use-all`) reports the same construct for every module; this
rule computes the list for you.

## Example
```fortran
subroutine step(a, b)
  use ftorch
  type(torch_tensor) :: a, b
  a = a * b
end subroutine
```

Use instead:
```fortran
subroutine step(a, b)
  use ftorch, only: assignment(=), operator(*), torch_tensor
  type(torch_tensor) :: a, b
  a = a * b
end subroutine
```

## Fix
Fixable: `--fix` rewrites the statement with the computed `only:` list (wrapped with
continuation lines as needed, in free or fixed form).  The list is conservative: besides
the names the ftorch API table knows, every other name the scope references that nothing
else explains (not declared in the scope or its hosts, not defined in the file, not an
intrinsic, not given by another `use`) stays in the suggested list, since code written for
another FTorch version (`torch_module_load`) relies on names this ftorch lacks.  A fix must
never turn a compiling file into one that does not compile, so no fix is offered when such
names exist (they may be external procedures), when the module containing the `use`
re-exports ftorch names (no `private` default; narrowing the import would change what other
files see), or when the file did not parse.
"""

from __future__ import annotations

from .. import ftorch_api as api
from ..diagnostics import Fix
from . import Rule, ctx_cache, requirements_of

_LIMIT = {False: 100, True: 72}


class BareUse(Rule):
    code = "FT001"
    name = "bare-use"
    severity = "warning"
    fixable = True
    line_based = True

    def check(self, ctx):
        if ctx.model is None:
            yield from self._line_based(ctx)
            return
        req = requirements_of(ctx)
        from ._ft001_names import unexplained_names  # imports fparser: not needed for a cached run

        unexplained = ctx_cache(ctx, "ft001_unexplained", unexplained_names)
        for scope in ctx.model.scopes:
            for use in scope.uses:
                if not use.ftorch or not use.wildcard:
                    continue
                src, st, parts = ctx.use_parts(use.node)
                if st is None or parts is None:
                    yield ctx.diag_node(self, f"bare `use {use.module}`: add an `only:` list", use.node)
                    continue
                extra, _ambiguous = unexplained.get(id(use), ({}, False))
                needed = sorted(req.get(id(use), set()) | set(extra.values()), key=api.spec_sort_key)
                toks = st.tokens[1:] if st.tokens[0].kind == "number" else st.tokens
                use_tok = toks[0]
                mod_tok = next(t for t in toks[1:] if t.kind == "name" and t.low == use.module)
                reexports = scope.kind == "module" and not scope.default_private
                if not needed:
                    msg = f"bare `use {use.module}` but nothing from it is used in {scope.describe()}; remove the statement"
                else:
                    msg = f"bare `use {use.module}`: import only what {scope.describe()} uses: `use {use.module}, only: {', '.join(needed)}`"
                fix = None
                if extra:
                    names = ", ".join(f"`{n}`" for n in sorted(extra.values(), key=str.lower))
                    msg += (
                        f" ({names} {'is' if len(extra) == 1 else 'are'} not in this ftorch's API but "
                        f"nothing else in the file provides {'it' if len(extra) == 1 else 'them'}: kept in "
                        "the list for other FTorch versions; no automatic fix, check the list)"
                    )
                elif reexports:
                    msg += f" (no automatic fix: module `{scope.name}` re-exports ftorch names; add `private` or list them)"
                elif needed:
                    fix = self._fix(ctx, src, st, mod_tok, needed, use.module)
                elif _alone(src, st):
                    fix = Fix(
                        "Remove the unused `use` statement", (ctx.edit("", (st.first_line, 0), (st.last_line + 1, 0)),)
                    )
                yield ctx.diag_tokens(self, msg, src, use_tok, mod_tok, node=use.node, fix=fix)

    def _fix(self, ctx, src, st, mod_tok, needed, module):
        last = st.tokens[-1]
        text = _wrap(src, mod_tok, needed)
        return Fix(
            f"Import only what is used: `use {module}, only: {', '.join(needed)}`",
            (ctx.edit(text, (mod_tok.end_line, mod_tok.end_col), (last.end_line, last.end_col)),),
        )

    def _line_based(self, ctx):
        from ..prescan import parse_use_tokens

        names = set()
        for st in ctx.main.stmts:
            for t in st.tokens:
                if t.kind == "name" and t.low in api.CANONICAL:
                    names.add(api.canonical(t.low))
        for st in ctx.main.stmts:
            if st.cpp or not st.tokens:
                continue
            parsed = parse_use_tokens(st.tokens)
            if not parsed:
                continue
            mod, only, _items = parsed
            if mod in api.ALIASES and not only:
                toks = st.tokens[1:] if st.tokens[0].kind == "number" else st.tokens
                mod_tok = next(t for t in toks[1:] if t.kind == "name" and t.low == mod)
                seen = ", ".join(sorted(names, key=str.lower))
                msg = (
                    f"bare `use {mod}`: add an `only:` list (the file did not parse, so operators could not be "
                    f"inferred; "
                    + (
                        f"FTorch names seen in the file: {seen})"
                        if seen
                        else "no FTorch name is used by name in the file)"
                    )
                )
                yield ctx.diag(
                    self,
                    msg,
                    ctx.main,
                    (toks[0].line, toks[0].col),
                    (mod_tok.end_line, mod_tok.end_col),
                    noqa_lines=(st.first_line, st.last_line),
                )


def _alone(src, st) -> bool:
    """Is the statement alone on its physical lines?"""
    others = [s for s in src.stmts if s is not st and not (s.last_line < st.first_line or s.first_line > st.last_line)]
    return not others


def _wrap(src, mod_tok, items) -> str:
    fixed = src.fixed
    limit = _LIMIT[fixed]
    line = src.lines[mod_tok.line - 1]
    indent = line[: len(line) - len(line.lstrip())]
    col = mod_tok.end_col
    out = ", only: "
    col += len(out)
    for i, it in enumerate(items):
        piece = it + (", " if i < len(items) - 1 else "")
        if col + len(piece.rstrip()) > limit - (0 if fixed else 2) and i > 0:
            if fixed:
                out = out.rstrip() + "\n     &      "
                col = 12
            else:
                cont = indent + "    "
                out = out.rstrip() + " &\n" + cont
                col = len(cont)
        out += piece
        col += len(piece)
    return out


RULE = BareUse()
