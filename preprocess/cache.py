"""Content-hash cache of per-file results.

Key: SHA-256 of the tool version, the effective settings (rules, defines, include dirs,
re-export table), the displayed path, the file's bytes and the bytes of the files it
includes.  One JSON file per settings fingerprint under the cache directory (default
``.pyftorch_cache/`` in the project root), written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from . import __version__


class Cache:
    def __init__(self, directory: str | None, fingerprint: str):
        self.dir = directory
        self.fingerprint = hashlib.sha256((__version__ + "\0" + fingerprint).encode()).hexdigest()[:20]
        self.entries: dict = {}
        self.dirty = False
        self.used: set = set()
        if directory:
            try:
                with open(self._file(), encoding="utf-8") as fh:
                    data = json.load(fh)
                if isinstance(data, dict) and data.get("version") == __version__:
                    self.entries = data.get("entries", {})
            except (OSError, ValueError):
                self.entries = {}

    def _file(self):
        return os.path.join(self.dir, __version__, f"results-{self.fingerprint}.json")

    @staticmethod
    def key(display: str, data: bytes, extra: list) -> str:
        h = hashlib.sha256()
        h.update(display.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
        h.update(data)
        for blob in extra:
            h.update(b"\0")
            h.update(blob)
        return h.hexdigest()

    def get(self, key):
        v = self.entries.get(key)
        if v is not None:
            self.used.add(key)
        return v

    def put(self, key, value):
        self.entries[key] = value
        self.used.add(key)
        self.dirty = True

    def save(self):
        if not self.dir or not self.dirty:
            return
        try:
            base = os.path.join(self.dir, __version__)
            os.makedirs(base, exist_ok=True)
            tag = os.path.join(self.dir, "CACHEDIR.TAG")
            if not os.path.exists(tag):
                with open(tag, "w") as fh:
                    fh.write("Signature: 8a477f597d28d172789f06886806bc55\n# pyftorch lint cache\n")
                with open(os.path.join(self.dir, ".gitignore"), "w") as fh:
                    fh.write("*\n")
            keep = (
                {k: v for k, v in self.entries.items() if k in self.used}
                if len(self.entries) > 4 * max(len(self.used), 1000)
                else self.entries
            )
            fd, tmp = tempfile.mkstemp(dir=base, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": __version__, "entries": keep}, fh)
            os.replace(tmp, self._file())
        except OSError:
            pass
