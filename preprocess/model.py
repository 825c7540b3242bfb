"""Scope model and type inference over an fparser tree.

Scopes: main program, module, submodule, subroutine, function (module, internal and
external procedures), ``block`` constructs and interface bodies.  A scope sees its own
``use`` statements and declarations, then its host's (host association), except an
interface body, which sees the host only through ``import``.

Type inference is three-valued: :data:`TENSOR`, :data:`NOT_TENSOR` and :data:`UNKNOWN`
(names from other modules, implicit typing, calls to unknown functions).  Rules that report
a *missing* import need ``TENSOR``; rules that report an *unused* import treat ``UNKNOWN`` as
a possible use, so uncertainty never produces a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fparser.two import Fortran2003 as F03
from fparser.two import Fortran2008 as F08
from fparser.two.utils import Base

from . import ftorch_api as api

TENSOR, NOT_TENSOR, UNKNOWN = "tensor", "not-tensor", "unknown"

SCOPE_CLASSES = (
    F03.Main_Program,
    F03.Main_Program0,
    F03.Module,
    F08.Submodule,
    F03.Subroutine_Subprogram,
    F03.Function_Subprogram,
    F03.Subroutine_Body,
    F03.Function_Body,
    F08.Block_Construct,
)
BINARY_ARITH = (F03.Level_2_Expr, F03.Add_Operand, F03.Mult_Operand)
UNARY_ARITH = (F03.Level_2_Unary_Expr,)
OP_CLASSES = (
    F03.Level_2_Expr,
    F03.Add_Operand,
    F03.Mult_Operand,
    F03.Level_3_Expr,
    F03.Level_4_Expr,
    F03.Or_Operand,
    F03.Equiv_Operand,
    F03.Level_5_Expr,
    F03.Expr,
    F03.Level_2_Unary_Expr,
    F03.And_Operand,
    F03.Level_1_Expr,
)
LITERALS = (
    F03.Int_Literal_Constant,
    F03.Real_Literal_Constant,
    F03.Logical_Literal_Constant,
    F03.Char_Literal_Constant,
    F03.Complex_Literal_Constant,
    F03.Boz_Literal_Constant,
    F03.Signed_Int_Literal_Constant,
    F03.Signed_Real_Literal_Constant,
)
_DOT_TO_SYM = {".eq.": "==", ".ne.": "/=", ".lt.": "<", ".le.": "<=", ".gt.": ">", ".ge.": ">="}


def children(node):
    if isinstance(node, Base):
        return [c for c in node.children if c is not None]
    if isinstance(node, (list, tuple)):
        return [c for c in node if c is not None]
    return []


def iter_nodes(node, stop=None):
    """Iterative pre-order walk over fparser nodes (source order).  ``stop(n)`` prunes."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Base):
            yield n
            if stop is not None and n is not node and stop(n):
                continue
            kids = n.children
        elif isinstance(n, (list, tuple)):
            kids = n
        else:
            continue
        for c in reversed(kids):
            if isinstance(c, (Base, list, tuple)):
                stack.append(c)


def stmt_of(node):
    """The enclosing node that carries a reader line (a statement)."""
    while node is not None and getattr(node, "item", None) is None:
        node = getattr(node, "parent", None)
    return node


def norm_spec(kind: str, op) -> str:
    sym = str(op).strip().lower()
    sym = _DOT_TO_SYM.get(sym, sym)
    return f"{kind.strip().lower()}({sym})"


@dataclass
class Var:
    name: str
    category: str  # tensor model optim real integer logical character complex derived:<t> other
    rank: int = 0
    dummy: bool = False
    node: object = None

    @property
    def is_tensor(self):
        return self.category == "tensor"


@dataclass
class UseInfo:
    module: str
    node: object
    ftorch: bool
    wildcard: bool  # no ONLY (a rename-only list counts as bare)
    names: dict = field(default_factory=dict)  # local name -> use name
    specs: set = field(default_factory=set)  # operator(..)/assignment(=) imported
    scope: Scope = None


@dataclass
class Scope:
    node: object
    kind: str
    name: str | None
    parent: Scope | None
    interface_body: bool = False
    host_import: object = None  # None (no import), "all", or set of names
    uses: list = field(default_factory=list)
    vars: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    funcs: dict = field(default_factory=dict)
    default_private: bool = False
    public: set = field(default_factory=set)
    private: set = field(default_factory=set)
    children: list = field(default_factory=list)

    def chain(self):
        s = self
        while s is not None:
            yield s
            if s.interface_body:
                return
            s = s.parent

    def describe(self) -> str:
        return f"{self.kind} `{self.name}`" if self.name else self.kind


class FileModel:
    """Scopes, declarations and imports of one parsed file plus the project export table."""

    def __init__(self, tree, exports: dict | None = None):
        self.tree = tree
        self.exports = exports or {}  # module -> ExportInfo (see prescan)
        self.scopes: list[Scope] = []
        self.scope_of_node: dict[int, Scope] = {}
        self.all_dtypes: dict[str, dict] = {}
        self._build()

    # ---------------------------------------------------------------- building
    def _build(self):
        stack = [(self.tree, None)]
        while stack:
            node, scope = stack.pop()
            if isinstance(node, SCOPE_CLASSES):
                scope = self._new_scope(node, scope)
            if isinstance(node, Base):
                if scope is not None:
                    self.scope_of_node[id(node)] = scope
                    self._visit(node, scope)
                if isinstance(node, F03.Derived_Type_Def):
                    continue
                kids = node.children
            elif isinstance(node, (list, tuple)):
                kids = node
            else:
                continue
            for c in reversed(kids):
                if isinstance(c, (Base, list, tuple)):
                    stack.append((c, scope))

    def _new_scope(self, node, parent):
        head = node.content[0] if getattr(node, "content", None) else None
        kinds = {
            F03.Main_Program: "program",
            F03.Main_Program0: "program",
            F03.Module: "module",
            F08.Submodule: "submodule",
            F03.Subroutine_Subprogram: "subroutine",
            F03.Function_Subprogram: "function",
            F03.Subroutine_Body: "interface body",
            F03.Function_Body: "interface body",
            F08.Block_Construct: "block",
        }
        kind = next(v for k, v in kinds.items() if isinstance(node, k))
        name = None
        if head is not None and not isinstance(node, (F03.Main_Program0, F08.Block_Construct)):
            try:
                nm = head.get_name()
                name = str(nm) if nm is not None else None
            except Exception:  # noqa: BLE001 -- fparser nodes without a usable name: anonymous scope
                name = None
        s = Scope(node, kind, name, parent, interface_body=isinstance(node, (F03.Subroutine_Body, F03.Function_Body)))
        if parent is not None:
            parent.children.append(s)
        self.scopes.append(s)
        # dummy arguments and function results
        if isinstance(head, (F03.Subroutine_Stmt, F03.Function_Stmt)):
            args = head.items[2]
            for a in children(args):
                if isinstance(a, F03.Name):
                    s.vars[str(a).lower()] = Var(str(a).lower(), "other", dummy=True)
            if isinstance(head, F03.Function_Stmt) and name:
                prefix, suffix = head.items[0], head.items[3]
                res = name.lower()
                if isinstance(suffix, F03.Suffix) and suffix.items[0] is not None:
                    res = str(suffix.items[0]).lower()
                s.result_name = res
                cat = "other"
                for p in iter_nodes(prefix) if prefix is not None else ():
                    if isinstance(p, (F03.Declaration_Type_Spec, F03.Intrinsic_Type_Spec)):
                        cat = _category(p)
                s.vars.setdefault(res, Var(res, cat))
                if cat != "other":
                    s.vars[res].category = cat
                if parent is not None and not s.interface_body:
                    parent.funcs[name.lower()] = (s, res)
        return s

    def _visit(self, node, scope: Scope):
        if isinstance(node, F03.Use_Stmt):
            self._use(node, scope)
        elif isinstance(node, F03.Type_Declaration_Stmt):
            spec, attrs, ents = node.items
            cat = _category(spec)
            arr = any(isinstance(a, F03.Dimension_Attr_Spec) for a in iter_nodes(attrs)) if attrs else False
            for e in children(ents):
                if isinstance(e, F03.Entity_Decl):
                    nm = str(e.items[0]).lower()
                    rank = 1 if (arr or e.items[1] is not None) else 0
                    old = scope.vars.get(nm)
                    scope.vars[nm] = Var(nm, cat, rank, dummy=bool(old and old.dummy), node=node)
        elif isinstance(node, F03.Derived_Type_Def):
            tname = None
            comps = {}
            for n in iter_nodes(node):
                if isinstance(n, F03.Derived_Type_Stmt):
                    tname = str(n.items[1]).lower()
                elif isinstance(n, F03.Data_Component_Def_Stmt):
                    spec, attrs, decls = n.items
                    cat = _category(spec)
                    arr = (
                        any(isinstance(a, F03.Dimension_Component_Attr_Spec) for a in iter_nodes(attrs))
                        if attrs
                        else False
                    )
                    for d in children(decls):
                        if isinstance(d, F03.Component_Decl):
                            nm = str(d.items[0]).lower()
                            comps[nm] = Var(nm, cat, 1 if (arr or d.items[1] is not None) else 0)
            if tname:
                scope.dtypes[tname] = comps
                self.all_dtypes[tname] = comps
        elif isinstance(node, F03.Access_Stmt) and scope.kind == "module":
            kw, lst = node.items
            kw = str(kw).lower()
            if lst is None:
                scope.default_private = kw == "private"
            else:
                target = scope.public if kw == "public" else scope.private
                for it in children(lst):
                    target.add(_spec_or_name(it))
        elif isinstance(node, F03.Import_Stmt) and scope.interface_body:
            lst = node.items[1] if len(node.items) > 1 else None
            if lst is None:
                scope.host_import = "all"
            else:
                if scope.host_import != "all":
                    scope.host_import = set(scope.host_import or ())
                    scope.host_import.update(_spec_or_name(i) for i in children(lst))

    def _use(self, node, scope):
        _nature, _colons, name, only_kw, lst = node.items
        mod = str(name).lower()
        is_only = "only" in (only_kw or "").lower()
        u = UseInfo(mod, node, mod in api.ALIASES, not is_only, scope=scope)
        for it in children(lst):
            if isinstance(it, F03.Rename):
                kind = it.items[0]
                if kind is None:
                    u.names[str(it.items[1]).lower()] = str(it.items[2]).lower()
                else:
                    u.specs.add(norm_spec(kind, it.items[2]))
            elif isinstance(it, F03.Generic_Spec):
                u.specs.add(norm_spec(it.items[0], it.items[1]))
            elif isinstance(it, F03.Name):
                u.names[str(it).lower()] = str(it).lower()
        scope.uses.append(u)

    # ---------------------------------------------------------------- queries
    def scope_of(self, node) -> Scope | None:
        n = node
        while n is not None:
            s = self.scope_of_node.get(id(n))
            if s is not None:
                return s
            n = getattr(n, "parent", None)
        return None

    def use_provides(self, u: UseInfo, spec: str) -> bool:
        """Does this ``use`` make ``spec`` (operator/assignment spec or name) accessible?"""
        if u.ftorch:
            if u.wildcard:
                return api.provides(u.module, spec)
            return spec in u.specs or spec in u.names.values()
        exp = self.exports.get(u.module)
        if exp is None:
            return False
        if not exp.provides(spec):
            return False
        return u.wildcard or spec in u.specs or spec in u.names.values()

    def provider(self, scope: Scope, spec: str):
        """The ``use`` statement that makes ``spec`` visible in ``scope`` (or None)."""
        s = scope
        while s is not None:
            for u in s.uses:
                if self.use_provides(u, spec):
                    return u
            if s.interface_body:
                hi = s.host_import
                if hi is None or (hi != "all" and spec not in hi):
                    return None
            s = s.parent
        return None

    def lookup_var(self, scope: Scope, name: str) -> Var | None:
        """Nearest declaration of ``name``; ``Var(category="ftorch")`` for ftorch names,
        ``None`` when unknown (undeclared, or use-associated from another module)."""
        name = name.lower()
        for s in scope.chain():
            v = s.vars.get(name)
            if v is not None:
                return v
            for u in s.uses:
                if u.ftorch and (name in u.names or (u.wildcard and api.provides(u.module, name))):
                    return Var(name, "ftorch")
                if not u.ftorch and name in u.names:
                    return None
        return None

    def lookup_func(self, scope: Scope, name: str):
        name = name.lower()
        for s in scope.chain():
            if name in s.funcs:
                fs, res = s.funcs[name]
                return fs.vars.get(res)
        return None

    def type_of(self, expr, scope: Scope) -> str:
        return _TypeInfer(self, scope).infer(expr)

    def component(self, var: Var, comp: str) -> Var | None:
        if var is None or not var.category.startswith("derived:"):
            return None
        comps = self.all_dtypes.get(var.category[8:])
        return comps.get(comp.lower()) if comps else None


class _TypeInfer:
    def __init__(self, model: FileModel, scope: Scope):
        self.m = model
        self.scope = scope

    def infer(self, e) -> str:
        if isinstance(e, LITERALS):
            return NOT_TENSOR
        if isinstance(e, F03.Name):
            return self._name(str(e))
        if isinstance(e, F03.Parenthesis):
            return self.infer(e.items[1])
        if isinstance(e, F03.Mult_Operand):
            return self.infer(e.items[0])
        if isinstance(e, (F03.Level_2_Expr, F03.Add_Operand)):
            a, b = self.infer(e.items[0]), self.infer(e.items[2])
            if TENSOR in (a, b):
                return TENSOR
            if a == b == NOT_TENSOR:
                return NOT_TENSOR
            return UNKNOWN
        if isinstance(e, F03.Level_2_Unary_Expr):
            return self.infer(e.items[1])
        if isinstance(
            e,
            (F03.Level_3_Expr, F03.Level_4_Expr, F03.Or_Operand, F03.Equiv_Operand, F03.Level_5_Expr, F03.And_Operand),
        ):
            return NOT_TENSOR
        if isinstance(e, F03.Intrinsic_Function_Reference):
            return NOT_TENSOR
        if isinstance(e, (F03.Part_Ref, F03.Structure_Constructor, F03.Function_Reference)):
            head = e.items[0]
            if isinstance(head, (F03.Name, F03.Type_Name)):
                v = self.m.lookup_var(self.scope, str(head))
                if v is not None and v.category not in ("other", "ftorch"):
                    return TENSOR if v.is_tensor else NOT_TENSOR
                f = self.m.lookup_func(self.scope, str(head))
                if f is not None and f.category != "other":
                    return TENSOR if f.is_tensor else NOT_TENSOR
                return UNKNOWN
            return UNKNOWN
        if isinstance(e, F03.Data_Ref):
            parts = list(e.items)
            v = self._var_of(parts[0])
            for p in parts[1:]:
                if v is None:
                    return UNKNOWN
                nm = p.items[0] if isinstance(p, F03.Part_Ref) else p
                v = self.m.component(v, str(nm))
            if v is None or v.category in ("other",):
                return UNKNOWN
            return TENSOR if v.is_tensor else NOT_TENSOR
        if isinstance(e, F03.Array_Constructor):
            kinds = {self.infer(x) for x in children(e.items[1])} if len(e.items) > 1 else set()
            if TENSOR in kinds:
                return TENSOR
            return NOT_TENSOR if kinds <= {NOT_TENSOR} else UNKNOWN
        return UNKNOWN

    def _var_of(self, part):
        nm = part.items[0] if isinstance(part, F03.Part_Ref) else part
        return self.m.lookup_var(self.scope, str(nm))

    def _name(self, name: str) -> str:
        v = self.m.lookup_var(self.scope, name)
        if v is None:
            return UNKNOWN
        if v.category == "ftorch":
            return NOT_TENSOR
        if v.category == "other":
            return UNKNOWN
        return TENSOR if v.is_tensor else NOT_TENSOR


def _category(spec) -> str:
    if isinstance(spec, F03.Intrinsic_Type_Spec):
        t = str(spec.items[0]).lower()
        if t.startswith("double"):
            return "real"
        return t.split()[0]
    if isinstance(spec, F03.Declaration_Type_Spec):
        t = str(spec.items[1]).lower()
        return {"torch_tensor": "tensor", "torch_model": "model", "torch_optim": "optim"}.get(t, "derived:" + t)
    return "other"


def _spec_or_name(it) -> str:
    if isinstance(it, F03.Generic_Spec):
        return norm_spec(it.items[0], it.items[1])
    return str(it).lower()
