"""Configuration: ``[tool.pyftorch.lint]`` in pyproject.toml or ``[pyftorch.lint]`` in setup.cfg."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib  # type: ignore
    except ModuleNotFoundError:
        tomllib = None

LIST_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "extend-ignore",
    "exclude",
    "extend-exclude",
    "reexport-modules",
    "defines",
    "include-dirs",
)
STR_KEYS = ("output-format", "cache-dir")
BOOL_KEYS = ("respect-gitignore", "cpp")
SIZE_KEYS = ("max-file-size",)
KNOWN = set(LIST_KEYS) | set(STR_KEYS) | set(BOOL_KEYS) | set(SIZE_KEYS)
FORMATS = ("concise", "full", "json", "sarif", "github")
DEFAULT_EXCLUDE = [
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "venv",
    ".pyftorch_cache",
]


class ConfigError(Exception):
    pass


def parse_size(v) -> int:
    """Bytes from an int or a string such as ``"512K"``, ``"10M"``, ``"1G"``."""
    if isinstance(v, bool):
        raise ValueError("must be a size in bytes, e.g. 10M")
    if isinstance(v, int):
        n = v
    elif isinstance(v, str):
        t = v.strip().upper().removesuffix("B").removesuffix("I")
        suffix = t[-1] if t and t[-1] in "KMG" else ""
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "": 1}[suffix]
        num = t[:-1] if suffix else t
        try:
            n = int(float(num) * mult)
        except ValueError:
            raise ValueError(f"`{v}` is not a size (bytes, or with a K/M/G suffix)") from None
    else:
        raise ValueError("must be a size in bytes, e.g. 10M")
    if n <= 0:
        raise ValueError("must be positive")
    return n


@dataclass
class Config:
    path: str | None = None
    root: str = "."
    values: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.values.get(key, default)


def _check(values: dict, where: str) -> dict:
    out = {}
    for k, v in values.items():
        key = k.replace("_", "-")
        if key not in KNOWN:
            raise ConfigError(f"{where}: unknown option `{k}` (known: {', '.join(sorted(KNOWN))})")
        if key in LIST_KEYS:
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"{where}: option `{k}` must be a list of strings")
        elif key in STR_KEYS:
            if not isinstance(v, str):
                raise ConfigError(f"{where}: option `{k}` must be a string")
            if key == "output-format" and v not in FORMATS:
                raise ConfigError(f"{where}: output-format must be one of {', '.join(FORMATS)}, not `{v}`")
        elif key in SIZE_KEYS:
            try:
                v = parse_size(v)
            except ValueError as exc:
                raise ConfigError(f"{where}: option `{k}`: {exc}") from None
        elif key in BOOL_KEYS:
            if isinstance(v, str):
                if v.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ConfigError(f"{where}: option `{k}` must be true or false")
                v = v.lower() in ("true", "1", "yes")
            if not isinstance(v, bool):
                raise ConfigError(f"{where}: option `{k}` must be true or false")
        out[key] = v
    return out


def _from_toml(path: str, standalone: bool):
    if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(f"reading {path} needs Python 3.11+ or the `tomli` package")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise ConfigError(f"cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("pyftorch", {}).get("lint") if isinstance(data.get("tool"), dict) else None
    if table is None and isinstance(data.get("pyftorch"), dict):
        table = data["pyftorch"].get("lint")
    if table is None and standalone:
        table = data.get("lint", data) if not os.path.basename(path) == "pyproject.toml" else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.pyftorch.lint] must be a table")
    return _check(table, path)


def _from_cfg(path: str):
    cp = configparser.ConfigParser()
    try:
        cp.read(path, encoding="utf-8")
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not cp.has_section("pyftorch.lint"):
        return None
    raw = {}
    for k, v in cp.items("pyftorch.lint"):
        key = k.replace("_", "-")
        if key in LIST_KEYS:
            raw[k] = [x.strip() for part in v.splitlines() for x in part.split(",") if x.strip()]
        else:
            raw[k] = v.strip()
    return _check(raw, f"{path} [pyftorch.lint]")


def load(explicit: str | None = None, start: str | None = None) -> Config:
    """Find and read the configuration (explicit path, else from ``start``/cwd upwards)."""
    if explicit:
        if not os.path.isfile(explicit):
            raise ConfigError(f"config file not found: {explicit}")
        if explicit.endswith(".cfg") or explicit.endswith(".ini"):
            vals = _from_cfg(explicit)
        else:
            vals = _from_toml(explicit, standalone=True)
        if vals is None:
            raise ConfigError(f"{explicit}: no [tool.pyftorch.lint] / [pyftorch.lint] section")
        return Config(explicit, os.path.dirname(os.path.abspath(explicit)), vals)
    d = os.path.abspath(start or os.getcwd())
    while True:
        for name in ("pyproject.toml", "setup.cfg"):
            p = os.path.join(d, name)
            if os.path.isfile(p):
                if name.endswith(".toml") and tomllib is None and not _mentions_section(p):
                    continue  # Python 3.10 without tomli: only fail when the section is there
                vals = _from_toml(p, standalone=False) if name.endswith(".toml") else _from_cfg(p)
                if vals is not None:
                    return Config(p, d, vals)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return Config(None, project_root(start), {})


def _mentions_section(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "pyftorch" in fh.read()
    except OSError:
        return False


def project_root(start: str | None = None) -> str:
    d = os.path.abspath(start or os.getcwd())
    cur = d
    while True:
        if os.path.exists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return d
        cur = parent
