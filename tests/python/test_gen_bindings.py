"""fsrc/tools/gen_bindings.py: ftorch.h is the one source of the Fortran bind(c) interfaces.

The generated module must cover the header completely, follow the documented type
conventions, refuse headers it cannot read, and turn a header change into a Fortran
interface change that the compiler enforces on the hand-written callers.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests import abi_header
from tests.conftest import ROOT

gen = abi_header.generator()
FORTRAN = ROOT / "fsrc" / "fortran"
BUILD_GENERATED = ROOT / "build" / "generated" / "ftorch_cbind.f90"


def generate(text: str) -> str:
    return gen.generate(gen.parse([text, '#define FT_VERSION_STRING "9.9.9"\n']), ["test.h"])


def interface(module: str, name: str) -> str:
    m = re.search(
        rf"^    (?:function|subroutine) {name}\(.*?^    end (?:function|subroutine) {name}$", module, flags=re.S | re.M
    )
    assert m, f"no interface for {name}"
    return m.group(0)


def test_every_function_enumerator_and_struct_of_the_header_is_generated():
    header = abi_header.parsed()
    module = generate(abi_header.HEADER.read_text())
    for f in header.functions:
        body = interface(module, f.name)
        assert f'bind(c, name="{f.name}")' in body
        assert re.search(rf"\b{f.name}\(([^)]*)\)", body).group(1).replace(" &\n", "").replace(" ", "").split(",") == (
            [p.name for p in f.params] or [""]
        )
    for items in header.enums.values():
        for name, value in items:
            assert f"integer(c_int), parameter, public :: {name.lower()} = {value}\n" in module
    assert "type, bind(c), public :: ft_optim_options" in module
    assert len(header.functions) >= 70


def test_build_uses_the_module_generated_from_the_current_header():
    if not BUILD_GENERATED.exists():
        pytest.skip("no CMake build in build/ (make build)")
    version = (ROOT / "build" / "generated" / "include" / "ftorch_version.h").read_text()
    expected = gen.generate(gen.parse([abi_header.HEADER.read_text(), version]), ["ftorch.h", "ftorch_version.h"])
    assert BUILD_GENERATED.read_text() == expected


def test_no_hand_written_bind_c_interface_remains():
    """The interfaces exist once, generated; the hand-written modules only `use ftorch_cbind`."""
    offenders = []
    for path in sorted(FORTRAN.glob("*.f*")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"bind\s*\(\s*c\s*,\s*name\s*=", line, flags=re.I):
                offenders.append(f"{path.name}:{n}")
    assert not offenders, "hand-written bind(c) interfaces (declare the function in ftorch.h instead): " + ", ".join(
        offenders
    )


CONVENTIONS = """
typedef struct ft_tensor_s *ft_tensor;
typedef struct opts { double a; int b, c; } opts;
enum ft_e { FT_A = 0, FT_B, FT_C = 1u << 4, FT_D = FT_C | 1 };
FT_API int f_scalars(int i, unsigned u, int64_t l, uint64_t ul, double d);
FT_API int f_pointers(void *data, const int64_t *shape, int *n, int64_t *count, double *x, void **p,
                      const int64_t **sizes);
FT_API int f_handles(ft_tensor t, const ft_tensor *inputs, ft_tensor *out, FT_INOUT ft_tensor *lhs,
                     FT_INOUT FT_ARRAY ft_tensor *outputs, FT_ARRAY int *values);
FT_API int f_strings(const char *name, char *buf, int len);
FT_API int f_struct(const opts *in, opts *out);
FT_API void f_void(void);
FT_API const char *f_string(void);
FT_API int64_t f_count(void);
FT_API int f_more(size_t n, float f, int32_t i, const double *x);
"""


def test_type_conventions():
    module = generate(CONVENTIONS)
    body = interface(module, "f_scalars")
    for decl in (
        "integer(c_int), value :: i",
        "integer(c_int), value :: u",
        "integer(c_int64_t), value :: l",
        "integer(c_int64_t), value :: ul",
        "real(c_double), value :: d",
        "integer(c_int) :: ret",
    ):
        assert decl in body
    body = interface(module, "f_pointers")
    for decl in (
        "type(c_ptr), value :: data",
        "integer(c_int64_t), intent(in) :: shape(*)",
        "integer(c_int), intent(out) :: n",
        "integer(c_int64_t), intent(out) :: count",
        "real(c_double), intent(out) :: x",
        "type(c_ptr), intent(out) :: p",
        "type(c_ptr), intent(out) :: sizes",
    ):
        assert decl in body
    body = interface(module, "f_handles")
    for decl in (
        "type(c_ptr), value :: t",
        "type(c_ptr), intent(in) :: inputs(*)",
        "type(c_ptr), intent(out) :: out",
        "type(c_ptr), intent(inout) :: lhs",
        "type(c_ptr), intent(inout) :: outputs(*)",
        "integer(c_int), intent(out) :: values(*)",
    ):
        assert decl in body
    body = interface(module, "f_strings")
    assert "character(kind=c_char), intent(in) :: name(*)" in body
    assert "character(kind=c_char), intent(out) :: buf(*)" in body
    body = interface(module, "f_struct")
    assert "type(opts), intent(in) :: in\n" in body and "type(opts), intent(out) :: out\n" in body
    assert "import :: c_int, opts" in body
    assert 'subroutine f_void() bind(c, name="f_void")' in interface(module, "f_void")
    assert "type(c_ptr) :: ret" in interface(module, "f_string")
    assert "integer(c_int64_t) :: ret" in interface(module, "f_count")
    assert "ft_a = 0\n" in module and "ft_b = 1\n" in module and "ft_c = 16\n" in module and "ft_d = 17\n" in module
    assert "integer(c_int) :: b\n" in module and "integer(c_int) :: c\n" in module
    assert 'character(len=*), parameter, public :: ft_version_string = "9.9.9"' in module
    body = interface(module, "f_more")
    for decl in (
        "integer(c_size_t), value :: n",
        "real(c_float), value :: f",
        "integer(c_int32_t), value :: i",
        "real(c_double), intent(in) :: x(*)",
    ):
        assert decl in body
    assert (
        "use, intrinsic :: iso_c_binding, only: c_char, c_double, c_float, c_int, c_int32_t, c_int64_t, "
        "c_ptr, c_size_t\n" in module
    )


@pytest.mark.parametrize(
    "bad,message",
    [
        ("FT_API int f(bool x);", "unknown type"),
        ("FT_API int f(int);", "needs a type and a name"),
        ("FT_API int f(opts_t x);", "unknown type"),
        ("FT_API int f(FT_INOUT int x);", "not a pointer"),
        ("FT_API int f(int (*cb)(int));", "not of the form"),
        ("FT_API int f(int x);\nFT_API int f(int y);", "declared twice"),
        ("enum e { A = foo() };", "unsupported enumerator"),
        ("FT_API int ft_x(int a);\nenum e { FT_X = 1 };", "declared twice"),
    ],
)
def test_headers_outside_the_strict_form_are_refused(bad, message):
    with pytest.raises(gen.HeaderError, match=message):
        generate(bad.replace("FT_API int f(", "FT_API int ft_f("))


def test_generator_cli_writes_the_module(tmp_path):
    out = tmp_path / "cbind.f90"
    subprocess.run(["python3", str(abi_header.GENERATOR), str(out), str(abi_header.HEADER)], check=True)
    assert out.read_text().startswith("! GENERATED by fsrc/tools/gen_bindings.py")
    bad = tmp_path / "bad.h"
    bad.write_text("FT_API int ft_f(bool x);\n")
    proc = subprocess.run(
        ["python3", str(abi_header.GENERATOR), str(tmp_path / "x.f90"), str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "unknown type 'bool'" in proc.stderr


def test_a_signature_change_in_the_header_reaches_the_fortran_callers(install, tmp_path):
    """Throw-away change: ft_optim_set_lr(ft_optim o, double lr) -> (ft_optim o, int64_t lr).

    The regenerated interface changes, and the hand-written caller in ftorch_optim.f90, which
    passes a real(c_double), no longer compiles: the compiler enforces the header."""
    gfortran = shutil.which("gfortran")
    if gfortran is None:
        pytest.skip("gfortran is not installed")
    text = abi_header.HEADER.read_text()
    old = "FT_API int ft_optim_set_lr(ft_optim o, double lr);"
    assert old in text
    version = (install.include_dir / "ftorch_version.h").read_text()

    def compile_optim(header_text: str, where) -> subprocess.CompletedProcess:
        where.mkdir()
        cbind = where / "ftorch_cbind.f90"
        cbind.write_text(gen.generate(gen.parse([header_text, version]), ["ftorch.h"]))
        subprocess.run(
            [gfortran, "-c", str(cbind), f"-J{where}", "-o", str(where / "cbind.o")], check=True, capture_output=True
        )
        return subprocess.run(
            [
                gfortran,
                "-fsyntax-only",
                f"-J{where}",
                f"-I{where}",
                f"-I{install.module_dir}",
                str(FORTRAN / "ftorch_optim.f90"),
            ],
            capture_output=True,
            text=True,
        )

    assert compile_optim(text, tmp_path / "same").returncode == 0
    changed = text.replace(old, "FT_API int ft_optim_set_lr(ft_optim o, int64_t lr);")
    assert "integer(c_int64_t), value :: lr" in interface(generate(changed), "ft_optim_set_lr")
    proc = compile_optim(changed, tmp_path / "changed")
    assert proc.returncode != 0
    assert "ft_optim_set_lr" in proc.stderr or "lr" in proc.stderr, proc.stderr
