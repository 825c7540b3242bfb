"""Loading Fortran source: bytes to text, the source form, F2018 neutralising and cpp.

* Only regular files are read (:func:`read_regular`): a FIFO would block forever and a
  symlink to ``/dev/zero`` never ends, so anything else is reported as skipped.  Files above
  the size limit are not read whole.
* Any encoding: UTF-16/UTF-32 with a byte-order mark, and BOM-less UTF-16 recognised by its
  NUL bytes, are decoded; otherwise UTF-8 (with or without BOM) is tried first, then
  Latin-1, which never fails, so every byte sequence gives text and nothing here raises on
  content.
* The form comes from the extension (fparser sniffs content, which misreads free-form code
  indented by six or more columns): free for ``.f90 .F90 .f95 .f03 .f08 ...``, fixed for
  ``.f .F .for .f77 .ftn``; ``.fpp``/``.FPP`` (fixed form for gfortran) are sniffed, because
  many projects compile them as free form.
* The C preprocessor runs like gfortran's: on every file whose extension asks for it
  (``.F .FOR .FTN .F90 .F95 .F03 .F08 .fpp .FPP``), and on any other file that has a
  ``#`` directive line (such a file only compiles with ``-cpp``); ``--cpp``/``--no-cpp``
  force it on or off.
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
import stat
import subprocess
from dataclasses import dataclass, field

FREE_EXTS = {".f90", ".f95", ".f03", ".f08", ".f18", ".f23"}
FIXED_EXTS = {".f", ".for", ".f77", ".ftn"}
SNIFF_EXTS = {".fpp"}
FORTRAN_EXTS = FREE_EXTS | FIXED_EXTS | SNIFF_EXTS
#: extensions gfortran preprocesses by default (case-sensitive, like gfortran)
CPP_EXTS = {".F", ".FOR", ".FTN", ".F90", ".F95", ".F03", ".F08", ".F18", ".F23", ".fpp", ".FPP"}
#: default size limit of a file to check (bytes); larger ones are reported, not parsed
DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024


def is_fortran_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in FORTRAN_EXTS


def is_fixed_form(path: str, text: str | None = None) -> bool:
    ext = os.path.splitext(path)[1].lower()
    if ext in SNIFF_EXTS:
        return text is not None and _looks_fixed(text)
    return ext in FIXED_EXTS


def _looks_fixed(text: str) -> bool:
    """Sniff ``.fpp`` files: free form if a code line starts in columns 1-5 with a letter
    (not a fixed-form comment) or ends with a continuation ``&``."""
    for line in text.split("\n", 2000)[:2000]:
        if not line.strip() or line.lstrip().startswith(("!", "#")):
            continue
        if line[:1] in "cC*dD" and line[:1] != "":
            continue
        if line.rstrip().endswith("&") or (line[:1].isalpha() or line[:1] == "_"):
            return False
        if line[:1] == " " and line.lstrip()[:1].isalpha() and 1 <= len(line) - len(line.lstrip()) <= 4:
            return False
    return True


def wants_cpp(path: str, text: str, force: bool | None) -> bool:
    """Run cpp on this file?  ``force``: True (--cpp), False (--no-cpp), None (like gfortran,
    plus any file with a directive line)."""
    if force is not None:
        return force
    return os.path.splitext(path)[1] in CPP_EXTS or _CPP_DIRECTIVE.search(text) is not None


_CPP_DIRECTIVE = re.compile(
    r"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif|else|endif|define|undef|include|line|error|pragma|\d)", re.M
)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the NULs of ``data`` sit on one parity (ASCII as UTF-16)."""
    head = data[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    half = len(head) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def encoding_of(data: bytes) -> tuple[str, bytes]:
    """(codec, byte-order mark) used to decode ``data`` and to write a fix back."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return codec, bom
    codec = _utf16_without_bom(data)
    if codec:
        return codec, b""
    try:
        data.decode("utf-8")
        return "utf-8", b""
    except UnicodeDecodeError:
        return "latin-1", b""


def decode(data: bytes) -> str:
    """Decode source bytes; never raises.  Newlines are normalised to ``\\n``."""
    codec, bom = encoding_of(data)
    text = data[len(bom) :].decode(codec, errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NUL and other C0 controls confuse fparser's reader; blank them (keeps columns).
    if "\x00" in text:
        text = text.replace("\x00", " ")
    return text


def newline_of(data: bytes) -> str:
    codec, _bom = encoding_of(data)
    if codec.startswith("utf-16"):
        return "\r\n" if "\r\n".encode(codec) in data else "\n"
    return "\r\n" if b"\r\n" in data else "\n"


def encode_like(text: str, data: bytes) -> bytes:
    """Encode ``text`` (``\\n`` newlines) like the original bytes ``data`` (codec, BOM, CRLF)."""
    nl = newline_of(data)
    out = text.replace("\n", nl) if nl != "\n" else text
    codec, bom = encoding_of(data)
    return bom + out.encode(codec, "replace")


class Skipped(Exception):
    """A path that is not linted (not a regular file); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str, max_size: int | None) -> bytes:
    """Read a regular file (following symlinks) of at most ``max_size`` bytes.

    Raises :class:`Skipped` for anything that is not a regular file (checked before opening,
    and again on the open descriptor, which is opened non-blocking so a FIFO that appears in
    between cannot block), :class:`TooLarge` above ``max_size``, ``OSError`` otherwise."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise Skipped(_kind(st.st_mode))
    if max_size is not None and st.st_size > max_size:
        raise TooLarge(st.st_size)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Skipped(_kind(st.st_mode))
        limit = max_size if max_size is not None else st.st_size + (1 << 20)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise TooLarge(total if max_size is not None else st.st_size)
        return b"".join(chunks)
    finally:
        os.close(fd)


def mentions_any(path: str, words, chunk: int = 1 << 20) -> bool:
    """Does the file contain any of ``words`` (lower-case ASCII), case-insensitively?  Reads
    in bounded chunks, for files above the size limit."""
    words = [w.encode() for w in words if w]
    if not words:
        return False
    keep = max(len(w) for w in words)
    tail = b""
    try:
        with open(path, "rb") as fh:
            while True:
                block = fh.read(chunk)
                if not block:
                    return False
                buf = (tail + block).lower()
                if any(w in buf for w in words) or any(w in buf.replace(b"\x00", b"") for w in words):
                    return True
                tail = buf[-keep:]
    except OSError:
        return False


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
        proc = subprocess.run(args, input=text.encode("utf-8", "surrogateescape"), capture_output=True, timeout=timeout)
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
