"""fparser wrapper: one parse at a time per process, in a thread with a big stack.

fparser keeps global state (its class hierarchy and ``SYMBOL_TABLES``), so a process parses
one file at a time and clears the symbol tables between files.  fparser's matcher and its
``walk`` are recursive: deep expressions need a raised recursion limit, which is only safe
on a thread whose stack is large enough.  Every exception is turned into a
:class:`ParseFailure`; nothing escapes.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass

_PARSER = None
_STACK = 256 * 1024 * 1024
_RECURSION = 12000
_lock = threading.Lock()
_THREAD_NAME = "pyftorch-lint-parse"

logging.getLogger("fparser").setLevel(logging.CRITICAL)
logging.getLogger("fparser").propagate = False


@dataclass
class ParseFailure(Exception):
    line: int | None
    excerpt: str
    kind: str  # syntax, recursion, internal


def _parser():
    global _PARSER
    if _PARSER is None:
        from fparser.two.parser import ParserFactory

        _PARSER = ParserFactory().create(std="f2008")
    return _PARSER


def parse_text(text: str, fixed: bool, include_dirs: list[str], reader_id: str):
    """Parse ``text``; return the fparser tree or raise :class:`ParseFailure`."""
    from fparser.common.readfortran import FortranStringReader
    from fparser.common.sourceinfo import FortranFormat
    from fparser.two.symbol_table import SYMBOL_TABLES
    from fparser.two.utils import FortranSyntaxError

    parser = _parser()
    SYMBOL_TABLES.clear()
    try:
        reader = FortranStringReader(text, include_dirs=list(include_dirs), ignore_comments=True)
        reader.id = reader_id
        reader.set_format(FortranFormat(not fixed, False))
        return parser(reader)
    except FortranSyntaxError as exc:
        raise _failure_from(str(exc), "syntax") from None
    except RecursionError:
        raise ParseFailure(None, "expression or nesting too deep for fparser", "recursion") from None
    except Exception as exc:  # noqa: BLE001 -- fparser InternalError, reader errors: a diagnostic
        msg = str(exc).strip() or type(exc).__name__
        fail = _failure_from(msg, "internal")
        if fail.line is None:
            fail.excerpt = f"{type(exc).__name__}: {msg.splitlines()[0] if msg else ''}"[:200]
        raise fail from None
    finally:
        SYMBOL_TABLES.clear()


def _failure_from(msg: str, kind: str) -> ParseFailure:
    import re

    m = re.search(r"at line (\d+)", msg)
    line = int(m.group(1)) if m else None
    excerpt = ""
    for part in msg.splitlines():
        if part.startswith(">>>"):
            excerpt = part[3:].strip()
            break
    if not excerpt and line is None:
        excerpt = msg.splitlines()[0] if msg else ""
    return ParseFailure(line, excerpt[:200], kind)


def run_big_stack(func, *args, **kwargs):
    """Run ``func`` in a thread with a large stack and a raised recursion limit (directly
    when already on such a thread)."""
    if threading.current_thread().name == _THREAD_NAME:
        return func(*args, **kwargs)
    result: dict = {}

    def target():
        try:
            result["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread
            result["error"] = exc

    with _lock:
        old_limit = sys.getrecursionlimit()
        old_stack = threading.stack_size()
        try:
            threading.stack_size(_STACK)
            sys.setrecursionlimit(max(old_limit, _RECURSION))
            th = threading.Thread(target=target, name=_THREAD_NAME)
            th.start()
            th.join()
        finally:
            threading.stack_size(old_stack)
            sys.setrecursionlimit(old_limit)
    if "error" in result:
        raise result["error"]
    return result.get("value")
