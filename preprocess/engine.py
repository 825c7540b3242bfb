"""Whole-run orchestration: pre-scan, export table, cache, parallel workers."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

from .cache import Cache
from .diagnostics import Diagnostic
from .prescan import compute_exports
from .runner import Settings, lint_text
from .source import Skipped, TooLarge, decode, included_files, is_fixed_form, mentions_any, read_regular

#: parse in worker processes only when there is enough work to pay for them
PARALLEL_MIN_FILES = 4
PARALLEL_MIN_BYTES = 100_000


@dataclass
class RunResult:
    diagnostics: list = field(default_factory=list)
    files: int = 0
    candidates: int = 0
    parsed: int = 0
    cached: int = 0
    texts: dict = field(default_factory=dict)  # display -> original bytes (for fixes)
    skipped: list = field(default_factory=list)  # (display path, reason): not regular files


def display_path(p: str) -> str:
    try:
        rel = os.path.relpath(p)
    except ValueError:
        return p
    return p if rel.startswith("..") and os.path.isabs(p) else rel


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _work(args):
    path, display, data, settings, exports = args
    diags, parsed = lint_text(path, display, data, settings, exports)
    return display, [d.to_dict() for d in diags], parsed


def _progress(done, total, enabled):
    if not enabled:
        return
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} files")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run(
    files: list, settings: Settings, cache_dir: str | None, jobs: int | None = None, progress: bool = False
) -> RunResult:
    res = RunResult(files=len(files))
    datas: dict = {}
    texts: dict = {}
    too_large: list = []
    for p in files:
        disp = display_path(p)
        try:
            data = read_regular(p, settings.max_file_size)
        except Skipped as exc:
            res.skipped.append((disp, exc.reason))
            continue
        except TooLarge as exc:
            too_large.append((p, disp, exc.size))
            continue
        except OSError as exc:
            res.diagnostics.append(
                Diagnostic(
                    "FT900", "parse-error", f"cannot read file: {exc.strerror or exc}", "error", disp, 1, 1, 1, 1
                )
            )
            continue
        datas[p] = (disp, data)
        texts[p] = decode(data)
    if settings.fixed_form is None:

        def fixed_of(path):
            return is_fixed_form(path, texts.get(path))
    else:

        def fixed_of(_path):
            return settings.fixed_form

    exports, rx = compute_exports(texts, fixed_of, settings.reexport_modules)
    if too_large:
        words = {"ftorch"} | set(exports) | set(settings.reexport_modules)
        for p, disp, size in too_large:
            # only a file that would be checked is reported (a big generated file that does
            # not use ftorch is not this tool's business)
            if mentions_any(p, words):
                res.diagnostics.append(
                    Diagnostic(
                        "FT900",
                        "parse-error",
                        f"file not checked: it is {_size(size)}, above the size limit of "
                        f"{_size(settings.max_file_size)}; raise `max-file-size` (or --max-file-size) to "
                        f"check it, or exclude it",
                        "error",
                        disp,
                        1,
                        1,
                        1,
                        1,
                    )
                )
    fingerprint = settings.key() + repr(sorted(v.key() for v in exports.values()))
    cache = Cache(cache_dir, fingerprint) if cache_dir else None
    todo = []
    for p, (disp, data) in datas.items():
        if not rx(texts[p]):
            continue
        res.candidates += 1
        res.texts[disp] = data
        key = None
        if cache is not None:
            extra = []
            for inc in included_files(texts[p], p, list(settings.include_dirs)):
                try:
                    with open(inc, "rb") as fh:
                        extra.append(fh.read())
                except OSError:
                    extra.append(b"?")
            key = Cache.key(disp, data, extra)
            hit = cache.get(key)
            if hit is not None:
                res.cached += 1
                res.diagnostics.extend(Diagnostic.from_dict(d) for d in hit["diagnostics"])
                continue
        todo.append((p, disp, data, key))
    total_bytes = sum(len(t[2]) for t in todo)
    njobs = jobs if jobs is not None else (os.cpu_count() or 1)
    parallel = njobs > 1 and len(todo) >= PARALLEL_MIN_FILES and total_bytes >= PARALLEL_MIN_BYTES
    show = progress and len(todo) >= 20
    results = []
    if parallel:
        import multiprocessing  # only when there is parallel work (a cached run skips it)
        from concurrent.futures import ProcessPoolExecutor

        method = (
            "fork" if ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1) else "spawn"
        )
        if method == "fork":
            # import fparser and build its parser class once, so that every worker inherits
            # them instead of paying for them again
            from . import rules as _rules
            from .analysis import FileContext  # noqa: F401
            from .parsing import _parser

            _parser()
            _rules.all_rules()
        try:
            with ProcessPoolExecutor(
                max_workers=min(njobs, len(todo)), mp_context=multiprocessing.get_context(method)
            ) as ex:
                args = [(p, disp, data, settings, exports) for p, disp, data, _k in todo]
                # biggest first for better balance
                order = sorted(range(len(args)), key=lambda i: -len(args[i][2]))
                futs = {i: ex.submit(_work, args[i]) for i in order}
                done = 0
                for i in order:
                    _display, dd, parsed = futs[i].result()
                    results.append((todo[i], dd, parsed))
                    done += 1
                    _progress(done, len(todo), show)
        except Exception:  # noqa: BLE001 -- any pool failure: lint the files serially instead
            parallel = False
            results = []
    if not parallel:
        for n, item in enumerate(todo, 1):
            p, disp, data, _k = item
            _d, dd, parsed = _work((p, disp, data, settings, exports))
            results.append((item, dd, parsed))
            _progress(n, len(todo), show)
    for (_p, _disp, _data, key), dd, parsed in results:
        res.parsed += 1 if parsed else 0
        res.diagnostics.extend(Diagnostic.from_dict(d) for d in dd)
        if cache is not None and key is not None:
            cache.put(key, {"diagnostics": dd})
    if cache is not None:
        cache.save()
    res.diagnostics.sort(key=Diagnostic.sort_key)
    return res
