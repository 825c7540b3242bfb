"""Fixtures of the benchmarks: the installed library, the compiled kernels, the variants.

The kernels are built on first use into build/bench-kernels (see bench/build_kernels.py).
Every variant runs LibTorch with one intra-op thread.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def bench_install():
    """The installed libftorch (built by `make build`)."""
    from pyftorch._locate import LibraryNotFound, find_install

    try:
        return find_install()
    except LibraryNotFound as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def variants(bench_install):
    """name -> bench.variants.Variant, all in this process, sharing one LibTorch."""
    import torch

    from bench import _ftshim, build_kernels
    from bench.variants import make_variants

    torch.set_num_threads(1)
    lib = _ftshim.load(str(bench_install.library))
    built = lib.ft_torch_version().decode()
    if built != torch.__version__.split("+")[0]:
        pytest.fail(
            f"libftorch was built against torch {built}, but torch {torch.__version__} is running", pytrace=False
        )
    try:
        kernels = build_kernels.build(bench_install)
    except RuntimeError as exc:
        pytest.fail(f"building the benchmark kernels failed:\n{exc}", pytrace=False)
    found = make_variants(str(kernels.fortran), str(kernels.cxx))
    lib.ft_set_num_threads(1)
    assert torch.get_num_threads() == 1
    return found
