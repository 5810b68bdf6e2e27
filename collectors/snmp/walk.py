"""A sans-I/O GETBULK walker over several subtrees at once.

Each request carries one repeater per unfinished subtree, so a device with three tables costs one
PDU per ``max_repetitions`` rows, not three. A subtree ends at the first OID outside it in the same
reply (never one more request to find out), on endOfMibView, or when the agent goes backwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import EndOfMibView, NoSuchInstance, NoSuchObject, Oid, SnmpValue, format_oid


class BulkWalk:
    def __init__(self, subtrees: Sequence[Oid], *, max_requests: int) -> None:
        # A subtree inside another one is walked once, as part of the outer one.
        unique = sorted(set(subtrees))
        self.subtrees: list[Oid] = [
            s for s in unique if not any(s != o and s[: len(o)] == o for o in unique)
        ]
        self._cursor: dict[Oid, Oid] = {s: s for s in self.subtrees}
        self._open: list[Oid] = list(self.subtrees)
        self.max_requests = max_requests
        self.requests = 0
        self.varbinds: dict[Oid, SnmpValue] = {}
        self.errors: list[CollectError] = []

    @property
    def done(self) -> bool:
        return not self._open

    def next_request(self) -> list[Oid]:
        """The OIDs for the next GETBULK (all repeaters), or [] when the walk is over."""
        if self._open and self.requests >= self.max_requests:
            self.errors.append(CollectError(
                ErrorKind.WALK_LIMIT,
                f"stopped after {self.requests} requests; the agent kept returning rows",
                ", ".join(format_oid(s) for s in self._open),
            ))
            self._open = []
        if not self._open:
            return []
        self.requests += 1
        return [self._cursor[s] for s in self._open]

    def feed(self, requested: Sequence[Oid], varbinds: Sequence[tuple[Oid, SnmpValue]]) -> None:
        """Take the reply to the request built from ``requested`` (same order)."""
        width = len(requested)
        by_cursor = {self._cursor[s]: s for s in self._open}
        columns = [by_cursor[oid] for oid in requested]
        finished: set[Oid] = set()
        if not varbinds:
            finished.update(columns)
        for position, (oid, value) in enumerate(varbinds):
            subtree = columns[position % width]
            if subtree in finished:
                continue
            if value is EndOfMibView or oid[: len(subtree)] != subtree or len(oid) <= len(subtree):
                finished.add(subtree)
                continue
            if oid <= self._cursor[subtree]:
                self.errors.append(CollectError(
                    ErrorKind.NON_INCREASING,
                    f"agent returned {format_oid(oid)} after {format_oid(self._cursor[subtree])}",
                    format_oid(subtree),
                ))
                finished.add(subtree)
                continue
            self._cursor[subtree] = oid
            if value is not NoSuchObject and value is not NoSuchInstance:
                self.varbinds[oid] = value
        # A reply shorter than one full row of repeaters leaves the missing columns unanswered:
        # the agent hit its size limit; those columns simply go on from their cursor.
        self._open = [s for s in self._open if s not in finished]
