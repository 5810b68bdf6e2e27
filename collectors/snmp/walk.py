"""A sans-I/O GETBULK walker over several subtrees at once, and what it learns between polls.

Each request carries one repeater per unfinished subtree, so a device with three tables costs one
PDU per batch of rows, not three. A subtree ends at the first OID outside it in the same reply
(never one more request to find out), on endOfMibView, or when the agent goes backwards.

Every repeater costs ``max-repetitions`` varbinds in the reply, wanted or not, and decoding is
where a poller's CPU goes. So repetitions are sized from what the previous poll of the device
found (rows per subtree), or from a varbind budget on the first poll; subtrees a device left
empty are skipped, and probed again every ``reprobe_every`` polls.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import EndOfMibView, NoSuchInstance, NoSuchObject, Oid, SnmpValue, format_oid

SHARED_ROWS_MAX = 10_000   # distinct row-count shapes kept for sharing between devices
VARBIND_BUDGET = 64       # varbinds per reply on a first walk: ~2-3 KB, inside any agent's limits


def outermost(subtrees: Sequence[Oid]) -> list[Oid]:
    """Sorted, without duplicates, without subtrees inside another one (walked as part of it)."""
    return list(_outermost(tuple(subtrees)))


def outermost_tuple(subtrees: Sequence[Oid]) -> tuple[Oid, ...]:
    """``outermost`` as a tuple shared by every caller with the same subtrees (not one per device)."""
    return _outermost(tuple(subtrees))


@functools.lru_cache(maxsize=1024)      # every poll asks it for the same few profile sets
def _outermost(subtrees: tuple[Oid, ...]) -> tuple[Oid, ...]:
    unique = sorted(set(subtrees))
    return tuple(s for s in unique if not any(s != o and s[: len(o)] == o for o in unique))


class BulkWalk:
    def __init__(self, subtrees: Sequence[Oid], *, max_requests: int, max_repetitions: int = 25,
                 expected_rows: Mapping[Oid, int] | None = None) -> None:
        self.subtrees: list[Oid] = outermost(subtrees)
        self._cursor: dict[Oid, Oid] = {s: s for s in self.subtrees}
        self._open: list[Oid] = list(self.subtrees)
        self.max_requests = max_requests
        self.max_repetitions = max_repetitions
        self.expected_rows = dict(expected_rows or {})
        self.rows: dict[Oid, int] = dict.fromkeys(self.subtrees, 0)
        self.requests = 0
        self.varbinds: dict[Oid, SnmpValue] = {}
        self.errors: list[CollectError] = []

    @property
    def done(self) -> bool:
        return not self._open

    def repetitions(self) -> int:
        """max-repetitions for the next request: enough for the rows still expected, plus the
        one that shows the end; without history, a budget shared by the open subtrees."""
        if self._open and all(s in self.expected_rows for s in self._open):
            needed = max(self.expected_rows[s] - self.rows[s] for s in self._open) + 1
        else:
            needed = VARBIND_BUDGET // max(1, len(self._open))
        return max(1, min(self.max_repetitions, needed))

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
                self.rows[subtree] += 1
        # A reply shorter than one full row of repeaters leaves the missing columns unanswered:
        # the agent hit its size limit; those columns simply go on from their cursor.
        self._open = [s for s in self._open if s not in finished]


@dataclass(slots=True)
class _History:
    rows: dict[Oid, int]
    polls: int = 0


@dataclass(slots=True)
class WalkPlanner:
    """Per device: which subtrees answered, and with how many rows, last time."""

    reprobe_every: int = 20
    _history: dict[str, _History] = field(default_factory=dict)
    _shared: dict[tuple[tuple[Oid, int], ...], dict[Oid, int]] = field(default_factory=dict)

    def plan(self, device: str, subtrees: Sequence[Oid]) -> tuple[list[Oid], dict[Oid, int]]:
        """The subtrees worth walking now, and the rows expected in each."""
        wanted = outermost(subtrees)
        history = self._history.get(device)
        if history is None or not set(wanted) <= set(history.rows):
            return wanted, {}
        history.polls += 1
        if history.polls % self.reprobe_every == 0:
            return wanted, dict(history.rows)
        return [s for s in wanted if history.rows[s] > 0], dict(history.rows)

    def learn(self, device: str, walk: BulkWalk) -> None:
        if walk.errors:
            self._history.pop(device, None)      # the next walk starts from scratch
            return
        history = self._history.setdefault(device, _History({}))
        rows = {**history.rows, **walk.rows}
        # devices of one model have the same rows: they share one dict (never changed in place), not
        # one each (~7 MB at 10,000 devices)
        if len(self._shared) >= SHARED_ROWS_MAX:
            self._shared.clear()
        history.rows = self._shared.setdefault(tuple(rows.items()), rows)

    def forget(self, device: str) -> None:
        self._history.pop(device, None)
