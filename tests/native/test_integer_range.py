"""Fortran integer arguments that cross into C as a C int are range-checked (issue 9): a
value that does not fit is a torch_stat_invalid_argument failure naming the call and the
argument, never a silent wrap-around (2**32 + 2 threads used to become 2).

A default integer only exceeds a C int when code is built with a wider default integer, so
the module sources (installed for other compilers and flags) and the program are compiled
here with gfortran -fdefault-integer-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fortran_env, run

HERE = Path(__file__).resolve().parent
INVALID_ARGUMENT = 8


@pytest.fixture(scope="module")
def results(install, fortran, tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("integer8")
    src_dir = install.prefix / "share" / "ftorch" / "fortran"
    flags = ["-O1", "-frecursive", "-fdefault-integer-8"]
    objects = []
    for name in (src_dir / "fortran-sources.txt").read_text().split():
        obj = out / (Path(name).stem + ".o")
        run(["gfortran", *flags, "-c", f"-J{out}", str(src_dir / name), "-o", str(obj)], cwd=out)
        objects.append(str(obj))
    exe = out / "integer_range"
    run(
        [
            "gfortran",
            *flags,
            f"-I{out}",
            str(HERE / "fortran" / "integer_range.f90"),
            *objects,
            *fortran.libs,
            "-o",
            str(exe),
        ],
        cwd=out,
    )
    lines = run([str(exe)], env=fortran_env()).stdout.splitlines()
    return {name: rest for name, _, rest in (line.partition(" ") for line in lines)}


@pytest.mark.parametrize(
    "case, procedure, argument, value",
    [
        ("set_num_threads", "torch_set_num_threads", "n", 2**32 + 2),
        ("device_index", "torch_tensor_zeros", "device_index", -(2**31) - 1),
    ],
)
def test_out_of_range_integer_is_refused_with_a_message(results, case, procedure, argument, value):
    stat, _, message = results[case].partition(" ")
    assert int(stat) == INVALID_ARGUMENT, results[case]
    assert message.startswith(f"{procedure}: {argument} = {value} is out of range"), message


def test_refused_constructor_leaves_tensor_unconstructed_and_in_range_values_pass(results):
    assert results["constructed"] == "F"
    assert results["in_range"] == "0"
