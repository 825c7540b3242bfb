"""FT004 `unused-operator-import`: an imported `operator(op)` or `assignment(=)` is unused.

## What it does
Reports an `operator(op)` or `assignment(=)` in a `use ftorch, only:` list that no tensor
expression of the scope or its contained scopes needs.  Operators whose operand types are
unknown (names from other modules) count as uses.  Imports in a module that re-exports
them (the module has no `private` default, or the spec is listed in `public ::`) are never
reported, because other files may rely on them.

Code is analysed after the C preprocessor (see `--cpp`), so operators used in macro
expansions and `#include`d bodies count.  An operator that appears on a line of an inactive
`#if` branch counts as used, because another `-D` may enable that branch; and nothing is
reported for a file with `#define`/`#include` lines that could not be preprocessed.

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

import re

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
        hidden = _preprocessor_hidden_specs(ctx)
        if hidden is None:
            return
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
                    if key not in use.specs or key in used or key in hidden:
                        continue
                    if scope.kind == "module" and (not scope.default_private or key in scope.public):
                        continue
                    if len(items) == 1 and _alone(src, st):
                        triples = [((st.first_line, 0), (st.last_line + 1, 0), "")]
                    else:
                        triples = remove_list_item(src, st, items, idx)
                    fix = Fix(f"Remove `{key}` from the `only:` list", to_edits(ctx, triples)) if triples else None
                    msg = (
                        f"`{key}` is imported from {use.module} but no tensor expression in "
                        f"{scope.describe()} uses it; remove it from the `only:` list"
                    )
                    yield ctx.diag_tokens(self, msg, src, it[0], it[-1], node=use.node, fix=fix)


_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?:define|include)\b", re.M)


def _preprocessor_hidden_specs(ctx):
    """Specs that code the analysis cannot see may use: operators and ``=`` on lines that
    the preprocessor left out (an inactive ``#if`` branch: another ``-D`` may enable it).
    None when macros or ``#include`` bodies could not be expanded (cpp failed or is not
    installed): then nothing is reported, since a macro or an included body may use any of
    them, and the fix would break the build."""
    from .. import ftorch_api as api

    state = getattr(ctx, "cpp_state", None)
    if state in ("failed", "as-is") and _DIRECTIVE.search(ctx.text or ""):
        return None
    lmap = ctx.line_map
    stmts = getattr(ctx, "original_stmts", None)
    if lmap is None or not stmts:
        return set()
    # cpp keeps a blank line for each line it leaves out, so "active" means non-blank output
    out_lines = (getattr(ctx, "cpp_text", None) or ctx.text).split("\n")
    active = {
        ln for i, (f, ln) in enumerate(lmap.targets) if f == ctx.path and i < len(out_lines) and out_lines[i].strip()
    }
    hidden = set()
    for st in stmts:
        if st.cpp or any(ln in active for ln in range(st.first_line, st.last_line + 1)):
            continue
        for t in st.tokens:
            if t.kind == "op" and t.text in api.OPERATOR_SPEC:
                hidden.add(api.OPERATOR_SPEC[t.text])
            elif t.kind == "op" and t.text == "=":
                hidden.add(api.ASSIGNMENT_SPEC)
    return hidden


RULE = UnusedOperatorImport()
