"""The contract every output implements: write one batch of line protocol, say what happened.

An output never retries, buffers or drops on its own: the forwarder (``agent.pipeline.forward``) owns the
durable spool, the backoff and the bookkeeping. An output only turns one HTTP exchange into an
``Outcome`` the forwarder can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Verdict(StrEnum):
    ACCEPTED = "accepted"     # the server acknowledged every line: the batch may leave the spool
    RETRY = "retry"           # transient (timeout, connection refused, 429, 5xx): keep, back off
    REJECTED = "rejected"     # the batch itself is bad (400, 413): set it aside, move on
    REFUSED = "refused"       # we are not allowed or aimed wrong (401, 403, 404): keep, report loudly


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    message: str = ""
    status: int | None = None           # the HTTP status, when there was one
    retry_after_s: float | None = None  # the server's Retry-After, when it sent one


class Output(Protocol):
    """One configured output. ``write`` is called with at most ``batch_size`` lines."""

    name: str          # unique per config, e.g. "influxdb_v2:ops/netwatt"; used as the spool cursor key
    batch_size: int

    async def write(self, lines: list[str]) -> Outcome: ...

    async def close(self) -> None: ...
