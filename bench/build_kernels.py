"""Build the compiled benchmark kernels (bench/kernels, a CMake consumer of the install).

The build goes to ``build/bench-kernels`` in the checkout.  It is configured once and then
rebuilt incrementally, so a session after the first costs a no-op ninja run.  The
installed ``.mod`` files are not tracked by CMake's dependency scan, so when they change
the Fortran kernel's object is removed to force its recompilation.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "kernels"
BUILD = ROOT / "build" / "bench-kernels"


@dataclass(frozen=True)
class KernelLibraries:
    fortran: Path
    cxx: Path


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


def _modules_digest(install) -> str:
    digest = hashlib.sha1()
    for mod in sorted(install.module_dir.glob("*.mod")):
        digest.update(mod.name.encode())
        digest.update(mod.read_bytes())
    return digest.hexdigest()


def build(install, build_dir: Path = BUILD) -> KernelLibraries:
    """Configure (once) and build the kernels against `install` (a pyftorch._locate.Install)."""
    import torch

    for tool in ("cmake", "gfortran"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (make test installs the toolchain)")
    prefix = f"{install.prefix};{torch.utils.cmake_prefix_path}"
    stamp = build_dir / "ftorch-prefix.txt"
    if not (build_dir / "CMakeCache.txt").is_file() or not stamp.is_file() or stamp.read_text() != prefix:
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _run(
            [
                "cmake",
                "-S",
                str(SOURCE),
                "-B",
                str(build_dir),
                *generator,
                "-DCMAKE_BUILD_TYPE=Release",
                f"-DCMAKE_PREFIX_PATH={prefix}",
            ]
        )
        stamp.write_text(prefix)
    mods = build_dir / "ftorch-modules.sha1"
    digest = _modules_digest(install)
    if not mods.is_file() or mods.read_text() != digest:
        for obj in (build_dir / "CMakeFiles" / "bench_fortran.dir").glob("*.o"):
            obj.unlink()
    _run(["cmake", "--build", str(build_dir)])
    mods.write_text(digest)
    return KernelLibraries(fortran=build_dir / "libbench_fortran.so", cxx=build_dir / "libbench_cxx.so")
