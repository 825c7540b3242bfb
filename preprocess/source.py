"""Loading Fortran source: bytes to text, the source form, F2018 neutralising and cpp.

* Any encoding: UTF-8 (with or without BOM) is tried first, then Latin-1, which never fails,
  so every byte sequence gives text and nothing here raises on content.
* The form comes from the extension (fparser sniffs content, which misreads free-form code
  indented by six or more columns): free for ``.f90 .F90 .f95 .f03 .f08 ...``, fixed for
  ``.f .F .for .f77 .ftn``.
* ``implicit none (type, external)`` (F2018, rejected by fparser 0.2.5) is rewritten to
  ``implicit none`` padded with blanks, so that line numbers and columns stay valid.
* The C preprocessor is only used when the as-is parse fails: ``cpp -traditional-cpp
  -nostdinc`` with the configured ``-D``/``-I``; linemarkers are kept and mapped back to the
  original lines with :class:`LineMap`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

FREE_EXTS = {".f90", ".f95", ".f03", ".f08", ".f18", ".f23"}
FIXED_EXTS = {".f", ".for", ".f77", ".ftn"}
FORTRAN_EXTS = FREE_EXTS | FIXED_EXTS


def is_fortran_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in FORTRAN_EXTS


def is_fixed_form(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in FIXED_EXTS


def decode(data: bytes) -> str:
    """Decode source bytes; never raises.  Newlines are normalised to ``\\n``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NUL and other C0 controls confuse fparser's reader; blank them (keeps columns).
    if "\x00" in text:
        text = text.replace("\x00", " ")
    return text


def newline_of(data: bytes) -> str:
    return "\r\n" if b"\r\n" in data else "\n"


_IMPLICIT_F2018 = re.compile(
    r"^(?P<head>[ \t]*(?:\d+[ \t]+)?implicit[ \t]+none)(?P<spec>[ \t]*\([^)!]*\))", re.I | re.M
)


def neutralise(text: str) -> str:
    """Rewrite F2018 syntax fparser 0.2.5 rejects, keeping every line and column."""
    if "implicit" not in text.lower():
        return text
    return _IMPLICIT_F2018.sub(lambda m: m.group("head") + " " * len(m.group("spec")), text)


@dataclass
class LineMap:
    """Maps a line of the parsed text to (file, line) of the original source."""

    targets: list[tuple[str, int]] = field(default_factory=list)  # index = parsed line - 1

    def map(self, line: int) -> tuple[str | None, int]:
        if 1 <= line <= len(self.targets):
            return self.targets[line - 1]
        return None, line


_LINEMARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')


def run_cpp(text: str, path: str, defines: list[str], include_dirs: list[str], timeout: float = 30.0):
    """Run ``cpp -traditional-cpp -nostdinc``; return (text, LineMap) or raise RuntimeError.

    Linemarkers are blanked (kept as empty lines) in the returned text, so the parsed line
    numbers index :class:`LineMap` directly.
    """
    cpp = shutil.which("cpp")
    if cpp is None:
        raise RuntimeError("the C preprocessor `cpp` was not found on PATH")
    args = [cpp, "-traditional-cpp", "-nostdinc", "-w"]
    for d in defines:
        args.append("-D" + d)
    for inc in [os.path.dirname(os.path.abspath(path))] + list(include_dirs):
        args.append("-I" + inc)
    try:
        proc = subprocess.run(
            args, input=text.encode("utf-8", "surrogateescape"), capture_output=True, timeout=timeout
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"cpp failed: {exc}") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("cpp failed: " + (msg[0] if msg else f"exit {proc.returncode}"))
    out = decode(proc.stdout)
    lines = out.split("\n")
    result: list[str] = []
    lmap = LineMap()
    cur_file: str | None = path
    cur_line = 1
    for raw in lines:
        m = _LINEMARKER.match(raw)
        if m:
            cur_line = int(m.group(1))
            name = m.group(2)
            cur_file = path if name in ("<stdin>", path) else name
            result.append("")
            lmap.targets.append((None, 0))
            continue
        result.append(raw)
        lmap.targets.append((cur_file, cur_line))
        cur_line += 1
    return "\n".join(result), lmap


_CPP_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*["<]([^">]+)[">]', re.M)
_F_INCLUDE = re.compile(r"""^[ \t]*include[ \t]*['"]([^'"]+)['"]""", re.M | re.I)


def included_files(text: str, path: str, include_dirs: list[str]) -> list[str]:
    """Existing files named by ``include '...'`` or ``#include "..."`` lines (for cache keys)."""
    found = []
    names = _F_INCLUDE.findall(text) + _CPP_INCLUDE.findall(text)
    if not names:
        return found
    dirs = [os.path.dirname(os.path.abspath(path))] + list(include_dirs)
    for name in names:
        for d in dirs:
            cand = os.path.join(d, name)
            if os.path.isfile(cand):
                found.append(cand)
                break
    return found
