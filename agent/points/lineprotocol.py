"""InfluxDB line protocol: points and their exact encoding (tags sorted, precision seconds)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, float | int | bool | str]
    time: datetime

    def line(self) -> str:
        tags = "".join(f",{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(self.tags.items()) if v != "")
        fields = ",".join(f"{_escape_key(k)}={_field(v)}" for k, v in self.fields.items())
        return f"{_escape_measurement(self.measurement)}{tags} {fields} {int(self.time.timestamp())}"


def encode(points: Iterable[Point]) -> str:
    return "".join(point.line() + "\n" for point in points)


# InfluxDB 1.x reads a backslash in a measurement, tag key or tag value literally, except before the
# characters it escapes (comma, equals, space), where it is the escape: so a backslash is written as it
# is (written doubled, it is stored doubled). A backslash at the end or before such a character cannot be
# stored at all (a parse error, or a different value): it is dropped. Control characters (CR, LF, TAB,
# ESC, ...) would end or garble the line: they are removed from names and tags.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOST_BACKSLASHES = re.compile(r"\\+(?=[,= ]|$)")


_NEEDS_CARE = re.compile(r"[\x00-\x1f\x7f\\,= ]")      # names and tags without these are written as they are


def _clean(value: str) -> str:
    return _LOST_BACKSLASHES.sub("", _CONTROL.sub("", value))


def _escape_measurement(value: str) -> str:
    if not _NEEDS_CARE.search(value):
        return value
    return _clean(value).replace(",", "\\,").replace(" ", "\\ ")


def _escape_key(value: str) -> str:
    if not _NEEDS_CARE.search(value):
        return value
    return _clean(value).replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: float | int | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
