"""Typed, strict reading of one YAML mapping: wrong types and unknown keys name file, line and key."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from agent.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true or false",
               dict: "a mapping", list: "a list"}


def parse_duration(value: Any) -> float:
    """'60s', '1m', '500ms', '2h', 30, 2.5 -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a duration, not true/false")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. 500ms, 10s, 5m, 1h)")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


class Section:
    """One mapping of the config being read; remembers which keys were consumed."""

    def __init__(self, data: Any, path: str, *, file: str, line: int | None) -> None:
        self.path = path
        self.file = getattr(data, "file", "") or file
        self.line = getattr(data, "line", None) or line
        if not isinstance(data, dict):
            raise ConfigError(f"must be a mapping, not {_kind(data)}", file=self.file, line=self.line,
                              key=path)
        self.data: dict[str, Any] = data
        self._key_lines: dict[str, int] = getattr(data, "key_lines", {})
        self._used: set[str] = set()

    def line_of(self, key: str) -> int | None:
        return self._key_lines.get(key, self.line)

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(key), key=self.key_path(key))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._used.add(key)
        if key not in self.data or (self.data[key] is None and default is not _MISSING):
            if default is _MISSING:
                raise ConfigError("is required", file=self.file, line=self.line, key=self.key_path(key))
            return default
        return self.data[key]

    def typed(self, key: str, kind: type[T], default: Any = _MISSING) -> T:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not ok:
            raise self.error(key, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {_kind(value)}")
        return value  # type: ignore[no-any-return]

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        if isinstance(value, (bool, dict | list)):
            raise self.error(key, f"must be text, not {_kind(value)}")
        return str(value)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self.typed(key, int, default)
        if value is not None and minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, not {value}")
        if value is not None and maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, not {value}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None) -> float:
        value = self.typed(key, float, default)
        if value is not None and minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, not {value:g}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self.typed(key, bool, default)

    def duration(self, key: str, default: Any = _MISSING, *, minimum: float = 0.0) -> float:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if seconds < minimum:
            raise self.error(key, f"must be at least {minimum:g}s, not {seconds:g}s")
        return seconds

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.text(key, default)
        if value is not None and value not in choices:
            raise self.error(key, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def text_list(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool)
                                                  for v in value):
            raise self.error(key, "must be a list of text values")
        return [str(v) for v in value]

    def section(self, key: str, default: Any = _MISSING) -> Section:
        value = self.raw(key, default)
        return Section(value, self.key_path(key), file=self.file, line=self.line_of(key))

    def sections(self, key: str) -> Iterator[Section]:
        """A list of mappings (``devices:``) or a mapping of name -> mapping (``sites:``)."""
        value = self.raw(key, [])
        if isinstance(value, list):
            lines = getattr(value, "item_lines", [])
            for i, item in enumerate(value):
                line = lines[i] if i < len(lines) else self.line_of(key)
                yield Section(item, f"{self.key_path(key)}[{i}]", file=self.file, line=line)
        else:
            raise self.error(key, f"must be a list, not {_kind(value)}")

    def named_sections(self, key: str) -> Iterator[tuple[str, Section]]:
        value = self.raw(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a mapping of name -> settings, not {_kind(value)}")
        outer = Section(value, self.key_path(key), file=self.file, line=self.line_of(key))
        for name in value:
            yield name, outer.section(name)

    def finish(self) -> None:
        """Unknown keys are errors: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self._used:
                hint = difflib.get_close_matches(key, list(self._used), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise self.error(key, f"unknown key{suggestion}")


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return _TYPE_NAMES.get(type(value), type(value).__name__).removeprefix("a ").removeprefix("an ")
