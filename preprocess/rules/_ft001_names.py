"""Names a scope takes from a bare ``use``: what FT001 must keep in the ``only:`` list.

The API table (preprocess/ftorch_api_table.py) says what ftorch exports, but a file may be
written for another FTorch version (``torch_module_load``) or call names this ftorch does not
have.  So besides the table's names, FT001 looks for every other name a scope references
that nothing else explains: not declared in the scope or its hosts, not defined in the file,
not an intrinsic procedure, not given by another ``use`` (a bare ``use`` of a module whose
exports are unknown counts as giving it), not an implicitly typed variable.  Those names stay
in the suggested ``only:`` list; because nothing proves they come from ftorch (they may be
external procedures), FT001 then offers no automatic fix: a fix must never turn a compiling
file into one that does not compile.
"""

from __future__ import annotations

from fparser.two import Fortran2003 as F03
from fparser.two import Fortran2008 as F08

from ..model import SCOPE_CLASSES, iter_nodes

#: Intrinsic procedures of Fortran 2018 (and common vendor extensions).
INTRINSICS = frozenset(
    """
abs achar acos acosh adjustl adjustr aimag aint all allocated anint any asin asinh associated atan atan2
atanh atomic_add atomic_and atomic_cas atomic_define atomic_fetch_add atomic_fetch_and atomic_fetch_or
atomic_fetch_xor atomic_or atomic_ref atomic_xor bessel_j0 bessel_j1 bessel_jn bessel_y0 bessel_y1
bessel_yn bge bgt bit_size ble blt btest ceiling char cmplx co_broadcast co_max co_min co_reduce co_sum
command_argument_count conjg cos cosh count cpu_time cshift date_and_time dble digits dim dot_product
dprod dshiftl dshiftr eoshift epsilon erf erfc erfc_scaled event_query execute_command_line exp
exponent extends_type_of findloc floor fraction gamma get_command get_command_argument
get_environment_variable huge hypot iachar iall iand iany ibclr ibits ibset ichar ieor image_index
index int ior iparity is_contiguous is_iostat_end is_iostat_eor ishft ishftc kind lbound lcobound
leadz len len_trim lge lgt lle llt log log10 log_gamma logical maskl maskr matmul max maxexponent
maxloc maxval merge merge_bits min minexponent minloc minval mod modulo move_alloc mvbits nearest
new_line nint norm2 not null num_images pack parity popcnt poppar precision present product radix
random_init random_number random_seed range rank real repeat reshape rrspacing same_type_as scale
scan selected_char_kind selected_int_kind selected_real_kind set_exponent shape shifta shiftl shiftr
sign sin sinh size spacing spread sqrt stopped_images storage_size sum system_clock tan tanh
this_image tiny trailz transfer transpose trim ubound ucobound unpack verify
dfloat dabs dsqrt dexp dlog dlog10 dsin dcos dtan datan datan2 dsinh dcosh dtanh dmax1 dmin1 amax1
amin1 max0 min0 float sngl idint ifix iabs isign dsign alog alog10 cabs ccos cexp clog csin csqrt
dint dnint idnint amod dmod loc sizeof flush getarg iargc exit abort system etime dtime
c_loc c_funloc c_associated c_f_pointer c_f_procpointer c_sizeof
""".split()
)

ISO_C_BINDING = frozenset(
    """
c_int c_short c_long c_long_long c_signed_char c_size_t c_int8_t c_int16_t c_int32_t c_int64_t
c_int_least8_t c_int_least16_t c_int_least32_t c_int_least64_t c_int_fast8_t c_int_fast16_t
c_int_fast32_t c_int_fast64_t c_intmax_t c_intptr_t c_ptrdiff_t c_float c_double c_long_double
c_float_complex c_double_complex c_long_double_complex c_bool c_char c_null_char c_alert c_backspace
c_form_feed c_new_line c_carriage_return c_horizontal_tab c_vertical_tab c_ptr c_funptr c_null_ptr
c_null_funptr c_loc c_funloc c_associated c_f_pointer c_f_procpointer c_sizeof
""".split()
)
ISO_FORTRAN_ENV = frozenset(
    """
atomic_int_kind atomic_logical_kind character_kinds character_storage_size current_team error_unit
event_type file_storage_size initial_team input_unit int8 int16 int32 int64 integer_kinds
iostat_end iostat_eor iostat_inquire_internal_unit lock_type logical_kinds numeric_storage_size
output_unit parent_team real16 real32 real64 real128 real_kinds stat_failed_image stat_locked
stat_locked_other_image stat_stopped_image stat_unlocked stat_unlocked_failed_image team_type
compiler_options compiler_version
""".split()
)
KNOWN_MODULES = {"iso_c_binding": ISO_C_BINDING, "iso_fortran_env": ISO_FORTRAN_ENV}

#: Statements whose names define something (procedures, interfaces, types, constructs).
_DEFINING = (
    F03.Subroutine_Stmt,
    F03.Function_Stmt,
    F03.Module_Stmt,
    F03.Program_Stmt,
    F03.Derived_Type_Stmt,
    F03.Interface_Stmt,
    F03.Procedure_Stmt,
    F03.Label_Do_Stmt,
    F03.Nonlabel_Do_Stmt,
    F03.If_Then_Stmt,
    F03.Select_Case_Stmt,
    F03.External_Stmt,
    F03.Intrinsic_Stmt,
    F03.Namelist_Stmt,
    F08.Block_Stmt,
    F03.Specific_Binding,
    F03.Generic_Binding,
    F03.Final_Binding,
)
#: Statements whose names are neither definitions nor references FT001 must account for.
_NOT_REFERENCES = _DEFINING + (
    F03.End_Subroutine_Stmt,
    F03.End_Function_Stmt,
    F03.End_Module_Stmt,
    F03.End_Program_Stmt,
    F03.End_Type_Stmt,
    F03.End_Interface_Stmt,
    F03.Use_Stmt,
    F03.End_Do_Stmt,
    F03.End_If_Stmt,
    F03.Else_If_Stmt,
    F03.Else_Stmt,
    F03.End_Select_Stmt,
    F03.Case_Stmt,
    F03.Cycle_Stmt,
    F03.Exit_Stmt,
    F03.Format_Stmt,
    F03.Implicit_Stmt,
    F03.Contains_Stmt,
    F08.End_Block_Stmt,
)


def _definitions(tree) -> set[str]:
    """Names the file itself defines: procedures, generics, types, namelists, externals, constructs."""
    out: set[str] = set()
    for node in iter_nodes(tree):
        if isinstance(node, _DEFINING) or isinstance(node, F03.Derived_Type_Def):
            for n in iter_nodes(node):
                if isinstance(n, (F03.Name, F03.Type_Name)):
                    out.add(str(n).lower())
        elif isinstance(node, F03.Association):
            out.add(str(node.items[0]).lower())
    return out


def _is_reference(node) -> bool:
    """Is this Name a reference (not a keyword, component, or a name in a defining statement)?"""
    child, parent = node, getattr(node, "parent", None)
    while parent is not None:
        if isinstance(parent, (F03.Actual_Arg_Spec, F03.Component_Spec)) and parent.items[0] is child:
            return False
        if isinstance(parent, F03.Data_Ref) and parent.items[0] is not child:
            return False
        if isinstance(parent, F03.Procedure_Designator) and parent.items[0] is not child:
            return False
        if isinstance(parent, _NOT_REFERENCES):
            return False
        if isinstance(parent, F03.Association) and parent.items[0] is child:
            return False
        if isinstance(parent, F03.Derived_Type_Def):
            return isinstance(child, F03.Data_Component_Def_Stmt) and _in_type_spec(node, child)
        if isinstance(parent, SCOPE_CLASSES):
            return True
        child, parent = parent, getattr(parent, "parent", None)
    return True


def _in_type_spec(node, stop) -> bool:
    n = getattr(node, "parent", None)
    while n is not None and n is not stop:
        if isinstance(
            n,
            (
                F03.Declaration_Type_Spec,
                F03.Kind_Selector,
                F03.Length_Selector,
                F03.Explicit_Shape_Spec,
                F03.Assumed_Shape_Spec,
            ),
        ):
            return True
        n = getattr(n, "parent", None)
    return False


def _implicit_none(model) -> set[int]:
    """ids of scopes with their own `implicit none`."""
    out = set()
    for node in iter_nodes(model.tree):
        if isinstance(node, F03.Implicit_Stmt) and "none" in str(node).lower():
            s = model.scope_of(node)
            if s is not None:
                out.add(id(s))
    return out


def unexplained_names(ctx) -> dict[int, tuple[dict[str, str], bool]]:
    """id(bare ftorch use) -> ({lower-case name: spelling} it may have to provide, ambiguous?).

    The names are referenced in scopes that see the use and explained by nothing else; the
    flag is set when another bare ``use`` of a module with unknown exports, or implicit
    typing, could explain one of them instead."""
    from .. import ftorch_api as api

    m = ctx.model
    local = _definitions(m.tree) | {s.name.lower() for s in m.scopes if s.name}
    strict = _implicit_none(m)
    out: dict[int, tuple[dict[str, str], bool]] = {}
    seen: set[tuple[int, str]] = set()
    for node in iter_nodes(m.tree):
        if not isinstance(node, (F03.Name, F03.Type_Name)):
            continue
        low = str(node).lower()
        if low in local or low in INTRINSICS or not _is_reference(node):
            continue
        scope = m.scope_of(node)
        if scope is None or (id(scope), low) in seen:
            continue
        seen.add((id(scope), low))
        target, ambiguous, implicit_ok = None, False, True
        s = scope
        while s is not None:
            if id(s) in strict:
                implicit_ok = False
            if low in s.vars or low in s.dtypes or low in s.funcs:
                target = False
                break
            provided = False
            for u in s.uses:
                if low in u.names:
                    provided = True
                elif u.wildcard and u.ftorch:
                    if api.provides(u.module, low):
                        provided = True
                    elif target is None:
                        target = u
                elif u.wildcard:
                    known = KNOWN_MODULES.get(u.module)
                    exp = m.exports.get(u.module)
                    if known is not None:
                        provided = provided or low in known
                    elif exp is not None and exp.provides(low):
                        provided = True
                    else:
                        provided = True  # a module with unknown exports may give it
            if provided:
                target = False
                break
            if s.interface_body:
                hi = s.host_import
                if hi is None or (hi != "all" and low not in hi):
                    break
            s = s.parent
        if not target or implicit_ok:
            continue
        names, amb = out.get(id(target), ({}, False))
        names.setdefault(low, str(node))
        out[id(target)] = (names, amb or ambiguous)
    return out
