"""How many SNMP requests may be in flight, adapted to how fast this process handles replies.

Replies are decoded on the event loop. When the loop falls behind, replies wait in the socket
buffer while their timers run, and a healthy device looks dead: the poller's own CPU saturation
turns into timeouts. So the bound follows the event loop's lag and the kernel's count of replies
dropped from a full socket buffer, not device latency (a slow WAN device is not our problem to
throttle): proportional increase while the loop keeps up, multiplicative decrease when its lag exceeds
a budget or replies are dropped. ``LagWatcher`` takes the samples for every backend.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class AdaptiveLimit:
    limit: float = 32.0
    minimum: int = 4
    maximum: int = 2000
    # loop lag above this means replies are queueing behind us: a tenth of a 1 s timeout, far from
    # making a healthy device time out (0.05 s shrank the bound on every scheduling hiccup of a
    # shared machine: it settled at 10-45 where the host could keep hundreds in flight)
    lag_budget_s: float = 0.1
    decrease_factor: float = 0.7
    increase_step: float = 2.0
    increase_ratio: float = 0.05    # growth per sample is at least this share of the bound: 32 -> 1,000 in ~1.5 s

    def on_drops(self, dropped: int) -> None:
        """The kernel dropped replies: the socket buffer overflowed, too much was in flight."""
        if dropped > 0:
            self.limit = max(float(self.minimum), self.limit * self.decrease_factor)

    def on_lag(self, lag_s: float, *, saturated: bool) -> None:
        """One lag sample. ``saturated``: callers are waiting for a slot right now."""
        if lag_s > self.lag_budget_s:
            self.limit = max(float(self.minimum), self.limit * self.decrease_factor)
        elif saturated:
            step = max(self.increase_step, self.limit * self.increase_ratio)
            self.limit = min(float(self.maximum), self.limit + step)

    @property
    def slots(self) -> int:
        return int(self.limit)


class InFlightGate:
    """An asyncio semaphore whose size is read from an ``AdaptiveLimit`` at every acquire."""

    def __init__(self, limit: AdaptiveLimit) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.in_flight < self.limit.slots and not self._waiters:
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()      # we were handed a slot as we were cancelled: give it back
            elif future in self._waiters:
                self._waiters.remove(future)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self.wake()

    def wake(self) -> None:
        while self._waiters and self.in_flight < self.limit.slots:
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)


class LagWatcher:
    """Samples the event loop's lag every ``sample_s`` and feeds it to the limit (and wakes waiters
    the new limit admits). ``drops``, if given, is asked every 5th sample for replies the kernel
    dropped since the last call. One per client; started by the first request."""

    def __init__(self, limit: AdaptiveLimit, gate: InFlightGate, *, sample_s: float = 0.02,
                 drops: Callable[[], int] | None = None) -> None:
        self.limit = limit
        self.gate = gate
        self.sample_s = sample_s
        self.drops = drops
        self.max_lag_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        samples = 0
        while True:
            expected = loop.time() + self.sample_s
            await asyncio.sleep(self.sample_s)
            lag = max(0.0, loop.time() - expected)
            self.max_lag_s = max(self.max_lag_s, lag)
            samples += 1
            if samples % 5 == 0 and self.drops is not None:
                self.limit.on_drops(self.drops())
            self.limit.on_lag(lag, saturated=self.gate.waiting > 0)
            self.gate.wake()
