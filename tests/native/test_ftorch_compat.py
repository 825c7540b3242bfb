"""FTorch drop-in parity: a program written against FTorch's documented API only builds with
find_package(FTorch 1.1 REQUIRED), runs, and trains exactly as PyTorch does; the CMake
package accepts the FTorch API level and the library's own version and refuses others."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, fortran_env, run

torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent / "ftorch_compat"
PASSED = "\x1b[32mPASSED\x1b[0m"


def _cmake_generator() -> list[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else []


@pytest.fixture(scope="module")
def compat_run(install, tmp_path_factory):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    work = tmp_path_factory.mktemp("ftorch_compat")
    torch.manual_seed(7)
    linear = torch.nn.Linear(3, 2).double()
    model_file = work / "linear.pt"
    torch.jit.script(linear).save(str(model_file))
    build = work / "build"
    run(["cmake", "-S", str(HERE), "-B", str(build), *_cmake_generator(), f"-DCMAKE_PREFIX_PATH={install.prefix}"])
    run(["cmake", "--build", str(build)])
    proc = subprocess.run(
        [str(build / "ftorch_compat"), str(model_file), str(work / "trained.pt")],
        env=fortran_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, model_file


def _value(out: str, key: str) -> np.ndarray:
    line = next(line for line in out.splitlines() if line.startswith(key + " "))
    return np.array([float(v) for v in line.split()[1:]])


def test_ftorch_program_builds_runs_and_passes_its_checks(compat_run):
    proc, _ = compat_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CHECK FAILED" not in proc.stdout
    # FTorch's test_print format, printed by default by assert_allclose / assert_isclose.
    assert f"{PASSED} :: [autograd gradient] relative tolerance =  0.1000E-05" in proc.stdout
    assert f"{PASSED} :: [sum] relative tolerance =  0.1000E-05" in proc.stdout
    assert f"{PASSED} :: [ftorch_compat] all checks" in proc.stdout
    assert "[mean gradient]" not in proc.stdout  # print_result=.false. prints nothing


def test_ftorch_program_trains_like_pytorch(compat_run):
    proc, model_file = compat_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    model = torch.jit.load(str(model_file))
    model.train()
    opt = torch.optim.SGD(list(model.parameters()), lr=0.1)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    target = torch.tensor([0.5, -0.5], dtype=torch.float64)
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), target)
    loss.backward()
    opt.step()
    np.testing.assert_allclose(_value(proc.stdout, "loss"), [loss.item()], rtol=1e-12)
    with torch.no_grad():
        trained = model(x).numpy()
    np.testing.assert_allclose(_value(proc.stdout, "trained_output"), trained, rtol=1e-12)
    logits = torch.tensor([[0.1, 0.2, 0.7], [0.4, 0.3, 0.5]], dtype=torch.float64)
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    ce = torch.nn.functional.cross_entropy(logits, probs)
    np.testing.assert_allclose(_value(proc.stdout, "cross_entropy"), [ce.item()], rtol=1e-12)


@pytest.mark.parametrize(
    "request_,accepted",
    [
        ("1.1", True),
        ("1.0", True),
        ("1", True),
        ("1.0...1.1", True),
        ("0.2", True),
        ("0.2.0", True),
        ("0.1", True),
        ("1.2", False),
        ("2.0", False),
        ("0.3", False),
        ("1.2...1.5", False),
    ],
)
def test_package_version_accepts_the_ftorch_api_level_and_its_own_version(install, tmp_path, request_, accepted):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.19)\nproject(probe LANGUAGES NONE)\n"
        f"find_package(FTorch {request_})\n"
        'message(STATUS "FOUND=${FTorch_FOUND} VERSION=${FTorch_VERSION} API=${FTorch_API_VERSION}")\n'
    )
    proc = subprocess.run(
        ["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b"), f"-DCMAKE_PREFIX_PATH={install.prefix}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    version = (ROOT / "VERSION").read_text().strip()
    if accepted:
        assert f"FOUND=1 VERSION={version} API=1.1" in proc.stdout, proc.stdout + proc.stderr
    else:
        assert "FOUND=0" in proc.stdout, proc.stdout + proc.stderr
