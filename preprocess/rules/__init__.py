"""Rule registry.  One module per rule; the rule module's docstring is its documentation
(printed by ``pyftorch lint --explain CODE``)."""

from __future__ import annotations

import importlib
import sys

_MODULES = (
    "ft001_bare_use",
    "ft002_missing_assignment_import",
    "ft003_missing_operator_import",
    "ft004_unused_operator_import",
    "ft005_scalar_operand",
    "ft101_stale_gradient",
    "ft102_backward_without_retain_graph",
    "ft103_gradient_accumulation",
    "ft104_gradient_without_requires_grad",
    "ft105_tensor_reconstructed_in_loop",
    "ft106_from_array_on_temporary",
    "ft107_from_array_on_copy",
    "ft108_temporary_used_twice",
    "ft900_parse_error",
)


class Rule:
    code = ""
    name = ""
    severity = "error"
    fixable = False
    #: runs on files fparser could not parse (line-based)
    line_based = False

    def check(self, ctx):  # pragma: no cover - interface
        return ()

    @classmethod
    def doc(cls) -> str:
        mod = sys.modules[cls.__module__]
        return (mod.__doc__ or cls.__doc__ or "").strip()


def all_rules() -> list:
    rules = []
    for m in _MODULES:
        mod = importlib.import_module(f"{__name__}.{m}")
        rules.append(mod.RULE)
    return rules


def by_code() -> dict:
    return {r.code: r for r in all_rules()}


def resolve(selector: str) -> list:
    """Rules matched by a code, a kebab-case name, a code prefix (``FT1``) or ``ALL``."""
    sel = selector.strip()
    rules = all_rules()
    if sel.upper() == "ALL":
        return rules
    hit = [r for r in rules if r.name == sel.lower() or r.code == sel.upper()]
    if hit:
        return hit
    return [r for r in rules if r.code.startswith(sel.upper()) and sel[:2].upper() == "FT"]


def ctx_cache(ctx, key, factory):
    cache = ctx.__dict__.setdefault("_rule_cache", {})
    if key not in cache:
        cache[key] = factory(ctx)
    return cache[key]


def usage_of(ctx):
    from ..usage import collect

    return ctx_cache(ctx, "usage", collect)


def requirements_of(ctx):
    from ..usage import requirements

    return ctx_cache(ctx, "req", lambda c: requirements(c, usage_of(c)))


def flow_of(ctx):
    from ..flow import analyse

    return ctx_cache(ctx, "flow", analyse)


def backward_findings(ctx, transfer):
    """What FT102 and FT103 share: run the forward analysis ``transfer(node, state, report)``
    (states joined by ``merge_sets_and_origins``, starting from two empty dicts) over each
    flow graph that has a backward, then replay it on each reached node with a ``report``
    callback.  Yields ``(graph, node, *found)`` for the first ``report(node, *found)`` of each
    node, graph by graph."""
    from ..flow import merge_sets_and_origins, solve

    for g in flow_of(ctx).graphs:
        if not any(e[0] == "backward" for n in g.nodes for e in n.events):
            continue
        inn = solve(g, transfer, merge_sets_and_origins, ({}, {}))
        found = {}
        for n in g.nodes:
            if inn[n.idx] is not None:
                transfer(n, inn[n.idx], lambda node, *what, found=found: found.setdefault(node.idx, (node, *what)))
        for node, *what in found.values():
            yield (g, node, *what)


def earlier_backward(ctx, g, first, node) -> str:
    """Names the backward ``first`` (a node index of ``g``) that came before ``node``."""
    if first != node.idx:
        return f"the backward at line {ctx.span_of(g.nodes[first].stmt)[0]}"
    return "the same backward in the previous loop iteration"
