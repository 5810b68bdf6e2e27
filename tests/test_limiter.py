"""The adaptive in-flight bound: it follows event-loop lag, and the gate honours it."""

from __future__ import annotations

import asyncio

from collectors.snmp.limiter import AdaptiveLimit, InFlightGate


def test_grows_only_while_saturated_and_the_loop_keeps_up() -> None:
    limit = AdaptiveLimit(limit=10, increase_step=2, maximum=14)
    limit.on_lag(0.001, saturated=False)
    assert limit.slots == 10
    for _ in range(5):
        limit.on_lag(0.001, saturated=True)
    assert limit.slots == 14          # capped at the configured maximum


def test_grows_in_proportion_so_a_large_fleet_is_not_held_at_a_few_dozen() -> None:
    limit = AdaptiveLimit(limit=32, increase_step=2, increase_ratio=0.05, maximum=2000)
    samples = 0
    while limit.slots < 1000:
        limit.on_lag(0.001, saturated=True)
        samples += 1
    assert 60 <= samples <= 80          # ~1.5 s of 20 ms samples; adding 2 a sample took 484 samples


def test_shrinks_when_replies_queue_behind_the_loop() -> None:
    limit = AdaptiveLimit(limit=100, decrease_factor=0.5, minimum=4, lag_budget_s=0.05)
    limit.on_lag(0.2, saturated=True)
    assert limit.slots == 50
    for _ in range(20):
        limit.on_lag(0.2, saturated=True)
    assert limit.slots == 4


async def test_gate_never_admits_more_than_the_limit() -> None:
    gate = InFlightGate(AdaptiveLimit(limit=3))
    peak = 0

    async def job() -> None:
        nonlocal peak
        await gate.acquire()
        try:
            peak = max(peak, gate.in_flight)
            await asyncio.sleep(0.001)
        finally:
            gate.release()

    await asyncio.gather(*(job() for _ in range(50)))
    assert peak == 3
    assert gate.in_flight == 0
    assert gate.waiting == 0


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    gate = InFlightGate(AdaptiveLimit(limit=1))
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    gate.release()
    assert gate.in_flight == 0
    assert gate.waiting == 0
