"""Typed, strict reading of one YAML mapping: wrong types and unknown keys name file, line and key.

A Section made with a ``sink`` collects instead of stopping at the first problem: a bad optional
value is recorded and its default stands in, every unknown key is recorded, and ``attempt`` runs
one independent check (a device, a field) keeping its errors. The caller raises them all at once
(``raise_collected``): one pass of ``check-config`` shows every problem of the file.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from agent.errors import ConfigError, ConfigErrors

T = TypeVar("T")
_MISSING: Any = object()
MAX_DURATION_S = 30 * 86400.0          # no setting of netwatt is sensibly longer than a month
MIN_DURATION_S = 0.001                 # nor shorter than a millisecond (0 is allowed where it means "off")
MAX_COUNT = 2**53                      # integers above this lose precision as floats (JSON, line protocol)
REQUIRED = "is required"
_TYPO_CUTOFF = 0.8                     # how close an unknown key must be to a missing one to be its typo
_YAML12_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true or false",
               dict: "a mapping", list: "a list"}


def parse_duration(value: Any) -> float:
    """'60s', '1m', '500ms', '2h', 30, 2.5 -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a duration, not true/false")
    try:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            match = _DURATION.match(str(value))
            if not match:
                raise ValueError(f"{str(value)[:40]!r} is not a duration (use e.g. 500ms, 10s, 5m, 1h)")
            seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    except OverflowError:
        raise ValueError("is too large for a duration") from None
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite, not {seconds}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


class Section:
    """One mapping of the config being read; remembers which keys were consumed."""

    def __init__(self, data: Any, path: str, *, file: str, line: int | None,
                 sink: list[ConfigError] | None = None) -> None:
        self.path = path
        self.file = getattr(data, "file", "") or file
        self.line = getattr(data, "line", None) or line
        self.sink = sink                    # shared by every section of one file when collecting
        if not isinstance(data, dict):
            raise ConfigError(f"must be a mapping, not {_kind(data)}", file=self.file, line=self.line,
                              key=path)
        self.data: dict[str, Any] = data
        self._key_lines: dict[str, int] = getattr(data, "key_lines", {})
        self._used: set[str] = set()

    def report(self, error: ConfigError) -> None:
        """Collect the error (when collecting), else raise it."""
        if self.sink is None:
            raise error
        self.sink.extend(error.errors if isinstance(error, ConfigErrors) else [error])

    def attempt(self, fallback: T, check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one independent check; when collecting, its errors are kept and ``fallback`` stands in."""
        try:
            return check(*args, **kwargs)
        except ConfigError as exc:
            self.report(exc)
            return fallback

    def raise_collected(self) -> None:
        """Every collected error at once, in file order; a missing key explained by a typo is not repeated."""
        if not self.sink:
            return
        unique = list({str(e): e for e in self.sink}.values())      # a typo is found by raw() and by finish()
        typos = {(e.file, e.key.rpartition(".")[0], e.suggestion) for e in unique if e.suggestion}
        kept = [e for e in unique if not (REQUIRED in e.message and (e.file, *e.key.rpartition(".")[::2]) in typos)]
        raise ConfigErrors(sorted(kept, key=lambda e: (e.file, e.line or 0)))

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
                typo = self._typo_of(key)
                if typo is not None:      # the misspelt key is the fault, not the one it leaves missing
                    self._used.add(typo)
                    raise self._unknown(typo, key)
                raise ConfigError(REQUIRED, file=self.file, line=self.line, key=self.key_path(key))
            return default
        return self.data[key]

    def _typo_of(self, key: str) -> str | None:
        unused = [str(k) for k in self.data if k not in self._used]
        close = difflib.get_close_matches(key, unused, n=1, cutoff=_TYPO_CUTOFF)
        return close[0] if close else None

    def _unknown(self, key: str, suggestion: str | None) -> ConfigError:
        error = self.error(key, f"unknown key; did you mean {suggestion!r}?" if suggestion else "unknown key")
        error.suggestion = suggestion or ""
        return error

    def _bad(self, key: str, message: str, default: Any) -> Any:
        """A bad value: an error when required; when collecting, an optional key's default stands in."""
        error = self.error(key, message)
        if default is _MISSING:
            raise error
        self.report(error)
        return default

    def typed(self, key: str, kind: type[T], default: Any = _MISSING) -> T:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        if kind is float and isinstance(value, str) and _YAML12_FLOAT.fullmatch(value):
            value = float(value)    # 1e9: a number in YAML 1.2 and to people, text to PyYAML's YAML 1.1
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_COUNT:
                return self._bad(key, f"{_digits(value)} is too large", default)  # type: ignore[no-any-return]
            return float(value)  # type: ignore[return-value]
        if not ok:
            return self._bad(key, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {_kind(value)}",  # type: ignore[no-any-return]
                             default)
        if kind is float and not math.isfinite(value):
            return self._bad(key, f"must be a finite number, not {value}", default)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        if isinstance(value, (bool, dict | list)):
            return self._bad(key, f"must be text, not {_kind(value)}", default)  # type: ignore[no-any-return]
        if isinstance(value, int) and abs(value) > MAX_COUNT:
            return self._bad(key, f"{_digits(value)} is too large", default)  # type: ignore[no-any-return]
        return str(value)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self.typed(key, int, default)
        maximum = MAX_COUNT if maximum is None else maximum
        if value is not None and minimum is not None and value < minimum:
            return self._bad(key, f"must be at least {minimum}, not {_digits(value)}", default)  # type: ignore[no-any-return]
        if value is not None and value > maximum:
            return self._bad(key, f"must be at most {maximum}, not {_digits(value)}", default)  # type: ignore[no-any-return]
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self.typed(key, float, default)
        if value is not None and minimum is not None and value < minimum:
            return self._bad(key, f"must be at least {minimum:g}, not {value:g}", default)  # type: ignore[no-any-return]
        if value is not None and maximum is not None and value > maximum:
            return self._bad(key, f"must be at most {maximum:g}, not {value:g}", default)  # type: ignore[no-any-return]
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self.typed(key, bool, default)

    def duration(self, key: str, default: Any = _MISSING, *, minimum: float = 0.0,
                 maximum: float = MAX_DURATION_S) -> float:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            return self._bad(key, str(exc), default)  # type: ignore[no-any-return]
        if seconds < max(minimum, MIN_DURATION_S if seconds else 0.0):
            return self._bad(key, f"must be at least {max(minimum, MIN_DURATION_S):g}s, not {seconds:g}s",  # type: ignore[no-any-return]
                             default)
        if seconds > maximum:
            return self._bad(key, f"must be at most {_span(maximum)}, not {_span(seconds)}", default)  # type: ignore[no-any-return]
        return seconds

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.text(key, default)
        if value is not None and value not in choices:
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return self._bad(key, f"{value!r} is not one of: {', '.join(choices)}{hint}", default)  # type: ignore[no-any-return]
        return value

    def text_list(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[no-any-return]
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool)
                                                  for v in value):
            return self._bad(key, "must be a list of text values", default)  # type: ignore[no-any-return]
        return [str(v) for v in value]

    def section(self, key: str, default: Any = _MISSING) -> Section:
        value = self.raw(key, default)
        return Section(value, self.key_path(key), file=self.file, line=self.line_of(key), sink=self.sink)

    def sections(self, key: str) -> Iterator[Section]:
        """A list of mappings (``devices:``); when collecting, an item that is not a mapping is recorded."""
        value = self.raw(key, [])
        if isinstance(value, list):
            lines = getattr(value, "item_lines", [])
            for i, item in enumerate(value):
                line = lines[i] if i < len(lines) else self.line_of(key)
                section = self.attempt(None, Section, item, f"{self.key_path(key)}[{i}]", file=self.file,
                                       line=line, sink=self.sink)
                if section is not None:
                    yield section
        else:
            self._bad(key, f"must be a list, not {_kind(value)}", None)

    def named_sections(self, key: str) -> Iterator[tuple[str, Section]]:
        """A mapping of name -> mapping (``sites:``); when collecting, a bad entry is recorded."""
        value = self.raw(key, {})
        if not isinstance(value, dict):
            self._bad(key, f"must be a mapping of name -> settings, not {_kind(value)}", None)
            return
        outer = Section(value, self.key_path(key), file=self.file, line=self.line_of(key), sink=self.sink)
        for name in value:
            section = self.attempt(None, outer.section, name)
            if section is not None:
                yield name, section

    def check_name(self, name: str, *, key: str = "") -> None:
        """A name (a device, a site, a group): letters, digits, '_', '-', '.'; nothing invisible after it."""
        if not _NAME.fullmatch(name):
            message = f"{name!r} is not a valid name (letters, digits, '_', '-', '.')"
            raise self.error(key, message) if key else ConfigError(message, file=self.file, line=self.line,
                                                                   key=self.path)

    def finish(self) -> None:
        """Unknown keys are errors: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self._used:
                hint = difflib.get_close_matches(str(key), [str(k) for k in self._used], n=1)
                self.report(self._unknown(key, hint[0] if hint else None))


def _span(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 86400 else f"{seconds / 86400:.6g} days"


def _digits(value: int) -> str:
    """A huge integer named by its size, not printed whole."""
    text = str(value)
    return text if len(text) <= 20 else f"a {len(text)}-digit integer"


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    kind = next((k for k in (bool, int, float, str, dict, list) if isinstance(value, k)), type(value))
    return _TYPE_NAMES.get(kind, kind.__name__).removeprefix("a ").removeprefix("an ")
