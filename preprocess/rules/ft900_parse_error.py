"""FT900 `parse-error`: the file could not be parsed.

## What it does
Reports a file that fparser (the Fortran 2008 parser the linter is built on) cannot parse,
with the line and the source excerpt fparser points at.  The other files are still checked,
and the line-based part of FT001 still runs on this file.

Before giving up the linter already tried: the file as it is; F2018 `implicit none (type,
external)` neutralised; and, if that failed, the file run through `cpp -traditional-cpp`
with the configured `defines`/`include-dirs` (`-D`/`-I`).

## Why is this bad?
The semantic rules (FT002-FT106) cannot check a file that does not parse, so its
problems go unreported.  Common causes: syntax fparser 0.2.5 does not support (assumed rank
`x(..)`, `type(*)`, coarrays, separate module procedures in submodules), function-like
macros used as statements without the right `-D`, or a genuine syntax error.

## Fix
Correct the syntax, pass the needed `-D`/`-I` flags, or exclude the file
(`extend-exclude`).  fparser's line can be later than the real cause (for example a missing
`end` is reported at the enclosing `end module`).
"""

from __future__ import annotations

from . import Rule


class ParseError(Rule):
    code = "FT900"
    name = "parse-error"
    severity = "error"

    def check(self, ctx):
        return ()


RULE = ParseError()
