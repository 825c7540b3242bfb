"""What each scope uses from ftorch: operator sites, tensor assignments and ftorch names.

Shared by the import rules (FT001-FT005).  Every *site* is resolved to the ``use``
statement that provides it (nearest in the scope chain), so "which names does this bare
``use`` need" and "is this imported operator used" are both simple groupings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fparser.two import Fortran2003 as F03

from . import ftorch_api as api
from .model import NOT_TENSOR, SCOPE_CLASSES, TENSOR, iter_nodes


@dataclass
class OpSite:
    node: object
    kind: str  # bin / un
    sym: str
    spec: str
    scope: object
    left: str | None
    right: str

    @property
    def tensor(self) -> bool:
        if self.sym == "**":
            return self.left == TENSOR
        if self.kind == "un":
            return self.right == TENSOR
        return TENSOR in (self.left, self.right)

    @property
    def maybe_tensor(self) -> bool:
        if self.sym == "**":
            return self.left != NOT_TENSOR
        if self.kind == "un":
            return self.right != NOT_TENSOR
        return not (self.left == NOT_TENSOR and self.right == NOT_TENSOR)


@dataclass
class AssignSite:
    node: object
    scope: object
    lhs: str
    rhs: str

    @property
    def tensor(self) -> bool:
        return self.lhs == TENSOR and self.rhs != NOT_TENSOR

    @property
    def maybe_tensor(self) -> bool:
        return self.lhs != NOT_TENSOR and self.rhs != NOT_TENSOR


@dataclass
class NameSite:
    node: object
    scope: object
    local: str  # lower-case local name


@dataclass
class Usage:
    ops: list = field(default_factory=list)
    assigns: list = field(default_factory=list)
    names: list = field(default_factory=list)


def collect(ctx) -> Usage:
    m = ctx.model
    u = Usage()
    ft_locals = set(api.CANONICAL)
    for s in m.scopes:
        for use in s.uses:
            if use.ftorch:
                ft_locals.update(use.names)
    for node in iter_nodes(m.tree):
        if isinstance(node, (F03.Level_2_Expr, F03.Add_Operand, F03.Mult_Operand)) and len(node.items) == 3:
            sym = str(node.items[1])
            if sym in api.OPERATOR_SPEC:
                sc = m.scope_of(node)
                if sc is None:
                    continue
                u.ops.append(
                    OpSite(
                        node,
                        "bin",
                        sym,
                        api.OPERATOR_SPEC[sym],
                        sc,
                        m.type_of(node.items[0], sc),
                        m.type_of(node.items[2], sc),
                    )
                )
        elif isinstance(node, F03.Level_2_Unary_Expr):
            sym = str(node.items[0])
            if sym == "-":
                sc = m.scope_of(node)
                if sc is None:
                    continue
                u.ops.append(OpSite(node, "un", sym, "operator(-)", sc, None, m.type_of(node.items[1], sc)))
        elif isinstance(node, F03.Assignment_Stmt):
            sc = m.scope_of(node)
            if sc is None:
                continue
            u.assigns.append(AssignSite(node, sc, m.type_of(node.items[0], sc), m.type_of(node.items[2], sc)))
        elif isinstance(node, (F03.Name, F03.Type_Name)):
            low = str(node).lower()
            if low in ft_locals and not _inside(node, (F03.Use_Stmt,)):
                sc = m.scope_of(node)
                if sc is not None:
                    u.names.append(NameSite(node, sc, low))
    return u


def _inside(node, classes) -> bool:
    n = getattr(node, "parent", None)
    while n is not None:
        if isinstance(n, classes):
            return True
        if isinstance(n, SCOPE_CLASSES):
            return False
        n = getattr(n, "parent", None)
    return False


def name_provider(m, scope, local):
    """The ``use`` providing the local name ``local`` (ftorch or re-exporting module)."""
    s = scope
    while s is not None:
        if local in s.vars:
            return None
        for use in s.uses:
            if use.ftorch:
                if local in use.names:
                    return use
                if use.wildcard and api.provides(use.module, local) and local not in use.names.values():
                    return use
            else:
                exp = m.exports.get(use.module)
                if (
                    exp is not None
                    and (local in use.names or use.wildcard)
                    and exp.provides(use.names.get(local, local))
                ):
                    return use
        if s.interface_body:
            hi = s.host_import
            if hi is None or (hi != "all" and local not in hi):
                return None
        s = s.parent
    return None


def requirements(ctx, usage: Usage) -> dict:
    """Map id(use statement info) -> set of (spec or 'local=>use' rename or name) it provides."""
    m = ctx.model
    out: dict = {}
    for op in usage.ops:
        if op.maybe_tensor:
            p = m.provider(op.scope, op.spec)
            if p is not None:
                out.setdefault(id(p), set()).add(op.spec)
    for a in usage.assigns:
        if a.maybe_tensor:
            p = m.provider(a.scope, api.ASSIGNMENT_SPEC)
            if p is not None:
                out.setdefault(id(p), set()).add(api.ASSIGNMENT_SPEC)
    for n in usage.names:
        p = name_provider(m, n.scope, n.local)
        if p is not None:
            use_name = p.names.get(n.local, n.local)
            if use_name != n.local:
                item = f"{n.local} => {api.canonical(use_name)}"
            else:
                item = api.canonical(n.local)
            out.setdefault(id(p), set()).add(item)
    return out
