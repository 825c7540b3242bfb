"""Operator-overhead benchmarks: every case in every variant, side by side in one run.

Each benchmarked callable performs the case's operation `n` times (bench.cases sets n per
case and size so that a call takes milliseconds); the per-operation time is the median
divided by n, which `pyftorch bench` reports.  With --benchmark-disable (as in `make
test`) each kernel still runs once, and every test checks the variant's result against
the reference: the benchmarks cannot rot silently.  No test asserts a time.  A training
step is checked after CHECK_RUNS steps from a fresh load: the first layer's weight must
equal Python PyTorch's (bench.training.reference).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import _ftshim, training
from bench.cases import CASES, case_inputs, expected, parameters, size_label, tolerance

#: Operations of the correctness check, run on a fresh set-up after the measurement.
CHECK_RUNS = 2


@pytest.mark.parametrize(
    "case, size, dtype, variant",
    [pytest.param(*p, id=f"{p[0]}-{size_label(p[1])}-{p[2]}-{p[3]}") for p in parameters()],
)
def test_ops(benchmark, variants, case, size, dtype, variant):
    spec = CASES[case]
    impl = variants[variant]
    a, b = case_inputs(spec, size, dtype)
    n = spec.iterations(size)
    benchmark.group = f"{case} size={size_label(size)} {dtype}"
    benchmark.name = f"{case}[{size_label(size)}-{dtype}-{variant}]"
    benchmark.extra_info.update(spec.info(), size=size, dtype=dtype, variant=variant, ops_per_call=n)
    if variant == "pyftorch":
        benchmark.extra_info["binding"] = _ftshim.binding_name()

    live = _ftshim.library().ft_live_tensors()
    impl.setup(spec, size, dtype, a, b)
    try:
        benchmark(impl.loop(spec), n)
    finally:
        impl.teardown()

    # Correctness, independent of how often the benchmark ran the loop.
    impl.setup(spec, size, dtype, a, b)
    try:
        impl.loop(spec)(CHECK_RUNS)
        got = impl.result(spec.output)
    finally:
        impl.teardown()
    if spec.training:
        initial, want = training.reference(dtype, CHECK_RUNS)
        # The reference did train: each Adam step moves most weights by about LR.
        assert np.median(np.abs(want - initial)) > 0.5 * CHECK_RUNS * training.LR
        np.testing.assert_allclose(
            got,
            want,
            rtol=0,
            atol=training.tolerance(dtype),
            err_msg=f"{variant} {case} batch={size} {dtype}: first-layer weight",
        )
    else:
        np.testing.assert_allclose(
            got,
            expected(spec, a, b, CHECK_RUNS),
            rtol=tolerance(dtype),
            atol=0,
            err_msg=f"{variant} {case} size={size} {dtype}",
        )
    assert _ftshim.library().ft_live_tensors() == live, f"{variant} {case}: live tensor handles changed"
