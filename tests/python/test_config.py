"""`pyftorch config` on a library built without the Fortran module (the C ABI only): the
Fortran flags are refused with the reason, the C ones still answer."""

from __future__ import annotations

import json

import pytest

from pyftorch import config


@pytest.fixture
def prefix(tmp_path, monkeypatch):
    """A minimal install prefix: libftorch.so, ftorch.h and the build record, no .mod files."""
    (tmp_path / "lib" / "cmake" / "FTorch").mkdir(parents=True)
    (tmp_path / "include").mkdir()
    (tmp_path / "lib" / "libftorch.so").write_bytes(b"")
    (tmp_path / "include" / "ftorch.h").write_text("")
    # What CMake writes with FTORCH_BUILD_FORTRAN=OFF: Fortran was never enabled.
    record = {"version": "0", "torch_version": "2.13.0", "fortran_compiler": "", "fortran_compiler_id": ""}
    (tmp_path / "lib" / "cmake" / "FTorch" / "ftorch-build.json").write_text(json.dumps(record))
    monkeypatch.setenv("PYFTORCH_LIB", str(tmp_path / "lib" / "libftorch.so"))
    return tmp_path.resolve()


@pytest.mark.parametrize("flag", ["--fc", "--cflags"])
def test_fortran_flags_refused_without_the_fortran_module(prefix, flag, capsys):
    assert config.main([flag]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "built without the Fortran module" in err and "gfortran" in err, err


def test_c_flags_answer_without_the_fortran_module(prefix, capsys):
    assert config.main(["--libs", "--library", "--torch-version"]) == 0
    lib = prefix / "lib"
    assert capsys.readouterr().out.split() == [
        f"-L{lib}",
        f"-Wl,-rpath,{lib}",
        "-lftorch",
        str(lib / "libftorch.so"),
        "2.13.0",
    ]


def test_fortran_flags_with_the_fortran_module(prefix, capsys):
    (prefix / "include" / "ftorch").mkdir()
    (prefix / "include" / "ftorch" / "ftorch.mod").write_bytes(b"")
    record_path = prefix / "lib" / "cmake" / "FTorch" / "ftorch-build.json"
    record = json.loads(record_path.read_text())
    record["fortran_compiler"] = "/usr/bin/gfortran"
    record_path.write_text(json.dumps(record))
    assert config.main(["--fc", "--cflags"]) == 0
    # answers come in the order of the options' table: cflags, then fc
    assert capsys.readouterr().out.split() == [f"-I{prefix}/include/ftorch", f"-I{prefix}/include", "/usr/bin/gfortran"]
