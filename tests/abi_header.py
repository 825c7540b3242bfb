"""The C ABI as parsed from ftorch.h, by the same parser that generates the Fortran bindings.

Tests compare every mirror of the ABI (the ctypes table, Python's constants, the generated
Fortran module) with this one parse, so a header change that a mirror misses fails a test.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADER = REPO / "fsrc" / "include" / "ftorch.h"
GENERATOR = REPO / "fsrc" / "tools" / "gen_bindings.py"


def generator():
    """The module fsrc/tools/gen_bindings.py."""
    if "gen_bindings" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gen_bindings", GENERATOR)
        module = importlib.util.module_from_spec(spec)
        sys.modules["gen_bindings"] = module
        spec.loader.exec_module(module)
    return sys.modules["gen_bindings"]


@cache
def parsed(text: str | None = None):
    """The parsed header (functions, enums, structs, handles)."""
    return generator().parse([HEADER.read_text() if text is None else text])


def c_type(param) -> str:
    """A parameter's C type, normalised: ``const int64_t **``, ``ft_tensor *``, ``int``."""
    text = ("const " if param.const else "") + param.base
    return text + (" " + "*" * param.stars if param.stars else "")


def prototypes(text: str | None = None) -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, [parameter C types]) of every FT_API function."""
    return {f.name: (f.ret, [c_type(p) for p in f.params]) for f in parsed(text).functions}


def enumerators(text: str | None = None) -> dict[str, dict[str, int]]:
    """enum tag -> {enumerator: value}."""
    return {tag: dict(items) for tag, items in parsed(text).enums.items()}
