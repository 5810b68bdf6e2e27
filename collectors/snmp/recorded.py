"""Recorded device walks (snmpsim ``.snmprec``) as an ``SnmpClient``: the wire, faked.

Golden tests and ``netwatt discover --walk FILE`` run the real walker, profiles and normalisation
over a recording; only the UDP exchange is replaced.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from pathlib import Path

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import EndOfMibView, Oid, SnmpTarget, SnmpValue, WalkResult, parse_oid
from collectors.snmp.walk import BulkWalk

_INTEGER_TYPES = {"2", "65", "66", "67", "70"}


class RecordingError(ValueError):
    pass


def parse_snmprec(text: str, *, source: str = "<snmprec>") -> dict[Oid, SnmpValue]:
    """``OID|TYPE|VALUE`` lines -> {oid: value}, sorted by OID."""
    values: dict[Oid, SnmpValue] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            oid_text, type_code, value_text = line.split("|", 2)
            oid = parse_oid(oid_text)
            values[oid] = _value(type_code.strip(), value_text)
        except ValueError as exc:
            raise RecordingError(f"{source}:{number}: {exc}") from None
    return dict(sorted(values.items()))


def _value(type_code: str, text: str) -> SnmpValue:
    hex_encoded = type_code.endswith("x")
    base = type_code.rstrip("x")
    if base in _INTEGER_TYPES:
        return int(text)
    if base == "4":
        return bytes.fromhex(text) if hex_encoded else text.encode("utf-8")
    if base == "6":
        return parse_oid(text)
    if base == "64":
        return ".".join(str(b) for b in bytes.fromhex(text)) if hex_encoded else text
    if base == "5":
        return b""
    raise ValueError(f"unsupported snmprec type {type_code!r}")


class RecordedClient:
    """Serves walks from recordings keyed by ``SnmpTarget.name``, in GETBULK-sized steps."""

    def __init__(self, recordings: dict[str, dict[Oid, SnmpValue]]) -> None:
        self._recordings = recordings
        self._sorted = {name: sorted(rec) for name, rec in recordings.items()}

    @classmethod
    def from_files(cls, files: dict[str, Path]) -> RecordedClient:
        return cls({name: parse_snmprec(path.read_text(encoding="utf-8"), source=str(path))
                    for name, path in files.items()})

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
