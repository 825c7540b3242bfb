"""The linter's knowledge of the ftorch API is generated from the Fortran sources, and FT001's
`only:` lists keep every name the code may need.

* preprocess/ftorch_api_table.py equals what fsrc/tools/gen_api_table.py reads from
  fsrc/fortran today (any public name added, removed or renamed fails here);
* preprocess.ftorch_api exposes exactly the table's names for module ftorch;
* FT001 keeps names outside the table (other FTorch versions) and then offers no fix.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOOL = ROOT / "fsrc" / "tools" / "gen_api_table.py"


def _tool():
    spec = importlib.util.spec_from_file_location("gen_api_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_table_equals_the_fortran_sources():
    pytest.importorskip("fypp")
    tool = _tool()
    expected = tool.render(tool.collect())
    actual = (ROOT / "preprocess" / "ftorch_api_table.py").read_text()
    assert actual == expected, "preprocess/ftorch_api_table.py is out of date: run fsrc/tools/gen_api_table.py"


def test_table_generator_sees_a_changed_public_list(tmp_path):
    """Throw-away change: rename a public procedure in a copy of the sources -> a different table."""
    pytest.importorskip("fypp")
    tool = _tool()
    src = tmp_path / "fortran"
    src.mkdir()
    for path in (ROOT / "fsrc" / "fortran").iterdir():
        (src / path.name).write_text(path.read_text())
    runtime = src / "ftorch_runtime.f90"
    runtime.write_text(runtime.read_text().replace("torch_manual_seed", "torch_set_seed"))
    ftorch = src / "ftorch.f90"
    ftorch.write_text(ftorch.read_text().replace("torch_manual_seed", "torch_set_seed"))
    changed = tool.collect(src)["ftorch"]
    assert "torch_set_seed" in changed and "torch_manual_seed" not in changed
    assert tool.render(tool.collect(src)) != (ROOT / "preprocess" / "ftorch_api_table.py").read_text()


def test_public_list_parser(tmp_path):
    tool = _tool()
    text = """
module m
  use other, only: a => b, c
  implicit none
  private
  public :: a, f, operator(+), assignment ( = )
  integer, parameter, public :: k1 = 1, k2 = 2  ! comment, public :: not_this
  real, public :: v
  type, bind(c), public :: t
    integer :: public_component
  end type t
  type :: hidden
  end type
  interface f
    module procedure f1
  end interface
contains
  subroutine f1(x)
    integer, public_like :: x
  end subroutine f1
end module m
"""
    assert tool.public_names(text) == {
        "m": {
            "a": "imported",
            "f": "procedure",
            "operator(+)": "generic",
            "assignment(=)": "generic",
            "k1": "constant",
            "k2": "constant",
            "v": "variable",
            "t": "type",
        }
    }
    with pytest.raises(tool.SourceError, match="not private by default"):
        tool.public_names("module p\n  public :: x\nend module p\n")


def test_ftorch_api_exposes_exactly_the_table():
    from preprocess import ftorch_api as api
    from preprocess.ftorch_api_table import MODULES

    ftorch = MODULES["ftorch"]
    assert set(api.NAMES) == {n for n, k in ftorch.items() if k != "generic"}
    assert set(api.OPERATORS) == {n for n, k in ftorch.items() if k == "generic"}
    for alias in api.ALIASES:
        assert alias in MODULES, alias
        assert {n.lower() for n in MODULES[alias] if not n.startswith(("operator", "assignment"))} <= set(api.CANONICAL)
    for name in (
        "torch_lr_scheduler",
        "torch_clip_grad_norm",
        "torch_live_handles",
        "torch_optim_step",
        "torch_manual_seed",
        "ftorch_int",
    ):  # the names the old hand-written table missed
        assert api.canonical(name.lower()) == name
    assert api.OPTIMIZERS <= set(api.CANONICAL) and api.LOSSES <= set(api.CANONICAL)
    assert api.provides("ftorch_devices", "torch_kcpu") and not api.provides("ftorch_devices", "torch_tensor")
    assert api.provides("ftorch_loss", "torch_kmean") and api.provides("ftorch_model", "torch_kcuda")


def lint(tmp_path: Path, source: str, *args: str) -> tuple[list[dict], str]:
    path = tmp_path / "prog.f90"
    path.write_text(source)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyftorch",
            "lint",
            "--no-cache",
            "--select",
            "FT001",
            "--output-format",
            "json",
            *args,
            path.name,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    return (json.loads(proc.stdout) if proc.stdout.strip() else []), path.read_text()


OLD_FTORCH = """\
program old
  use ftorch
  implicit none
  type(torch_module) :: model
  type(torch_tensor) :: t
  call torch_module_load(model, "model.pt")
  call torch_tensor_print(t)
end program old
"""


def test_names_outside_the_table_stay_in_the_list_and_block_the_fix(tmp_path):
    diags, _ = lint(tmp_path, OLD_FTORCH)
    (d,) = diags
    assert "use ftorch, only: torch_module, torch_module_load, torch_tensor, torch_tensor_print" in d["message"]
    assert "no automatic fix" in d["message"] and d["fix"] is None
    _, text = lint(tmp_path, OLD_FTORCH, "--fix")
    assert text == OLD_FTORCH


def test_an_external_procedure_blocks_the_fix(tmp_path):
    source = """\
program ext
  use ftorch
  implicit none
  type(torch_tensor) :: t
  call torch_tensor_print(t)
  call my_external_routine(1)
end program ext
"""
    (d,) = lint(tmp_path, source)[0]
    assert "`my_external_routine`" in d["message"] and d["fix"] is None


def test_names_explained_elsewhere_do_not_block_the_fix(tmp_path):
    source = """\
module helpers
  implicit none
contains
  subroutine helper(n)
    integer, intent(in) :: n
  end subroutine helper
end module helpers

program ok
  use, intrinsic :: iso_fortran_env, only: real64
  use iso_c_binding
  use helpers, only: helper
  use ftorch
  implicit none
  external :: legacy
  real(real64), target :: x(2) = [1.0_real64, 2.0_real64]
  type(torch_tensor) :: t
  integer(c_int) :: n
  n = size(x)
  call torch_tensor_from_array(t, x, torch_kCPU)
  call helper(n)
  call legacy()
  call torch_manual_seed(1)
  print *, torch_live_handles(), sqrt(x(1)), c_sizeof(n)
  call inner()
contains
  subroutine inner()
    call torch_delete(t)
  end subroutine inner
end program ok
"""
    (d,) = lint(tmp_path, source)[0]
    assert d["fix"] is not None, d["message"]
    _, text = lint(tmp_path, source, "--fix")
    assert (
        "use ftorch, only: torch_delete, torch_kCPU, torch_live_handles, torch_manual_seed, torch_tensor, &\n"
    ) in text
    assert "torch_tensor_from_array" in text


def test_names_another_bare_use_may_give_stay_out_of_the_list(tmp_path):
    source = """\
program amb
  use some_library
  use ftorch
  implicit none
  type(torch_tensor) :: t
  call torch_tensor_print(t)
  call library_routine(t, LIBRARY_CONSTANT)
end program amb
"""
    (d,) = lint(tmp_path, source)[0]
    assert d["fix"] is not None and "library" not in d["message"].lower().replace("some_library", "")
    _, text = lint(tmp_path, source, "--fix")
    assert "use ftorch, only: torch_tensor, torch_tensor_print\n" in text


def test_implicitly_typed_names_stay_out_of_the_list(tmp_path):
    source = """\
program imp
  use ftorch
  type(torch_tensor) :: t
  n = 3
  call torch_tensor_print(t)
end program imp
"""
    (d,) = lint(tmp_path, source)[0]
    assert d["fix"] is not None and "`n`" not in d["message"]
