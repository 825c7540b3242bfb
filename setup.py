"""Build hook: compile libftorch with CMake and ship it inside the ``pyftorch`` package.

``setup.cfg`` holds the metadata; this file only adds the native build.  ``build_py`` runs,
after copying the Python sources, a CMake build of ``fsrc/`` installed into
``pyftorch/_native`` of the build directory: ``lib/libftorch.so``, ``include/ftorch.h``,
``include/ftorch/*.mod``, ``share/ftorch/fortran/*.f90`` (the module sources),
``lib/cmake/FTorch`` (the CMake package) and ``lib/pkgconfig/ftorch.pc``.  It also copies
the example programs into ``pyftorch/examples`` for ``pyftorch demo``.

LibTorch comes from the torch installed in the *target* environment, never from a
download: libftorch must load next to that very torch.  pip builds in an isolated
environment that hides the target's site-packages, so the torch is looked up by running
the target interpreter (``sys.executable``) outside that isolation.  When no torch is found
the native build is skipped, with a message, and the result is the pure-Python package
(``pyftorch lint`` needs nothing else).

Environment variables:

``PYFTORCH_BUILD_NATIVE``
    ``auto`` (default): build when torch and CMake are found, else skip and say why;
    ``1``: the native build is required (fail instead of skipping); ``0``: never build it.
``PYFTORCH_BUILD_FORTRAN``
    ``auto`` (default): build the Fortran module when a Fortran compiler is found (``FC``,
    else gfortran, flang-new, flang, ifx); ``0``: the C ABI only.
``CMAKE_BUILD_PARALLEL_LEVEL``
    parallel compile jobs (default: the number of CPUs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: The torch release the project is tested with; the ``torch`` extra pins it unless the
#: library is built against another one, which the extra then pins instead.
TESTED_TORCH = "2.13.0"
#: Examples shipped as package data (``pyftorch demo`` builds and runs them).
EXAMPLES = ("autograd", "online_training")

_PROBE = (
    "import json, os, torch; "
    "print(json.dumps({'version': torch.__version__, 'cmake_prefix': torch.utils.cmake_prefix_path, "
    "'libdir': os.path.join(os.path.dirname(torch.__file__), 'lib')}))"
)


def _say(message: str) -> None:
    print(f"pyftorch build: {message}", file=sys.stderr, flush=True)


@cache
def find_torch() -> dict | None:
    """Version, CMake prefix and library directory of the target environment's torch, or None."""
    # First as we run (a build without isolation: the target environment itself).  Then
    # without pip's isolation: it prepends its own site directory through PYTHONPATH and
    # hides the interpreter's site-packages; the same interpreter without those variables
    # sees the environment the package is being installed into.
    isolated = ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME")
    for env in (None, {k: v for k, v in os.environ.items() if k not in isolated}):
        try:
            out = subprocess.run(
                [sys.executable, "-c", _PROBE],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
                cwd="/",
            )
        except (OSError, subprocess.SubprocessError):
            continue
        return json.loads(out.stdout)
    return None


def _mode(name: str) -> str:
    value = os.environ.get(name, "auto").strip().lower()
    return {"": "auto", "true": "1", "yes": "1", "on": "1", "false": "0", "no": "0", "off": "0"}.get(value, value)


def native_plan() -> tuple[dict | None, str]:
    """(torch, reason): torch is None when the native build is skipped, with the reason."""
    mode = _mode("PYFTORCH_BUILD_NATIVE")
    if mode == "0":
        return None, "PYFTORCH_BUILD_NATIVE=0"
    torch = find_torch()
    reason = ""
    if torch is None:
        reason = (
            f"torch is not installed in the target environment; install torch=={TESTED_TORCH} first "
            f"(pip install torch=={TESTED_TORCH}) and reinstall pyftorch to get libftorch"
        )
    elif shutil.which("cmake") is None:
        reason = "cmake is not on PATH (apt-get install cmake, or pip install cmake)"
    if reason and mode == "1":
        raise SystemExit(f"pyftorch build: PYFTORCH_BUILD_NATIVE=1 but {reason}")
    return (None if reason else torch), reason


def fortran_compiler() -> str | None:
    if _mode("PYFTORCH_BUILD_FORTRAN") == "0":
        return None
    for candidate in (os.environ.get("FC"), "gfortran", "flang-new", "flang", "ifx"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def torch_extra() -> list[str]:
    """The ``torch`` extra: the release libftorch is built against (its ABI is not stable)."""
    torch = find_torch() if _mode("PYFTORCH_BUILD_NATIVE") != "0" else None
    version = torch["version"].split("+")[0] if torch else TESTED_TORCH
    return [f"torch=={version}"]


class BuildPy(build_py):
    """build_py, then the CMake build of libftorch into ``pyftorch/_native``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable checkout uses build/install (make build)
        package = Path(self.build_lib) / "pyftorch"
        self.copy_examples(package / "examples")
        torch, reason = native_plan()
        if torch is None:
            shutil.rmtree(package / "_native", ignore_errors=True)  # from an earlier build
            _say(
                f"skipping libftorch: {reason}.  The package is pure Python: `pyftorch lint` works, "
                "the binding, `pyftorch config` and `pyftorch demo` need libftorch."
            )
            return
        self.build_native(torch, package / "_native")

    def copy_examples(self, dest: Path) -> None:
        for name in EXAMPLES:
            src = ROOT / "examples" / name
            if not src.is_dir():
                continue
            target = dest / name
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted(src.iterdir()):
                if path.is_file():
                    shutil.copy2(path, target / path.name)

    def build_native(self, torch: dict, prefix: Path) -> None:
        fc = fortran_compiler()
        build_dir = Path(self.build_lib).parent / "cmake-ftorch"
        if prefix.exists():
            shutil.rmtree(prefix)
        args = [
            "cmake",
            "-S",
            str(ROOT / "fsrc"),
            "-B",
            str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_PREFIX_PATH={torch['cmake_prefix']}",
            f"-DCMAKE_INSTALL_PREFIX={prefix}",
            "-DCMAKE_INSTALL_LIBDIR=lib",
            f"-DPython_EXECUTABLE={sys.executable}",
            # pyftorch/_native/lib -> site-packages/torch/lib: the torch of the same environment,
            # wherever the environment is (a wheel must not carry its build machine's paths).
            "-DFTORCH_INSTALL_RPATH=$ORIGIN;$ORIGIN/../../../torch/lib",
            f"-DFTORCH_BUILD_FORTRAN={'ON' if fc else 'OFF'}",
        ]
        if fc:
            args.append(f"-DCMAKE_Fortran_COMPILER={fc}")
        fypp = shutil.which("fypp") or shutil.which("fypp", path=str(Path(sys.executable).parent))
        if fypp:
            args.append(f"-DFYPP={fypp}")
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        if not fc:
            why = "PYFTORCH_BUILD_FORTRAN=0" if _mode("PYFTORCH_BUILD_FORTRAN") == "0" else "no Fortran compiler found"
            _say(
                f"{why} (set FC, or install gfortran): building the C ABI and the Python binding only; "
                "Fortran programs cannot use this installation"
            )
        _say(f"building libftorch against torch {torch['version']} ({torch['cmake_prefix']})")
        if (build_dir / "CMakeCache.txt").exists():
            (build_dir / "CMakeCache.txt").unlink()  # another torch or prefix: configure afresh
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        for cmd in (args, ["cmake", "--build", str(build_dir), "-j", jobs], ["cmake", "--install", str(build_dir)]):
            subprocess.run(cmd, check=True, stdout=None if self.verbose else subprocess.DEVNULL)
        _say(f"libftorch installed in the package: {prefix}")


class NativeDistribution(Distribution):
    """A distribution whose wheel is platform-specific when it carries libftorch."""

    def has_ext_modules(self) -> bool:
        return native_plan()[0] is not None


setup(
    distclass=NativeDistribution,
    cmdclass={"build_py": BuildPy},
    extras_require={"torch": torch_extra()},
)
