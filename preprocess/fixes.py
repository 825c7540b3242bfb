"""Text edits: removing an item from a ``use`` list while keeping valid syntax, and
applying non-overlapping edits to a text."""

from __future__ import annotations


def _line_left_empty(src, line: int, cut_from: int, cut_to: int) -> bool:
    """Would ``line`` hold no code once columns [cut_from, cut_to) are removed?"""
    text = src.lines[line - 1]
    rest = text[:cut_from] + text[cut_to:]
    if src.fixed:
        body = rest[6:] if len(rest) > 6 else ""
    else:
        body = rest
    if "!" in body:
        body = body[: body.index("!")]
    body = body.strip()
    if not src.fixed:
        body = body.strip("&").strip()
    return body == ""


def remove_list_item(src, st, items, i) -> list:
    """Edits removing ``items[i]`` (a token list) from a comma-separated list in ``st``.

    Keeps the statement valid: the separating comma goes too, a continuation line left
    empty is deleted whole, and a trailing ``&`` is dropped when the list now ends earlier.
    Returns (start(line,col), end(line,col), content) triples, or [] if no safe edit exists.
    """
    item = items[i]
    first, last = item[0], item[-1]
    toks = st.tokens
    pos = {id(t): k for k, t in enumerate(toks)}
    edits = []
    if i < len(items) - 1:
        comma = toks[pos[id(last)] + 1]
        nxt = items[i + 1][0]
        if nxt.line == first.line:
            edits.append(((first.line, first.col), (nxt.line, nxt.col), ""))
        else:
            text = src.lines[comma.line - 1]
            end = comma.end_col
            while end < len(text) and text[end] in " \t":
                end += 1
            if (
                first.line == comma.line
                and _line_left_empty(src, first.line, first.col, end)
                and first.line != st.first_line
            ):
                edits.append(((first.line, 0), (first.line + 1, 0), ""))
            else:
                edits.append(((first.line, first.col), (comma.line, end), ""))
        return edits
    if i == 0:
        return []
    prev_comma = toks[pos[id(items[i - 1][-1])] + 1]
    if prev_comma.line == first.line:
        edits.append(((prev_comma.line, prev_comma.col), (last.end_line, last.end_col), ""))
        return edits
    # the item sits on a continuation line: end the statement at the previous line
    amp = [c for c in src.amps.get(prev_comma.line, []) if c >= prev_comma.end_col]
    cut_to = (amp[0] + 1) if (amp and not src.fixed) else len(src.lines[prev_comma.line - 1].split("!")[0].rstrip())
    cut_to = max(cut_to, prev_comma.end_col)
    edits.append(((prev_comma.line, prev_comma.col), (prev_comma.line, cut_to), ""))
    if first.line == last.end_line and _line_left_empty(src, first.line, first.col, last.end_col):
        edits.append(((first.line, 0), (first.line + 1, 0), ""))
    else:
        return []
    return edits


def to_edits(ctx, triples) -> tuple:
    return tuple(ctx.edit(c, a, b) for a, b, c in triples)


def apply_edits(text: str, edits) -> str:
    """Apply 1-based, end-exclusive :class:`Edit`s; overlapping edits are skipped."""
    lines = text.split("\n")
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + 1)

    def off(line, col):
        if line - 1 >= len(lines):
            return len(text)
        return min(starts[line - 1] + col - 1, len(text))

    spans = sorted(((off(e.line, e.column), off(e.end_line, e.end_column), e.content) for e in edits), reverse=True)
    out = text
    last_start = None
    for a, b, c in spans:
        if last_start is not None and b > last_start:
            continue
        out = out[:a] + c + out[b:]
        last_start = a
    return out
