"""Spool -> outputs. A batch leaves an output's spool only when that output acknowledged it.

Per output: transient failures back off exponentially with jitter (never sooner than the server's
Retry-After); a batch the server rejects as malformed (400) is set aside with the server's message
and later batches flow; refusals (401/403/404) are logged loudly once per streak and nothing is
dropped. One output's trouble never holds back another's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.outputs.base import Output, Verdict
from agent.store.sqlite import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0          # an output that comes back is retried within a minute
    failures: int = 0
    not_before: float = 0.0

    def fail(self, now: float, *, retry_after_s: float | None, rng: random.Random) -> float:
        self.failures += 1
        ceiling = min(self.cap_s, self.base_s * 2.0 ** (self.failures - 1))
        delay = ceiling * (0.5 + rng.random() / 2)          # "equal jitter": spread the herd
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        self.not_before = now + delay
        return delay

    def succeed(self) -> None:
        self.failures = 0
        self.not_before = 0.0


class Forwarder:
    def __init__(self, store: Store, outputs: Sequence[Output], *, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, max_batches_per_flush: int = 1000) -> None:
        self.store = store
        self.outputs = list(outputs)
        self.clock = clock
        self.rng = rng or random.Random()
        self.max_batches_per_flush = max_batches_per_flush
        self.backoff = {output.name: Backoff() for output in self.outputs}
        self._refused: set[str] = set()
        for output in self.outputs:
            store.register_output(output.name)

    async def flush(self, *, deadline: float | None = None) -> None:
        """Send what is pending to every output that is not backing off, concurrently."""
        await asyncio.gather(*(self._flush_output(output, deadline) for output in self.outputs))

    def pending(self) -> bool:
        return any(s.pending for s in self.store.output_statuses() if s.output in self.backoff)

    async def _flush_output(self, output: Output, deadline: float | None) -> None:
        backoff = self.backoff[output.name]
        for _ in range(self.max_batches_per_flush):
            now = self.clock()
            if now < backoff.not_before or (deadline is not None and now >= deadline):
                return
            batch = self.store.next_batch(output.name, output.batch_size)
            if batch is None:
                return
            outcome = await output.write(batch.lines)
            if outcome.verdict is Verdict.ACCEPTED:
                self.store.ack(batch)
                backoff.succeed()
                if output.name in self._refused:
                    self._refused.discard(output.name)
                    log.warning("output %s: accepted writes again", output.name)
            elif outcome.verdict is Verdict.REJECTED:
                self.store.set_aside(batch, status=outcome.status, reason=outcome.message)
                log.error("output %s: server rejected %d points (HTTP %s): %s; set aside, continuing",
                          output.name, len(batch.lines), outcome.status, outcome.message)
            else:
                delay = backoff.fail(self.clock(), retry_after_s=outcome.retry_after_s, rng=self.rng)
                self.store.note_error(output.name, outcome.message)
                if outcome.verdict is Verdict.REFUSED:
                    if output.name not in self._refused:
                        self._refused.add(output.name)
                        log.error("output %s: refused (HTTP %s): %s; points are kept, retrying",
                                  output.name, outcome.status, outcome.message)
                else:
                    log.warning("output %s: %s; retrying in %.1f s", output.name, outcome.message, delay)
                return
