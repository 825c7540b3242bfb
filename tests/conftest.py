"""Shared fixtures: the installed native library, Fortran builds against it, and the
live-handle checks.

* Every test must leave libftorch's live-handle count where it found it (autouse fixture).
* The whole run must end with no live handle at all (session-finish hook): a leaked
  handle pins a tensor and its autograd graph, in Fortran programs as in Python.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class FortranBuilder:
    """Compiles Fortran programs against the installed ftorch module and library.

    gfortran uses the installed .mod files (the user's path: flags from `pyftorch config`);
    other compilers first compile the installed module sources themselves, because .mod
    files are compiler-specific.
    """

    def __init__(self, install, workdir: Path) -> None:
        from pyftorch import config

        self.install = install
        self.workdir = workdir
        self.cflags = config.cflags(install).split()
        self.libs = config.libs(install).split()
        self._module_objects: dict[str, tuple[Path, list[Path]]] = {}

    def _modules_for(self, compiler: str) -> tuple[list[str], list[Path]]:
        if compiler == "gfortran":
            return self.cflags, []
        if compiler not in self._module_objects:
            out = self.workdir / f"modules-{Path(compiler).name}"
            out.mkdir(parents=True, exist_ok=True)
            src_dir = self.install.prefix / "share" / "ftorch" / "fortran"
            objects = []
            for name in (src_dir / "fortran-sources.txt").read_text().split():
                obj = out / (Path(name).stem + ".o")
                run([compiler, "-O2", "-c", str(src_dir / name), "-o", str(obj)], cwd=out)
                objects.append(obj)
            self._module_objects[compiler] = (out, objects)
        out, objects = self._module_objects[compiler]
        return [f"-I{out}", f"-I{self.install.include_dir}"], objects

    def build(
        self,
        *sources: Path | str,
        name: str | None = None,
        compiler: str = "gfortran",
        flags: tuple[str, ...] = ("-O2",),
    ) -> Path:
        paths = [Path(s) for s in sources]
        digest = hashlib.sha1()
        for p in paths:
            digest.update(p.read_bytes())
        digest.update(" ".join((compiler,) + flags).encode())
        exe = self.workdir / f"{name or paths[0].stem}-{Path(compiler).name}-{digest.hexdigest()[:10]}"
        if exe.exists():
            return exe
        includes, objects = self._modules_for(compiler)
        build_dir = self.workdir / (exe.name + ".d")
        build_dir.mkdir(parents=True, exist_ok=True)
        cmd = [compiler, *flags, *includes, *map(str, paths), *map(str, objects), *self.libs, "-o", str(exe)]
        if compiler == "gfortran":
            cmd.insert(1, f"-J{build_dir}")
        run(cmd, cwd=build_dir)
        return exe


def run(cmd: list[str], cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise AssertionError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def install():
    """The installed libftorch (built by `make build`)."""
    from pyftorch._locate import LibraryNotFound, find_install

    try:
        return find_install()
    except LibraryNotFound as exc:
        pytest.fail(f"{exc}", pytrace=False)


@pytest.fixture(scope="session")
def fortran(install, tmp_path_factory) -> FortranBuilder:
    if shutil.which("gfortran") is None:
        pytest.fail("gfortran is not installed (make test installs it)", pytrace=False)
    return FortranBuilder(install, tmp_path_factory.mktemp("fortran"))


@pytest.fixture(scope="session")
def flang() -> str:
    """A second Fortran compiler that, unlike gfortran 12, finalises function results."""
    for name in ("flang-new-19", "flang-new", "flang"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("flang is not installed (make test installs flang-19)")


def fortran_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["GFORTRAN_ERROR_BACKTRACE"] = "0"
    return env


def _live_handles() -> int | None:
    """The library's live-handle count, or None if no test has loaded the library yet."""
    from pyftorch import _lib

    lib = _lib.loaded()
    return None if lib is None else int(lib.ft_live_handles())


@pytest.fixture(autouse=True)
def _no_leaked_handles():
    """Fail a test that leaves more (or fewer) live library handles than it found."""
    before = _live_handles() or 0  # nothing can be live before the library is loaded
    yield
    after = _live_handles()
    if after is not None and after != before:
        gc.collect()  # cycles (e.g. through a traceback) may still hold tensors
        after = _live_handles()
    if after is not None and after != before:
        pytest.fail(f"the test changed libftorch's live-handle count from {before} to {after}", pytrace=False)


_FINAL_REPORT: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole run the library must hold no live handle (else the run fails)."""
    try:
        from pyftorch import _lib
    except Exception:  # noqa: BLE001 -- pyftorch not importable: other failures say why
        return
    lib = _lib.loaded()
    if lib is None:
        return
    gc.collect()
    live = int(lib.ft_live_handles())
    _FINAL_REPORT.append(
        f"libftorch live handles at the end of the test run: {live}" + (" -- LEAK: failing the run" if live else "")
    )
    if live:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:
    for line in _FINAL_REPORT:
        terminalreporter.write_line(line, red="LEAK" in line, green="LEAK" not in line)
