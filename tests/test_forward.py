"""The forwarder's decisions, with a scripted output and a controllable clock (no sleeps)."""

from __future__ import annotations

import functools
import logging
import operator
import random
import time
from pathlib import Path

import pytest

from agent.outputs.base import Outcome, Verdict
from agent.pipeline.forward import Backoff, Forwarder
from agent.store.sqlite import Store, StoredPoint


class ScriptedOutput:
    """Answers from a script; records what it was sent."""

    def __init__(self, name: str, script: list[Outcome], batch_size: int = 2) -> None:
        self.name = name
        self.batch_size = batch_size
        self.script = script
        self.sent: list[list[str]] = []

    async def write(self, lines: list[str]) -> Outcome:
        self.sent.append(lines)
        return self.script.pop(0) if self.script else Outcome(Verdict.ACCEPTED)

    async def close(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def filled_store(tmp_path: Path, n: int) -> Store:
    store = Store(tmp_path)
    now = int(time.time())      # recent: the store expires points older than its max age
    store.commit([], [StoredPoint(now + i, "m", "d", f"m v={i} {i}") for i in range(n)])
    return store


async def test_everything_is_sent_once_in_batches(tmp_path: Path) -> None:
    store = filled_store(tmp_path, 5)
    output = ScriptedOutput("a", [])
    await Forwarder(store, [output]).flush()
    assert [len(b) for b in output.sent] == [2, 2, 1]
    assert functools.reduce(operator.iadd, output.sent, []) == [f"m v={i} {i}" for i in range(5)]
    await Forwarder(store, [output]).flush()
    assert len(output.sent) == 3                       # nothing is sent twice


async def test_transient_failure_backs_off_and_honours_retry_after(tmp_path: Path) -> None:
    store = filled_store(tmp_path, 2)
    clock = Clock()
    output = ScriptedOutput("a", [Outcome(Verdict.RETRY, "HTTP 503", 503, retry_after_s=30)])
    forwarder = Forwarder(store, [output], clock=clock, rng=random.Random(1))
    await forwarder.flush()
    assert len(output.sent) == 1
    clock.now += 29
    await forwarder.flush()
    assert len(output.sent) == 1                       # still backing off: Retry-After is 30 s
    clock.now += 2
    await forwarder.flush()
    assert len(output.sent) == 2
    assert store.output_statuses()[0].written == 2


async def test_bad_batch_is_set_aside_and_the_rest_flows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = filled_store(tmp_path, 4)
    output = ScriptedOutput("a", [Outcome(Verdict.REJECTED, "partial write: bad line", 400)])
    with caplog.at_level(logging.ERROR):
        await Forwarder(store, [output]).flush()
    [status] = store.output_statuses()
    assert (status.written, status.set_aside, status.pending) == (2, 2, 0)
    assert "server rejected 2 points (HTTP 400): partial write: bad line" in caplog.text


async def test_refused_output_keeps_everything_and_says_so_once(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    store = filled_store(tmp_path, 2)
    clock = Clock()
    refused = Outcome(Verdict.REFUSED, "401 unauthorized: check the token", 401)
    output = ScriptedOutput("a", [refused, refused])
    forwarder = Forwarder(store, [output], clock=clock)
    with caplog.at_level(logging.ERROR):
        await forwarder.flush()
        clock.now += 1000
        await forwarder.flush()
    assert caplog.text.count("refused (HTTP 401)") == 1
    assert store.output_statuses()[0].pending == 2
    clock.now += 1000
    await forwarder.flush()
    assert store.output_statuses()[0].pending == 0


async def test_one_failing_output_does_not_hold_back_another(tmp_path: Path) -> None:
    store = filled_store(tmp_path, 2)
    down = ScriptedOutput("down", [Outcome(Verdict.RETRY, "connection refused")])
    up = ScriptedOutput("up", [])
    await Forwarder(store, [down, up]).flush()
    pending = {s.output: s.pending for s in store.output_statuses()}
    assert pending == {"down": 2, "up": 0}


def test_backoff_grows_with_jitter_and_resets() -> None:
    backoff = Backoff(base_s=1, cap_s=8)
    rng = random.Random(7)
    delays = [backoff.fail(0, retry_after_s=None, rng=rng) for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.succeed()
    assert backoff.fail(0, retry_after_s=None, rng=rng) <= 1
