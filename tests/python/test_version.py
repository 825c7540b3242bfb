"""The version is written once (VERSION) and read everywhere: pyftorch, the CLI, the C
header, the library, the Fortran module and the CMake package."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT, fortran_env, run

VERSION = (ROOT / "VERSION").read_text().strip()


def test_version_file_is_a_plain_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_python_package_and_cli_report_the_version(install):
    import importlib.metadata

    import pyftorch

    assert pyftorch.__version__ == VERSION
    assert importlib.metadata.version("pyftorch") == VERSION  # setup.cfg: version = file: VERSION
    out = run([sys.executable, "-m", "pyftorch", "--version"]).stdout.strip()
    assert out == f"pyftorch {VERSION} (libftorch {VERSION}, FTorch API 1.1)"
    assert run([sys.executable, "-m", "pyftorch", "config", "--version"]).stdout.strip() == VERSION
    assert run([sys.executable, "-m", "pyftorch", "config", "--api-version"]).stdout.strip() == "1.1"


def test_library_and_header_report_the_version(install, lib):
    assert lib.version == VERSION
    header = (install.include_dir / "ftorch_version.h").read_text()
    macros = dict(re.findall(r"#define (FT_\w+) (\S+)", header))
    major, minor, patch = VERSION.split(".")
    assert (macros["FT_VERSION_MAJOR"], macros["FT_VERSION_MINOR"], macros["FT_VERSION_PATCH"]) == (major, minor, patch)
    assert macros["FT_VERSION_STRING"] == f'"{VERSION}"'
    assert macros["FT_FTORCH_API_VERSION_STRING"] == '"1.1"'
    assert '#include "ftorch_version.h"' in (install.include_dir / "ftorch.h").read_text()


def test_fortran_constants_report_the_version(fortran, tmp_path):
    src = tmp_path / "version.f90"
    src.write_text(
        "program version\n"
        "  use ftorch, only: ftorch_version, ftorch_version_major, ftorch_version_minor, ftorch_version_patch, &\n"
        "                    ftorch_api_version\n"
        "  implicit none\n"
        "  print '(a, 1x, i0, 1x, i0, 1x, i0, 1x, a)', ftorch_version, ftorch_version_major, ftorch_version_minor, &\n"
        "      ftorch_version_patch, ftorch_api_version\n"
        "end program version\n"
    )
    out = subprocess.run([str(fortran.build(src))], env=fortran_env(), capture_output=True, text=True, check=True)
    major, minor, patch = VERSION.split(".")
    assert out.stdout.split() == [VERSION, major, minor, patch, "1.1"]
