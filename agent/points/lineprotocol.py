"""InfluxDB line protocol: points and their exact encoding (tags sorted, precision seconds)."""

from __future__ import annotations

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


def _escape_measurement(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ").replace("\n", "\\n")


def _escape_key(value: str) -> str:
    return _escape_measurement(value).replace("=", "\\=")


def _field(value: float | int | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
