"""The cheap first pass: which files need parsing, and which modules re-export ftorch.

A regex finds ``use`` statements of ftorch (or an alias, or a module known to re-export
ftorch names) without parsing.  For the files that match, module specification parts are
read with the lexer (no fparser) to build an export table: module -> the ftorch names and
operator specs it makes public.  The table is iterated to a fixed point so that chains of
re-exporting modules are found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import ftorch_api as api
from .lexer import lex


@dataclass
class ExportInfo:
    module: str
    wildcard: bool = False
    specs: set = field(default_factory=set)
    private: set = field(default_factory=set)
    configured: bool = False

    def provides(self, spec: str) -> bool:
        if spec in self.private:
            return False
        if self.wildcard and (spec in api.PUBLIC or self.configured):
            return True
        return spec in self.specs

    def key(self):
        return (self.module, self.wildcard, tuple(sorted(self.specs)), tuple(sorted(self.private)), self.configured)


def use_regex(modules) -> re.Pattern:
    alt = "|".join(sorted((re.escape(m) for m in modules), key=len, reverse=True))
    return re.compile(
        r"^[ \t]*(?:\d+[ \t]+)?use\b[ \t]*(?:,[ \t]*(?:non_)?intrinsic[ \t]*)?(?:::)?[ \t]*(" + alt + r")\b",
        re.I | re.M,
    )


def _items(tokens):
    """Split tokens at depth-0 commas."""
    out, cur, depth = [], [], 0
    for t in tokens:
        if t.text in ("(", "[", "(/"):
            depth += 1
        elif t.text in (")", "]", "/)"):
            depth -= 1
        if t.text == "," and depth == 0:
            out.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def item_key(toks) -> str:
    """Normalised text of an only-list / access-list item: ``operator(+)``, ``a=>b`` or a name."""
    txt = "".join(t.text for t in toks).lower()
    for dot, sym in ((".eq.", "=="), (".ne.", "/="), (".lt.", "<"), (".le.", "<="), (".gt.", ">"), (".ge.", ">=")):
        txt = txt.replace(f"({dot})", f"({sym})")
    return txt


def parse_use_tokens(tokens):
    """Return (module, only?, items) for a lexed ``use`` statement, items = token lists."""
    toks = list(tokens)
    if toks and toks[0].kind == "number":
        toks = toks[1:]
    if not toks or toks[0].low != "use":
        return None
    i = 1
    if i < len(toks) and toks[i].text == ",":
        i += 2  # nature
    if i < len(toks) and toks[i].text == "::":
        i += 1
    if i >= len(toks) or toks[i].kind != "name":
        return None
    module = toks[i].low
    rest = toks[i + 1 :]
    if not rest:
        return module, False, []
    if rest[0].text != ",":
        return module, False, []
    rest = rest[1:]
    if len(rest) >= 2 and rest[0].low == "only" and rest[1].text == ":":
        return module, True, _items(rest[2:])
    return module, False, _items(rest)


_CONTAINS = re.compile(r"^[ \t]*contains\b", re.I)
_MODULE = re.compile(r"^[ \t]*module[ \t]+(?!procedure\b|function\b|subroutine\b)\w+[ \t]*(?:!.*)?$", re.I)


def spec_parts(text: str) -> str:
    """Keep only module specification parts (the rest is blanked, line count kept)."""
    out, keep = [], True
    for line in text.split("\n"):
        if _MODULE.match(line):
            keep = True
        elif keep and _CONTAINS.match(line):
            out.append(line)
            keep = False
            continue
        out.append(line if keep else "")
    return "\n".join(out)


def mentions(low_text: str, names) -> bool:
    """Cheap substring test before the regex (``low_text`` is lower-cased)."""
    return any(n in low_text for n in names)


def module_exports(text: str, fixed: bool, exporters: dict, stmts=None) -> dict:
    """Export information of the modules defined in ``text``."""
    if stmts is None:
        stmts, _c, _a = lex(spec_parts(text), fixed=fixed)
    result: dict[str, ExportInfo] = {}
    cur: ExportInfo | None = None
    imported_wild = False
    imported: set = set()
    default_private = False
    public: set = set()
    depth = 0

    def finish():
        if cur is None:
            return
        if default_private:
            cur.wildcard = False
            cur.specs = {p for p in public if imported_wild or p in imported}
            cur.specs = {p for p in cur.specs if p in api.PUBLIC or p in imported}
        else:
            cur.wildcard = imported_wild
            cur.specs = set(imported)
        if cur.wildcard or cur.specs:
            result[cur.module] = cur

    for st in stmts:
        if st.cpp or not st.tokens:
            continue
        toks = st.tokens[1:] if st.tokens[0].kind == "number" else st.tokens
        if not toks:
            continue
        w = [t.low for t in toks[:3]]
        if (
            w[0] == "module"
            and len(w) > 1
            and w[1] not in ("procedure", "function", "subroutine")
            and toks[1].kind == "name"
            and len(toks) == 2
        ):
            finish()
            cur = ExportInfo(w[1])
            imported_wild, imported, default_private, public, depth = False, set(), False, set(), 0
            continue
        if cur is None:
            continue
        if w[0] == "contains" or (
            w[0] in ("end", "endmodule") and ((len(w) == 1 and depth == 0) or "module" in w[:2] or w[0] == "endmodule")
        ):
            finish()
            cur = None
            continue
        if w[0] in ("interface", "abstract") or (w[0] == "type" and len(w) > 1 and w[1] not in ("(", "is")):
            depth += 1
            continue
        if w[0] in ("endinterface", "endtype") or (w[0] == "end" and len(w) > 1 and w[1] in ("interface", "type")):
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        if w[0] == "use":
            parsed = parse_use_tokens(toks)
            if not parsed:
                continue
            mod, only, items = parsed
            info = exporters.get(mod)
            if mod in api.ALIASES:
                if not only:
                    imported_wild = True
                    for it in items:
                        imported.add(item_key(it))
                else:
                    for it in items:
                        k = item_key(it)
                        imported.add(k.split("=>")[0] if "=>" in k and not k.startswith("operator") else k)
            elif info is not None:
                if not only:
                    if info.wildcard:
                        imported_wild = True
                    imported.update(info.specs)
                else:
                    for it in items:
                        k = item_key(it)
                        k = k.split("=>")[0] if "=>" in k and not k.startswith("operator") else k
                        if info.provides(k):
                            imported.add(k)
        elif w[0] in ("private", "public"):
            rest = toks[1:]
            if rest and rest[0].text == "::":
                rest = rest[1:]
            if not rest:
                default_private = w[0] == "private"
            elif w[0] == "public":
                for it in _items(rest):
                    public.add(item_key(it))
    finish()
    return result


def compute_exports(texts: dict, fixed_of, configured=()) -> tuple[dict, re.Pattern]:
    """Fixed-point export table over ``texts`` (path -> text); returns (table, use regex)."""
    exporters: dict[str, ExportInfo] = {
        m.lower(): ExportInfo(m.lower(), wildcard=True, configured=True) for m in configured
    }
    seen_keys = None
    lowered = {p: t.lower() for p, t in texts.items()}
    lexed: dict = {}
    for _ in range(8):
        names = set(api.ALIASES) | set(exporters)
        rx = use_regex(names)
        quick = {"ftorch"} | set(exporters)
        table = dict((k, v) for k, v in exporters.items() if v.configured)
        for path, text in texts.items():
            if mentions(lowered[path], quick) and rx.search(text):
                if path not in lexed:
                    lexed[path] = lex(spec_parts(text), fixed=fixed_of(path))[0]
                for mod, info in module_exports(text, fixed_of(path), exporters, lexed[path]).items():
                    if mod not in table:
                        table[mod] = info
        keys = sorted(v.key() for v in table.values())
        exporters = table
        if keys == seen_keys:
            break
        seen_keys = keys
    names = set(api.ALIASES) | set(exporters)
    rx = use_regex(names)
    quick = {"ftorch"} | set(exporters)
    return exporters, (
        lambda text, low=None: mentions(low if low is not None else text.lower(), quick) and rx.search(text) is not None
    )
