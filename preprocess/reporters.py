"""Output formats: concise, full, json, sarif (2.1.0), github."""

from __future__ import annotations

import json
import os
from collections import Counter

from . import TOOL_NAME, __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GH_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _marker(d):
    return " [*]" if d.fix is not None else ""


def concise(diags, summary=True):
    out = [f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}" for d in diags]
    if summary:
        out.extend(_summary(diags))
    return "\n".join(out) + ("\n" if out else "")


def _summary(diags):
    if not diags:
        return ["All checks passed!"]
    n = len(diags)
    lines = [f"Found {n} error{'s' if n != 1 else ''}."]
    fx = sum(1 for d in diags if d.fix is not None)
    if fx:
        lines.append(f"[*] {fx} fixable with the `--fix` option.")
    return lines


def full(diags, read_lines):
    out = []
    for d in diags:
        out.append(f"{d.path}:{d.line}:{d.column}: {d.code}{_marker(d)} {d.message}")
        lines = read_lines(d.path)
        width = len(str(d.end_line))
        pad = " " * width
        out.append(f"{pad} |")
        last = min(d.end_line, d.line + 4)
        for ln in range(d.line, last + 1):
            text = lines[ln - 1] if lines and 0 < ln <= len(lines) else ""
            text = text.expandtabs(1)
            out.append(f"{str(ln).rjust(width)} | {text}".rstrip())
            start = d.column if ln == d.line else len(text) - len(text.lstrip()) + 1
            end = d.end_column if ln == d.end_line else len(text) + 1
            if end <= start:
                end = start + 1
            caret = " " * (start - 1) + "^" * (end - start)
            suffix = f" {d.code}" if ln == last else ""
            out.append(f"{pad} | {caret}{suffix}")
        out.append(f"{pad} |")
        if d.fix is not None:
            out.append(f"{pad} = help: {d.fix.message}")
        out.append("")
    out.extend(_summary(diags))
    return "\n".join(out) + "\n"


def _abs(path):
    return os.path.abspath(path)


def as_json(diags):
    items = []
    for d in diags:
        fix = None
        if d.fix is not None:
            fix = {
                "applicability": d.fix.applicability,
                "message": d.fix.message,
                "edits": [
                    {
                        "content": e.content,
                        "location": {"row": e.line, "column": e.column},
                        "end_location": {"row": e.end_line, "column": e.end_column},
                    }
                    for e in d.fix.edits
                ],
            }
        items.append(
            {
                "code": d.code,
                "name": d.name,
                "message": d.message,
                "severity": d.severity,
                "filename": _abs(d.path),
                "location": {"row": d.line, "column": d.column},
                "end_location": {"row": d.end_line, "column": d.end_column},
                "fix": fix,
                "noqa_row": d.line,
                "url": None,
            }
        )
    return json.dumps(items, indent=2) + "\n"


def _uri(path):
    rel = os.path.relpath(_abs(path)).replace(os.sep, "/")
    if rel.startswith("../"):
        return "file://" + _abs(path).replace(os.sep, "/")
    return rel


def sarif(diags, rules):
    rule_index = {r.code: i for i, r in enumerate(rules)}
    rule_objs = []
    for r in rules:
        doc = r.doc()
        first = doc.splitlines()[0] if doc else r.name
        rule_objs.append(
            {
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": first.split(": ", 1)[-1] if ": " in first else first},
                "fullDescription": {"text": doc},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                "properties": {"fixable": bool(r.fixable)},
            }
        )
    results = []
    for d in diags:
        region = {"startLine": d.line, "startColumn": d.column, "endLine": d.end_line, "endColumn": d.end_column}
        uri = _uri(d.path)
        loc = {"uri": uri} if uri.startswith("file://") else {"uri": uri, "uriBaseId": "%SRCROOT%"}
        res = {
            "ruleId": d.code,
            "level": _SARIF_LEVEL.get(d.severity, "warning"),
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {"artifactLocation": loc, "region": region}}],
        }
        if d.code in rule_index:
            res["ruleIndex"] = rule_index[d.code]
        if d.fix is not None:
            res["fixes"] = [
                {
                    "description": {"text": d.fix.message},
                    "artifactChanges": [
                        {
                            "artifactLocation": loc,
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": e.line,
                                        "startColumn": e.column,
                                        "endLine": e.end_line,
                                        "endColumn": e.end_column,
                                    },
                                    "insertedContent": {"text": e.content},
                                }
                                for e in d.fix.edits
                            ],
                        }
                    ],
                }
            ]
        results.append(res)
    root = os.getcwd().replace(os.sep, "/").rstrip("/") + "/"
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rule_objs,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + root}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _gh_data(s):
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s):
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def github(diags):
    out = []
    for d in diags:
        level = _GH_LEVEL.get(d.severity, "warning")
        props = (
            f"title={_gh_prop(f'pyftorch lint ({d.code})')},file={_gh_prop(d.path)},line={d.line},"
            f"col={d.column},endLine={d.end_line},endColumn={d.end_column}"
        )
        out.append(f"::{level} {props}::{_gh_data(f'{d.path}:{d.line}:{d.column}: {d.code} {d.message}')}")
    return "\n".join(out) + ("\n" if out else "")


def statistics(diags):
    counts = Counter(d.code for d in diags)
    names = {d.code: d.name for d in diags}
    fixable = {d.code for d in diags if d.fix is not None}
    lines = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{n:>5}\t{code}\t{'[*]' if code in fixable else '   '} {names[code]}")
    return "\n".join(lines) + ("\n" if lines else "")
