"""Finding the Fortran files to lint: recursion, .gitignore and exclude patterns."""

from __future__ import annotations

import os

import pathspec

from .source import is_fortran_path


class _Ignores:
    def __init__(self, root: str, excludes: list, respect_gitignore: bool):
        self.root = os.path.abspath(root)
        plain = [e for e in excludes if not any(c in e for c in "*?[]!/\\") and e.strip()]
        self.names = set(plain)
        rest = [e for e in excludes if e not in self.names]
        self.exclude = pathspec.GitIgnoreSpec.from_lines(rest) if rest else None
        self.respect = respect_gitignore
        self.specs: dict[str, object] = {}

    def _gitignore(self, d: str):
        if d not in self.specs:
            spec = None
            p = os.path.join(d, ".gitignore")
            if self.respect and os.path.isfile(p):
                try:
                    with open(p, encoding="utf-8", errors="replace") as fh:
                        spec = pathspec.GitIgnoreSpec.from_lines(fh.read().splitlines())
                except OSError:
                    spec = None
            self.specs[d] = spec
        return self.specs[d]

    def ignored(self, path: str, is_dir: bool) -> bool:
        ap = os.path.abspath(path)
        suffix = "/" if is_dir else ""
        if os.path.basename(ap) in self.names:
            return True
        if self.exclude is not None:
            rel = os.path.relpath(ap, self.root).replace(os.sep, "/")
            if not rel.startswith("..") and self.exclude.match_file(rel + suffix):
                return True
            if self.exclude.match_file(os.path.basename(ap) + suffix):
                return True
        if self.respect:
            d = os.path.dirname(ap)
            while True:
                spec = self._gitignore(d)
                if spec is not None:
                    rel = os.path.relpath(ap, d).replace(os.sep, "/")
                    if spec.match_file(rel + suffix):
                        return True
                if d == self.root or os.path.exists(os.path.join(d, ".git")):
                    break
                parent = os.path.dirname(d)
                if parent == d or not ap.startswith(self.root):
                    break
                d = parent
        return False


def discover(paths: list, root: str, excludes: list, respect_gitignore: bool = True):
    """Return (files, missing): sorted Fortran files under ``paths``; explicit files are kept."""
    ign = _Ignores(root, excludes, respect_gitignore)
    files, missing = [], []
    seen = set()
    for p in paths:
        if os.path.isfile(p) or (os.path.lexists(p) and not os.path.isdir(p)):
            # anything named explicitly that is not a directory is linted, or reported as
            # skipped (FIFO, device, broken link) by the engine
            if p not in seen:
                seen.add(p)
                files.append(p)
            continue
        if not os.path.isdir(p):
            missing.append(p)
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            keep = []
            for dn in sorted(dirnames):
                full = os.path.join(dirpath, dn)
                if not ign.ignored(full, True):
                    keep.append(dn)
            dirnames[:] = keep
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                if not is_fortran_path(fn):
                    continue
                full = os.path.normpath(full)
                if full in seen or ign.ignored(full, False):
                    continue
                seen.add(full)
                files.append(full)
    return files, missing
