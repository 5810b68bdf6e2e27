"""Recorded device walks (snmpsim ``.snmprec``) as an ``SnmpClient``: the wire, faked.

Golden tests and ``netwatt discover --walk FILE`` run the real walker, profiles and normalisation
over a recording; only the UDP exchange is replaced.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import (
    EndOfMibView,
    NoSuchInstance,
    NoSuchObject,
    Oid,
    SnmpTarget,
    SnmpValue,
    WalkResult,
    parse_oid,
)
from collectors.snmp.walk import BulkWalk

# snmpsim's type tags (snmpsim/grammar/snmprec.py: the sum of each ASN.1 tag's parts).
_INTEGER_TAGS = {"2", "65", "66", "67", "70"}     # Integer32, Counter32, Gauge32, TimeTicks, Counter64
_UNSIGNED_TAGS = {"65": 2**32, "66": 2**32, "67": 2**32, "70": 2**64}
_OCTET_TAGS = {"4", "68"}                          # OCTET STRING, Opaque
_STATIC_VALUE_MODULES = {"writecache", "delay", "error", "notification"}   # settings carry value=
_ESCAPES = {"\\": 92, "'": 39, '"': 34, "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}


class RecordingError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line of a recording that snmpsim would not serve either, and why."""

    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


@dataclass(slots=True)
class Recording:
    values: dict[Oid, SnmpValue]
    skipped: list[SkippedLine] = field(default_factory=list)


def read_snmprec(data: bytes) -> Recording:
    """``OID|TAG|VALUE`` lines as snmpsim reads them: bytes kept as ISO-8859-1 (never a decode
    error), blank and ``#`` lines ignored, each line stripped; a line snmpsim would not serve is
    skipped and named, never the whole recording."""
    values: dict[Oid, SnmpValue] = {}
    skipped: list[SkippedLine] = []
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        line = raw_line.decode("iso-8859-1").strip()
        if not line or line.startswith("#"):
            continue
        try:
            oid_text, tag, value_text = line.split("|", 2)
            if not oid_text or not tag:
                raise ValueError("empty OID or type")
            value = _value(tag, value_text)
            if value is not EndOfMibView:       # snmpsim steps over it to the next line when walking
                values[parse_oid(oid_text)] = value
        except ValueError as exc:
            skipped.append(SkippedLine(number, str(exc) if "|" in line else "not OID|TYPE|VALUE"))
    return Recording(dict(sorted(values.items())), skipped)


def parse_snmprec(text: str, *, source: str = "<snmprec>") -> dict[Oid, SnmpValue]:
    """Strict form for fixtures we write ourselves: any unreadable line is an error."""
    recording = read_snmprec(text.encode("utf-8"))
    if recording.skipped:
        raise RecordingError(f"{source}:{recording.skipped[0]}")
    return recording.values


def _value(tag: str, text: str) -> SnmpValue:
    if ":" in tag:       # 'TYPE:module': a value that a snmpsim variation module serves
        base_tag, module = tag.split(":", 1)
        return _variation_value(base_tag, module, text)
    base, encoding = (tag[:-1], tag[-1]) if tag[-1:] in ("x", "e") else (tag, "")
    if base in _INTEGER_TAGS and not encoding:
        return _integer(base, text)
    if base in _OCTET_TAGS:
        return _octets(text, encoding)
    if base == "64":
        address = _octets(text, encoding) if encoding else bytes(_dotted(text))
        if len(address) != 4:
            raise ValueError(f"IpAddress {text!r} is not 4 bytes")
        return ".".join(map(str, address))
    if base == "6" and not encoding:
        return parse_oid(text)
    if base == "5" and not encoding:
        if text:
            raise ValueError(f"Null with a value {text!r}")
        return b""
    if base in ("128", "129", "130") and not encoding:     # recorded SNMPv2 exceptions
        return {"128": NoSuchObject, "129": NoSuchInstance, "130": EndOfMibView}[base]
    raise ValueError(f"unsupported snmprec type {tag!r}")


def _variation_value(tag: str, module: str, text: str) -> SnmpValue:
    """The value snmpsim first answers for a variation-module line, where its settings hold one:
    ``value=``/``hexvalue=`` (writecache, delay, error, notification) or ``initial=`` (numeric,
    which then moves with time). Modules that compute or fetch the value (sql, redis, subprocess,
    multiplex) have none to read offline."""
    settings = _variation_settings(text)
    if module in _STATIC_VALUE_MODULES:
        if "hexvalue" in settings:
            return _value(tag + "x", settings["hexvalue"])
        if "value" in settings:
            return _value(tag, settings["value"])
    if module == "numeric" and "initial" in settings and tag in _INTEGER_TAGS:
        try:
            return _integer(tag, str(int(float(settings["initial"]))))
        except ValueError:
            raise ValueError(f"numeric initial={settings['initial']!r} is not a number") from None
    raise ValueError(f"type {tag}:{module} needs the snmpsim variation module {module!r} "
                     "(no value= or initial= to read offline)")


def _variation_settings(text: str) -> dict[str, str]:
    """``key=value,key=value`` as snmpsim splits it (a longer run of the separator, ',,' or ',,,',
    lets a value hold a single one)."""
    settings: dict[str, str] = {}
    for item in _snmpsim_split(text, ","):
        key, _, value = item.partition("=")
        settings[key.strip()] = value
    return settings


def _snmpsim_split(text: str, separator: str) -> list[str]:
    for run in (3, 2, 1):
        if separator * run in text:
            return text.split(separator * run)
    return [text]


def _integer(tag: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"type {tag}: {text!r} is not an integer") from None
    low, high = (0, _UNSIGNED_TAGS[tag]) if tag in _UNSIGNED_TAGS else (-(2**31), 2**31)
    if not low <= value < high:
        raise ValueError(f"type {tag}: {value} is out of range")
    return value


def _octets(text: str, encoding: str) -> bytes:
    if encoding == "x":          # hex; an odd digit count is padded with 0, as pyasn1 does
        digits = text.replace(" ", "")
        try:
            return bytes.fromhex(digits + "0" * (len(digits) % 2))
        except ValueError:
            raise ValueError(f"{text!r} is not hex") from None
    if encoding == "e":          # Python-style escapes: \n, \xNN, ...
        return bytes(_unescape(text))
    return text.encode("iso-8859-1")


def _unescape(text: str) -> list[int]:
    out: list[int] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(ord(char))
            continue
        code = next(chars, "")
        if code == "x":
            digits = next(chars, "") + next(chars, "")
            try:
                out.append(int(digits, 16))
            except ValueError:
                raise ValueError(f"bad \\x escape in {text!r}") from None
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
        else:
            raise ValueError(f"unknown escape \\{code} in {text!r}")
    return out


def _dotted(text: str) -> list[int]:
    parts = text.split(".")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"IpAddress {text!r} is not dotted decimal") from None
    if len(numbers) != 4 or any(not 0 <= n <= 255 for n in numbers):
        raise ValueError(f"IpAddress {text!r} is not dotted decimal")
    return numbers


class RecordedClient:
    """Serves walks from recordings keyed by ``SnmpTarget.name``, in GETBULK-sized steps."""

    def __init__(self, recordings: dict[str, dict[Oid, SnmpValue]],
                 skipped: dict[str, list[SkippedLine]] | None = None) -> None:
        self._recordings = recordings
        self._sorted = {name: sorted(rec) for name, rec in recordings.items()}
        self.skipped = skipped or {}          # per recording: the lines snmpsim would not serve

    @classmethod
    def from_files(cls, files: dict[str, Path]) -> RecordedClient:
        read = {name: read_snmprec(path.read_bytes()) for name, path in files.items()}
        return cls({name: r.values for name, r in read.items()},
                   {name: r.skipped for name, r in read.items() if r.skipped})

    def recording(self, name: str) -> dict[Oid, SnmpValue]:
        """Every value of a recording (discover surveys a whole recording for power-like objects)."""
        return self._recordings.get(name, {})

    async def walk(self, target: SnmpTarget, subtrees: Sequence[Oid]) -> WalkResult:
        started = time.perf_counter()
        recording, oids = self._recordings.get(target.name), self._sorted.get(target.name)
        if recording is None or oids is None:
            return WalkResult(errors=[CollectError(ErrorKind.TIMEOUT, f"no recording for {target.name}")])
        walk = BulkWalk(subtrees, max_requests=target.max_requests, max_repetitions=target.max_repetitions)
        while requested := walk.next_request():
            reply: list[tuple[Oid, SnmpValue]] = []
            cursors = list(requested)
            for _ in range(walk.repetitions()):
                for i, cursor in enumerate(cursors):
                    position = bisect.bisect_right(oids, cursor)
                    if position < len(oids):
                        cursors[i] = oids[position]
                        reply.append((oids[position], recording[oids[position]]))
                    else:
                        reply.append((cursor, EndOfMibView))
            walk.feed(requested, reply)
        return WalkResult(walk.varbinds, walk.errors, walk.requests, time.perf_counter() - started)

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> WalkResult:
        recording = self._recordings.get(target.name, {})
        return WalkResult({oid: recording[oid] for oid in oids if oid in recording}, requests=1)

    async def close(self) -> None:
        return None
