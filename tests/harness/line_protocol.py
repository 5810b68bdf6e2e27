"""Reading back the line protocol the agent stored (for assertions on what it wrote)."""

from __future__ import annotations

import re


def parse_line(line: str) -> tuple[dict[str, str], dict[str, str]]:
    """Tags (unescaped: ``Slot\\ 1`` -> ``Slot 1``) and raw fields of one line-protocol line."""
    head, fields, _stamp = _split_outside_quotes(line, " ")
    pairs = (re.split(r"(?<!\\)=", item, maxsplit=1) for item in _split_outside_quotes(head, ",")[1:])
    tags = {_unescape(key): _unescape(value) for key, value in pairs}
    return tags, dict(item.split("=", 1) for item in _split_outside_quotes(fields, ","))


def _unescape(text: str) -> str:
    for char in (" ", ",", "="):
        text = text.replace("\\" + char, char)
    return text


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes and not escaped by a backslash."""
    out, current, quoted, escaped = [], "", False, False
    for char in text:
        if char == '"' and not escaped:
            quoted = not quoted
        if char == separator and not quoted and not escaped:
            out.append(current)
            current = ""
        else:
            current += char
        escaped = char == "\\" and not escaped
    return [*out, current]
