"""FT004 `unused-operator-import`: an imported `operator(op)` or `assignment(=)` is unused.

## What it does
Reports an `operator(op)` or `assignment(=)` in a `use ftorch, only:` list that no tensor
expression of the scope or its contained scopes needs.  Operators whose operand types are
unknown (names from other modules) count as uses.  Imports in a module that re-exports
them (the module has no `private` default, or the spec is listed in `public ::`) are never
reported, because other files may rely on them.

## Why is this bad?
Like an unused Python import, it misleads readers about which overloaded operations the
code performs, and keeps stale dependencies after refactoring.  FTorch recommends importing
exactly the operators you use.

## Example
```fortran
use ftorch, only: assignment(=), operator(+), operator(*), torch_tensor
type(torch_tensor) :: q, a, b
q = a * b
```

Use instead:
```fortran
use ftorch, only: assignment(=), operator(*), torch_tensor
```

## Fix
Fixable: `--fix` removes the item from the list, together with its comma, keeping
continuation lines valid.
"""
from __future__ import annotations

from ..diagnostics import Fix
from ..fixes import remove_list_item, to_edits
from ..prescan import item_key
from . import Rule, requirements_of
from .ft001_bare_use import _alone


class UnusedOperatorImport(Rule):
    code = "FT004"
    name = "unused-operator-import"
    severity = "warning"
    fixable = True

    def check(self, ctx):
        if ctx.model is None:
            return
        req = requirements_of(ctx)
        for scope in ctx.model.scopes:
            for use in scope.uses:
                if not use.ftorch or use.wildcard or not use.specs:
                    continue
                used = req.get(id(use), set())
                src, st, parts = ctx.use_parts(use.node)
                if parts is None:
                    continue
                _mod, _only, items = parts
                for idx, it in enumerate(items):
                    key = item_key(it)
                    if key not in use.specs or key in used:
                        continue
                    if scope.kind == "module" and (not scope.default_private or key in scope.public):
                        continue
                    if len(items) == 1 and _alone(src, st):
                        triples = [((st.first_line, 0), (st.last_line + 1, 0), "")]
                    else:
                        triples = remove_list_item(src, st, items, idx)
                    fix = Fix(f"Remove `{key}` from the `only:` list", to_edits(ctx, triples)) if triples else None
                    msg = (f"`{key}` is imported from {use.module} but no tensor expression in "
                           f"{scope.describe()} uses it; remove it from the `only:` list")
                    yield ctx.diag_tokens(self, msg, src, it[0], it[-1], node=use.node, fix=fix)


RULE = UnusedOperatorImport()
