"""Reading back the line protocol the agent stored (for assertions on what it wrote)."""

from __future__ import annotations


def parse_line(line: str) -> tuple[dict[str, str], dict[str, str]]:
    """Tags and raw fields of one line-protocol line (our output here: no escaped spaces in tags)."""
    head, fields, _stamp = _split_outside_quotes(line, " ")
    tags = dict(item.split("=", 1) for item in head.split(",")[1:])
    return tags, dict(item.split("=", 1) for item in _split_outside_quotes(fields, ","))


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    out, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            out.append(current)
            current = ""
        else:
            current += char
    return [*out, current]
