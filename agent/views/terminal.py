"""Text from devices, made safe for a terminal: control characters shown as escapes, never executed.

A sysDescr, a sensor name or an error message carrying ESC sequences could otherwise move the
cursor, retitle the window or hide lines of ``discover``, ``poll --format table`` and ``status``.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what is shown
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control character as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``)."""
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group(), m.group().encode("unicode_escape").decode("ascii")), text)
