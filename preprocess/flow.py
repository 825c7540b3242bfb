"""Control flow and autograd events of each procedure, for FT101-FT105.

Each executable scope (main program, subroutine, function) gets a small control-flow graph
of its statements: sequences, ``if``/``select`` branches, loops with a back edge (so the top
of a loop body is reached from its bottom), ``exit``/``cycle``/``return``/``stop``.  ``block``
constructs are part of their procedure; internal procedures get their own graph.  Every
statement is reduced to a list of events (reads, writes, tensor constructions, backward,
zero_grad, get_gradient, ...) that the rules run small forward data-flow analyses over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fparser.two import Fortran2003 as F03
from fparser.two import Fortran2008 as F08
from fparser.two.utils import Base

from . import ftorch_api as api
from .model import LITERALS, SCOPE_CLASSES, children, iter_nodes

DO_CONSTRUCTS = tuple(
    c
    for c in (
        getattr(F03, "Block_Nonlabel_Do_Construct", None),
        getattr(F03, "Block_Label_Do_Construct", None),
        getattr(F03, "Action_Term_Do_Construct", None),
        getattr(F03, "Outer_Shared_Do_Construct", None),
        getattr(F08, "Block_Nonlabel_Do_Construct", None),
        getattr(F08, "Block_Label_Do_Construct", None),
    )
    if c is not None
)
EXEC_SCOPES = (F03.Main_Program, F03.Main_Program0, F03.Subroutine_Subprogram, F03.Function_Subprogram)


@dataclass
class Node:
    idx: int
    stmt: object  # fparser statement node
    events: list = field(default_factory=list)
    succ: list = field(default_factory=list)
    loops: tuple = ()  # enclosing loop construct nodes, innermost last


@dataclass
class Graph:
    scope: object
    nodes: list = field(default_factory=list)
    entry: int | None = None

    def preds(self):
        p = {n.idx: [] for n in self.nodes}
        for n in self.nodes:
            for s in n.succ:
                p[s].append(n.idx)
        return p


def key_of(e):
    """Variable key of an actual argument / reference: name, array name, or ``a%b``."""
    if isinstance(e, F03.Name):
        return str(e).lower()
    if isinstance(e, (F03.Part_Ref,)):
        return str(e.items[0]).lower()
    if isinstance(e, F03.Data_Ref):
        parts = []
        for p in e.items:
            parts.append(str(p.items[0] if isinstance(p, F03.Part_Ref) else p).lower())
        return "%".join(parts)
    if isinstance(e, F03.Parenthesis):
        return None
    return None


def call_parts(call):
    """(procedure name or None, object key or None, method or None, positional, keywords)."""
    desig, args = call.items[0], call.items[1] if len(call.items) > 1 else None
    pos, kw = [], {}
    for a in children(args):
        if isinstance(a, F03.Actual_Arg_Spec):
            kw[str(a.items[0]).lower()] = a.items[1]
        else:
            pos.append(a)
    if isinstance(desig, F03.Procedure_Designator):
        return None, key_of(desig.items[0]), str(desig.items[2]).lower(), pos, kw
    return str(desig).lower(), None, None, pos, kw


def arg(pos, kw, i, *names):
    for n in names:
        if n in kw:
            return kw[n]
    return pos[i] if i < len(pos) else None


def logical_value(e):
    """True/False for a logical literal, None otherwise."""
    if isinstance(e, F03.Logical_Literal_Constant):
        return str(e.items[0]).lower().startswith(".t")
    return None


def reads_of(node, skip=()):
    """Variable keys read by an expression (inquiry intrinsics and keywords excluded)."""
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None or any(n is s for s in skip):
            continue
        if isinstance(n, (list, tuple)):
            stack.extend(reversed([c for c in n if c is not None]))
            continue
        if not isinstance(n, Base) or isinstance(n, LITERALS):
            continue
        if isinstance(n, F03.Name):
            out.append((str(n).lower(), n))
        elif isinstance(n, F03.Part_Ref):
            out.append((str(n.items[0]).lower(), n))
            stack.append(n.items[1])
        elif isinstance(n, F03.Data_Ref):
            out.append((key_of(n), n))
            for p in n.items:
                if isinstance(p, F03.Part_Ref):
                    stack.append(p.items[1])
        elif isinstance(n, F03.Intrinsic_Function_Reference):
            if str(n.items[0]).lower() in api.INQUIRY_INTRINSICS:
                continue
            stack.append(n.items[1])
        elif isinstance(n, (F03.Actual_Arg_Spec, F03.Component_Spec)):
            stack.append(n.items[1])
        elif isinstance(n, F03.Structure_Constructor):
            stack.append(n.items[1])
        elif isinstance(n, F03.Function_Reference):
            d = n.items[0]
            if isinstance(d, F03.Procedure_Designator):
                k = key_of(d.items[0])
                if k:
                    out.append((k, d.items[0]))
            stack.append(n.items[1])
        elif isinstance(n, (F03.Type_Name, F03.Procedure_Designator)):
            continue
        else:
            stack.extend(reversed(children(n)))
    return out


#: procedures whose autograd node keeps no tensor for backward (only sizes or nothing)
_NO_SAVED = frozenset({"torch_tensor_sum", "torch_tensor_mean", "torch_tensor_to"})
#: the procedural form of an optimiser's ``zero_grad`` (``call torch_optim_zero_grad(opt)``)
OPTIM_ZERO_GRAD = "torch_optim_zero_grad"


def saves_tensors(expr, model, scope) -> bool:
    """Does evaluating ``expr`` add an autograd node that saves tensors for backward?

    ``+``, ``-`` (binary and unary) keep nothing; ``*``, ``/`` and ``**`` on a tensor keep
    their operands, and so may a function of unknown kind (counted as saving)."""
    for n in iter_nodes(expr):
        if isinstance(n, (F03.Add_Operand, F03.Mult_Operand)) and len(n.items) == 3:
            if model.type_of(n, scope) != "not-tensor":
                return True
        elif isinstance(n, F03.Function_Reference):
            return True
        elif isinstance(n, (F03.Part_Ref, F03.Structure_Constructor)) and isinstance(n.items[0], F03.Name):
            # ``f(a)``: an array element, or a function that may build a graph
            if model.lookup_var(scope, str(n.items[0])) is None:
                return True
    return False


def tensor_keys(expr, model, scope) -> list:
    """Keys of the tensors (or possible tensors) read by an expression argument."""
    if expr is None:
        return []
    k = key_of(expr)
    if k:
        return [k]
    return [k for k, n in reads_of(expr) if model.type_of(n, scope) != "not-tensor"]


def events_of(stmt, model, scope):
    """Events of one simple statement, in evaluation order."""
    ev = []
    if isinstance(stmt, F03.Assignment_Stmt):
        lhs, _eq, rhs = stmt.items
        ev.extend(("read", k, n) for k, n in reads_of(rhs))
        key = key_of(lhs)
        if isinstance(lhs, F03.Part_Ref):
            ev.extend(("read", k, n) for k, n in reads_of(lhs.items[1]))
        if key:
            ltype = model.type_of(lhs, scope)
            if ltype == "tensor":
                ops = [k for k, n in reads_of(rhs) if model.type_of(n, scope) == "tensor"]
                ev.append(("assign", key, ops, saves_tensors(rhs, model, scope)))
            else:
                ev.append(("write", key, isinstance(lhs, F03.Name)))
        return ev
    if isinstance(stmt, F03.Call_Stmt):
        name, obj, method, pos, kw = call_parts(stmt)
        if name is None:
            if method == "zero_grad" and obj:
                v = model.lookup_var(scope, obj.split("%")[0]) if "%" not in obj else None
                kind = (
                    "tensor"
                    if (v is not None and v.category == "tensor")
                    else ("optim" if (v is not None and v.category == "optim") else "unknown")
                )
                ev.append(("zerograd", obj if kind == "tensor" else None, kind, f"{obj}%zero_grad()", obj))
            elif obj:
                ev.append(("read", obj, stmt))
            for a in pos + list(kw.values()):
                ev.extend(("read", k, n) for k, n in reads_of(a))
            return ev
        if name in api.CONSTRUCTORS:
            t = key_of(arg(pos, kw, 0, "tensor"))
            rg_expr = kw.get("requires_grad")
            if rg_expr is None:
                rg_pos = [logical_value(a) for a in pos[3:] if logical_value(a) is not None]
                rg = rg_pos[-1] if rg_pos else False
            else:
                rg = logical_value(rg_expr)  # None: not a literal
            data = key_of(arg(pos, kw, 1, "data_in", "data")) if name == "torch_tensor_from_array" else None
            for a in pos[1:] + [v for k, v in kw.items() if k not in ("tensor",)]:
                if name == "torch_tensor_from_array" and a is arg(pos, kw, 1, "data_in"):
                    continue
                ev.extend(("read", k, n) for k, n in reads_of(a))
            if t:
                ev.append(("construct", t, rg, data, name))
            return ev
        if name == "torch_tensor_get_gradient":
            g = key_of(arg(pos, kw, 0, "gradient"))
            t = key_of(arg(pos, kw, 1, "tensor"))
            if g and t:
                ev.append(("getgrad", g, t))
            return ev
        if name == "torch_tensor_backward":
            t = key_of(arg(pos, kw, 0, "tensor"))
            retain = None
            if "retain_graph" in kw:
                retain = logical_value(kw["retain_graph"])
                if retain is None:
                    retain = True  # a variable: cannot tell, assume retained
            else:
                lits = [logical_value(a) for a in pos[1:3] if logical_value(a) is not None]
                non_lit_logical = [
                    a
                    for a in pos[1:3]
                    if logical_value(a) is None
                    and model.type_of(a, scope) != "tensor"
                    and isinstance(a, F03.Name)
                    and (model.lookup_var(scope, str(a)) or None) is not None
                    and model.lookup_var(scope, str(a)).category == "logical"
                ]
                retain = lits[-1] if lits else (True if non_lit_logical else False)
            for a in pos[1:]:
                ev.extend(("read", k, n) for k, n in reads_of(a))
            if t:
                ev.append(("backward", t, retain))
            return ev
        if name == OPTIM_ZERO_GRAD:
            o = key_of(arg(pos, kw, 0, "optim", "optimizer"))
            ev.append(("zerograd", None, "optim", f"{OPTIM_ZERO_GRAD}({o or ''})", o))
            return ev
        if name == "torch_tensor_zero_grad":
            t = key_of(arg(pos, kw, 0, "tensor"))
            ev.append(("zerograd", t, "tensor", f"torch_tensor_zero_grad({t})", t))
            return ev
        if name in api.DELETERS:
            t = key_of(arg(pos, kw, 0, "tensor", "model", "optim"))
            if t:
                ev.append(("delete", t))
            return ev
        if name == "torch_model_forward":
            model_k = key_of(arg(pos, kw, 0, "model"))
            ins = key_of(arg(pos, kw, 1, "input_tensors"))
            outs = key_of(arg(pos, kw, 2, "output_tensors"))
            rg = (
                logical_value(kw["requires_grad"])
                if "requires_grad" in kw
                else (logical_value(pos[3]) if len(pos) > 3 else False)
            )
            srcs = [ins] if ins else []
            if outs:
                ev.append(("derive", outs, srcs, ("model:" + model_k) if (rg and model_k) else None, True))
            return ev
        if name in api.DERIVED_RESULT or name == "torch_tensor_to":
            if name == "torch_tensor_to":
                out, in_args = key_of(arg(pos, kw, 1, "target_tensor")), [arg(pos, kw, 0, "source_tensor")]
            else:
                out = key_of(arg(pos, kw, 0))
                in_args = list(pos[1:3]) + [
                    v for k, v in kw.items() if k in ("input_tensor", "target_tensor", "tensor")
                ]
            # an expression argument (``torch_tensor_mean(loss, (out - tgt)**2)``) is computed
            # from the tensors it reads
            srcs = [k for a in in_args for k in tensor_keys(a, model, scope)]
            saves = name not in _NO_SAVED or any(saves_tensors(a, model, scope) for a in in_args if a is not None)
            for a in in_args:
                if a is not None and key_of(a) is None:
                    ev.extend(("read", k, n) for k, n in reads_of(a))
            if out:
                ev.append(("derive", out, srcs, None, saves))
            return ev
        if name == "torch_model_parameters":
            p = key_of(arg(pos, kw, 1, "parameters"))
            if p:
                ev.append(("params", p))
            return ev
        if name in api.OPTIMIZERS:
            params = arg(pos, kw, 1, "parameters")
            p = key_of(params)
            if p:
                ev.append(("params", p))
            # which tensors this optimiser's zero_grad zeroes (FT101)
            if isinstance(params, F03.Array_Constructor):
                keys = [key_of(x) for x in children(params.items[1])] if len(params.items) > 1 else []
            else:
                keys = [p]
            o = key_of(arg(pos, kw, 0, "optim", "optimizer"))
            if o:
                ev.append(("optparams", o, frozenset(k for k in keys if k) if all(keys) else None))
            return ev
        # any other call: its arguments are read (and may be redefined)
        for a in pos + list(kw.values()):
            for k, n in reads_of(a):
                ev.append(("read", k, n))
            k = key_of(a)
            if k:
                ev.append(("escape", k))
        return ev
    if isinstance(stmt, (F03.Allocate_Stmt, F03.Deallocate_Stmt, F03.Nullify_Stmt)):
        return ev
    if isinstance(stmt, F03.Pointer_Assignment_Stmt):
        k = key_of(stmt.items[0])
        if k:
            ev.append(("escape", k))
        return ev
    # everything else (print, write, if conditions, loop control, ...): reads
    ev.extend(("read", k, n) for k, n in reads_of(stmt))
    return ev


class _Builder:
    def __init__(self, model, scope):
        self.model = model
        self.scope = scope
        self.g = Graph(scope)
        self.loop_stack = []  # (loop construct, head idx, exit list)

    def node(self, stmt, events=None):
        n = Node(
            len(self.g.nodes),
            stmt,
            events if events is not None else events_of(stmt, self.model, self.scope),
            loops=tuple(loop[0] for loop in self.loop_stack),
        )
        self.g.nodes.append(n)
        return n.idx

    def link(self, preds, idx):
        for p in preds:
            if idx not in self.g.nodes[p].succ:
                self.g.nodes[p].succ.append(idx)

    def seq(self, items, preds):
        for it in items:
            preds = self.stmt(it, preds)
        return preds

    def stmt(self, it, preds):
        if isinstance(it, SCOPE_CLASSES) and not isinstance(it, F08.Block_Construct):
            return preds
        if isinstance(
            it,
            (
                F03.Specification_Part,
                F03.Internal_Subprogram_Part,
                F03.Contains_Stmt,
                F03.Implicit_Part,
                F03.Use_Stmt,
                F03.Type_Declaration_Stmt,
            ),
        ):
            return preds
        if isinstance(it, F03.Execution_Part):
            return self.seq(it.content, preds)
        if (
            isinstance(it, F08.Block_Construct)
            or isinstance(it, getattr(F03, "Associate_Construct", ()))
            or isinstance(it, getattr(F08, "Critical_Construct", ()))
        ):
            body = [c for c in it.content[1:-1] if not isinstance(c, F03.Specification_Part)]
            head = self.node(it.content[0], [])
            self.link(preds, head)
            return self.seq(body, [head])
        if isinstance(it, F03.If_Construct):
            return self._if(it, preds)
        if isinstance(it, (F03.Case_Construct, getattr(F03, "Select_Type_Construct", ()))):
            return self._case(it, preds)
        if DO_CONSTRUCTS and isinstance(it, DO_CONSTRUCTS):
            return self._loop(it, preds)
        if isinstance(it, (F03.Where_Construct, F03.Forall_Construct)):
            head = self.node(it.content[0])
            self.link(preds, head)
            out = self.seq(it.content[1:-1], [head])
            return out + [head]
        if isinstance(it, (F03.If_Stmt, F03.Where_Stmt, F03.Forall_Stmt)):
            cond_ev = [("read", k, n) for k, n in reads_of(it.items[0])]
            head = self.node(it, cond_ev)
            self.link(preds, head)
            action = it.items[1]
            if not isinstance(action, Base):
                return [head]
            if getattr(action, "item", None) is None and not hasattr(action, "content"):
                n = self.node(action)
                self.link([head], n)
                out = [] if isinstance(action, (F03.Return_Stmt, F03.Stop_Stmt, F03.Exit_Stmt, F03.Cycle_Stmt)) else [n]
                if isinstance(action, F03.Exit_Stmt) and self.loop_stack:
                    self.loop_stack[-1][2].append(n)
                if isinstance(action, F03.Cycle_Stmt) and self.loop_stack:
                    self.link([n], self.loop_stack[-1][1])
            else:
                out = self.stmt(action, [head])
            return out + [head]
        if isinstance(it, (F03.Return_Stmt, F03.Stop_Stmt, getattr(F08, "Error_Stop_Stmt", ()))):
            n = self.node(it, [])
            self.link(preds, n)
            return []
        if isinstance(it, F03.Exit_Stmt):
            n = self.node(it, [])
            self.link(preds, n)
            if self.loop_stack:
                self.loop_stack[-1][2].append(n)
            return []
        if isinstance(it, F03.Cycle_Stmt):
            n = self.node(it, [])
            self.link(preds, n)
            if self.loop_stack:
                self.link([n], self.loop_stack[-1][1])
            return []
        if isinstance(
            it,
            (
                F03.End_Do_Stmt,
                F03.End_If_Stmt,
                F03.End_Select_Stmt,
                F03.Continue_Stmt,
                F03.End_Where_Stmt,
                F03.End_Forall_Stmt,
            ),
        ):
            return preds
        if getattr(it, "item", None) is None and hasattr(it, "content"):
            return self.seq(it.content, preds)
        if getattr(it, "item", None) is None:
            return preds
        n = self.node(it)
        self.link(preds, n)
        return [n]

    def _if(self, it, preds):
        exits = []
        cur_head = None
        body = []
        has_else = False

        def flush():
            if cur_head is not None:
                exits.extend(self.seq(body, [cur_head]))

        for c in it.content:
            if isinstance(c, (F03.If_Then_Stmt, F03.Else_If_Stmt)):
                flush()
                h = self.node(c, [("read", k, n) for k, n in reads_of(c.items[0])])
                self.link(preds if cur_head is None else [cur_head], h)
                cur_head, body = h, []
            elif isinstance(c, F03.Else_Stmt):
                flush()
                has_else = True
                e = self.node(c, [])
                self.link([cur_head], e)
                cur_head, body = e, []
            elif isinstance(c, F03.End_If_Stmt):
                flush()
                cur_head = None
            else:
                body.append(c)
        if cur_head is not None:
            flush()
        if not has_else:
            # the last condition may be false
            last_cond = [
                n.idx
                for n in self.g.nodes
                if isinstance(n.stmt, (F03.If_Then_Stmt, F03.Else_If_Stmt)) and n.stmt in it.content
            ]
            if last_cond:
                exits.append(last_cond[-1])
        return exits

    def _case(self, it, preds):
        head = self.node(it.content[0])
        self.link(preds, head)
        exits, body, started, has_default = [], [], False, False
        for c in it.content[1:]:
            if isinstance(c, (F03.Case_Stmt, getattr(F03, "Type_Guard_Stmt", ()))):
                if started:
                    exits.extend(self.seq(body, [head]))
                started, body = True, []
                if "default" in str(c).lower():
                    has_default = True
            elif isinstance(c, F03.End_Select_Stmt):
                if started:
                    exits.extend(self.seq(body, [head]))
                started = False
            else:
                body.append(c)
        if not has_default:
            exits.append(head)
        return exits

    def _loop(self, it, preds):
        head = self.node(it.content[0])
        self.link(preds, head)
        exit_list = []
        self.loop_stack.append((it, head, exit_list))
        try:
            out = self.seq(it.content[1:], [head])
        finally:
            self.loop_stack.pop()
        self.link(out, head)
        return [head] + exit_list


def build_graph(model, scope) -> Graph:
    b = _Builder(model, scope)
    body = [c for c in scope.node.content[1:]] if getattr(scope.node, "content", None) else []
    if isinstance(scope.node, F03.Main_Program0):
        body = list(scope.node.content)
    entry = b.node(scope.node.content[0] if scope.node.content else scope.node, [])
    b.g.entry = entry
    b.seq(body, [entry])
    return b.g


def solve(graph: Graph, transfer, merge, init):
    """Forward may-analysis; returns IN state per node index."""
    n = len(graph.nodes)
    inn = {i: None for i in range(n)}
    out = {i: None for i in range(n)}
    preds = graph.preds()
    inn[graph.entry] = init
    work = list(range(n))
    guard = 0
    while work and guard < 200 * max(n, 1):
        guard += 1
        i = work.pop(0)
        states = [out[p] for p in preds[i] if out[p] is not None]
        if i == graph.entry:
            states.append(init)
        if not states:
            continue
        s = states[0]
        for o in states[1:]:
            s = merge(s, o)
        inn[i] = s
        new = transfer(graph.nodes[i], s, None)
        if new != out[i]:
            out[i] = new
            for sidx in graph.nodes[i].succ:
                if sidx not in work:
                    work.append(sidx)
    return inn


@dataclass
class FlowInfo:
    graphs: list


def merge_sets_and_origins(a, b):
    """Join of the (dict of sets, dict of first origins) states used by FT102 and FT103:
    the sets are united; for the origins the first branch's entry wins."""
    sets_a, origins_a = a
    sets_b, origins_b = b
    sets = dict(sets_a)
    for k, v in sets_b.items():
        sets[k] = sets.get(k, frozenset()) | v
    origins = dict(origins_a)
    for k, v in origins_b.items():
        origins.setdefault(k, v)
    return (sets, origins)


def analyse(ctx) -> FlowInfo:
    graphs = []
    for scope in ctx.model.scopes:
        if isinstance(scope.node, EXEC_SCOPES):
            try:
                graphs.append(build_graph(ctx.model, scope))
            except (IndexError, AttributeError, TypeError):
                continue
    return FlowInfo(graphs)


def deps_table(graph: Graph) -> dict:
    """Flow-insensitive: tensor key -> set of keys it was computed from (transitively)."""
    direct: dict = {}
    for n in graph.nodes:
        for e in n.events:
            if e[0] == "assign":
                direct.setdefault(e[1], set()).update(e[2])
            elif e[0] == "derive":
                direct.setdefault(e[1], set()).update(e[2])
                if e[3]:
                    direct[e[1]].add(e[3])
    closed = {}
    for k in direct:
        seen, stack = set(), [k]
        while stack:
            x = stack.pop()
            for d in direct.get(x, ()):
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
        closed[k] = seen
    return closed
