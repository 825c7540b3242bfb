"""pyftorch's version: the repository's VERSION file, the one place it is written.

CMake reads the same file for libftorch (``ft_version()``, ``FT_VERSION_*`` in ftorch.h,
``ftorch_version`` in Fortran, the CMake package version) and setup.cfg for the Python
distribution (``version = file: VERSION``).  In a source checkout the file is read directly,
so an edited VERSION shows without reinstalling; an installed wheel uses its metadata.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def read_version() -> str:
    version_file = _ROOT / "VERSION"
    if version_file.is_file() and (_ROOT / "fsrc" / "CMakeLists.txt").is_file():
        return version_file.read_text().strip()
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyftorch")
    except PackageNotFoundError:
        return "unknown"


__version__ = read_version()
