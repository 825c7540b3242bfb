"""``pyftorch config``: what a Fortran build needs, in the manner of pkg-config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyftorch._locate import Install, LibraryNotFound, find_install


def cflags(install: Install) -> str:
    """Compiler flags: the .mod directory and the C header directory."""
    return f"-I{install.module_dir} -I{install.include_dir}"


def libs(install: Install) -> str:
    """Linker flags, with an rpath so programs run without LD_LIBRARY_PATH."""
    libdir = install.library.parent
    return f"-L{libdir} -Wl,-rpath,{libdir} -lftorch"


def fortran_compiler(install: Install) -> str:
    """The Fortran compiler the .mod files were written by (they are compiler-specific)."""
    return install.build_info().get("fortran_compiler", "gfortran")


def has_fortran(install: Install) -> bool:
    """Was the Fortran module built?  A build without a Fortran compiler
    (``PYFTORCH_BUILD_FORTRAN=0``, or none found) ships the C ABI alone: no .mod files."""
    return (install.module_dir / "ftorch.mod").is_file()


def no_fortran_message(install: Install) -> str:
    """What to do about an install without the Fortran module."""
    return (
        f"{install.library} was built without the Fortran module ftorch (PYFTORCH_BUILD_FORTRAN=0, or no "
        "Fortran compiler at build time): it has the C ABI (ftorch.h) and the Python binding only. "
        "To build Fortran programs, install a Fortran compiler (apt-get install gfortran, or set FC) "
        "and rebuild pyftorch from source with PYFTORCH_BUILD_FORTRAN unset"
    )


def version_line() -> str:
    """``pyftorch X.Y.Z``, plus the library's version and FTorch API level when one is found.

    Both come from the repository's VERSION file; a library built from another checkout
    shows its own version here, which is how a mismatch becomes visible.
    """
    from pyftorch._version import __version__

    line = f"pyftorch {__version__}"
    try:
        info = find_install().build_info()
    except LibraryNotFound:
        return line + " (libftorch not found)"
    return (
        line + f" (libftorch {info.get('version', 'unknown')}, FTorch API {info.get('ftorch_api_version', 'unknown')})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``pyftorch config``: print the requested flags; 1 when libftorch is not found."""
    parser = argparse.ArgumentParser(
        prog="pyftorch config",
        description="Print the flags a Fortran build needs to use ftorch.",
        epilog="Example: $(pyftorch config --fc) $(pyftorch config --cflags) prog.f90 $(pyftorch config --libs)",
    )
    parser.add_argument("--cflags", action="store_true", help="include flags (.mod files and ftorch.h)")
    parser.add_argument("--libs", action="store_true", help="linker flags")
    parser.add_argument(
        "--cmake-prefix", action="store_true", help="prefix for CMAKE_PREFIX_PATH (find_package(FTorch))"
    )
    parser.add_argument("--fc", action="store_true", help="the Fortran compiler the modules were built with")
    parser.add_argument("--prefix", action="store_true", help="install prefix")
    parser.add_argument("--library", action="store_true", help="path of libftorch.so")
    parser.add_argument(
        "--modversion",
        "--version",
        dest="modversion",
        action="store_true",
        help="library version (from the repository's VERSION file)",
    )
    parser.add_argument("--api-version", action="store_true", help="the FTorch API level the library implements")
    parser.add_argument("--torch-version", action="store_true", help="LibTorch version the library was built against")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        install = find_install()
    except LibraryNotFound as exc:
        print(f"pyftorch config: {exc}", file=sys.stderr)
        return 1
    info = install.build_info()
    answers = {
        "cflags": lambda: cflags(install),
        "libs": lambda: libs(install),
        "cmake_prefix": lambda: str(install.prefix),
        "fc": lambda: fortran_compiler(install),
        "prefix": lambda: str(install.prefix),
        "library": lambda: str(install.library),
        "modversion": lambda: info.get("version", "unknown"),
        "torch_version": lambda: info.get("torch_version", "unknown"),
        "api_version": lambda: info.get("ftorch_api_version", "unknown"),
    }
    chosen = [name for name in answers if getattr(args, name)]
    if not chosen:
        parser.print_help()
        return 2
    if not has_fortran(install) and {"cflags", "fc"} & set(chosen):
        print(f"pyftorch config: {no_fortran_message(install)}", file=sys.stderr)
        return 1
    print(" ".join(answers[name]() for name in chosen))
    return 0
