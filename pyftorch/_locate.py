"""Where the native library and its build products live.

Search order (the first hit wins):

1. ``PYFTORCH_LIB``: the path of ``libftorch.so`` itself; its prefix is the directory
   above the one holding it;
2. ``PYFTORCH_PREFIX``: an install prefix (``<prefix>/lib/libftorch.so``);
3. the copy inside the package (``pyftorch/_native``), which ``pip install`` builds;
4. the project's build tree, when this package sits in a source checkout
   (``<checkout>/build/install``);
5. the prefix the package was installed next to (``sys.prefix``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

LIBRARY_NAME = "libftorch.so"


class LibraryNotFound(RuntimeError):
    """libftorch could not be found; the message says where it was looked for."""


@dataclass(frozen=True)
class Install:
    """An installed (or built) copy of libftorch."""

    prefix: Path
    library: Path

    @property
    def include_dir(self) -> Path:
        return self.prefix / "include"

    @property
    def module_dir(self) -> Path:
        return self.prefix / "include" / "ftorch"

    @property
    def cmake_dir(self) -> Path:
        return self.library.parent / "cmake" / "FTorch"

    def build_info(self) -> dict:
        """The record CMake wrote at build time (compiler, torch version, ...)."""
        path = self.cmake_dir / "ftorch-build.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}


def source_checkout() -> Path | None:
    """The repository root when running from a source checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "fsrc" / "CMakeLists.txt").is_file():
        return root
    return None


def package_prefix() -> Path:
    """Where ``pip install`` puts the native library inside the package."""
    return Path(__file__).resolve().parent / "_native"


def examples_dir() -> Path | None:
    """The example programs: the checkout's ``examples/``, else the copy in the package."""
    root = source_checkout()
    for path in ((root / "examples") if root else None, Path(__file__).resolve().parent / "examples"):
        if path is not None and (path / "autograd").is_dir():
            return path
    return None


def candidates() -> list[tuple[str, Path]]:
    """(origin, library path) pairs in search order."""
    found: list[tuple[str, Path]] = []
    if os.environ.get("PYFTORCH_LIB"):
        found.append(("PYFTORCH_LIB", Path(os.environ["PYFTORCH_LIB"])))
    if os.environ.get("PYFTORCH_PREFIX"):
        found.append(("PYFTORCH_PREFIX", Path(os.environ["PYFTORCH_PREFIX"]) / "lib" / LIBRARY_NAME))
    found.append(("package", package_prefix() / "lib" / LIBRARY_NAME))
    root = source_checkout()
    if root is not None:
        found.append(("build tree", root / "build" / "install" / "lib" / LIBRARY_NAME))
    found.append(("install prefix", Path(sys.prefix) / "lib" / LIBRARY_NAME))
    return found


def speedups_path(library: Path) -> Path | None:
    """The compiled ``pyftorch._speedups`` that CMake installs next to ``library``, or None.

    It is built for one Python (its file name carries the ABI tag), so only a name this
    interpreter can import counts.
    """
    from importlib.machinery import EXTENSION_SUFFIXES

    for suffix in EXTENSION_SUFFIXES:
        path = library.parent / f"_speedups{suffix}"
        if path.is_file():
            return path
    return None


def find_install() -> Install:
    """The first libftorch found, or LibraryNotFound naming every place searched."""
    tried = []
    for origin, library in candidates():
        if library.is_file():
            library = library.resolve()
            return Install(prefix=library.parent.parent, library=library)
        tried.append(f"  {origin}: {library}")
        if origin == "PYFTORCH_LIB":
            break  # an explicit choice must not silently fall back to another copy
    raise LibraryNotFound(
        "libftorch was not found. Looked in:\n"
        + "\n".join(tried)
        + "\nInstall torch==2.13.0 and then pyftorch (pip install 'pyftorch[torch]' builds it into the package), "
        "or in a checkout build it with `make build`, or set PYFTORCH_LIB to the path of libftorch.so."
    )
