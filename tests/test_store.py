"""The SQLite store and spool: atomic commits, cursors, bounds, set-aside batches, corrupt files."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from agent.energy import EnergyInterval, EnergyState, Sample
from agent.power.readings import Method
from agent.store.sqlite import PollRecord, Store, StoredPoint

# recent times: the store expires points older than its max age (35 days by default)
BASE = int(time.time()) - 3600


def point(i: int) -> StoredPoint:
    return StoredPoint(BASE + i, "device_power", "sw1", f"device_power,device=sw1 watts={i}.0 {BASE + i}")


def record(i: int, *, error: str = "") -> PollRecord:
    return PollRecord(device="sw1", time_s=BASE + i, points=[point(i)],
                      energy=EnergyState(last=Sample(BASE + i, float(i), Method.MEASURED)),
                      power_w=float(i), method="measured", basis="psu_input", error=error, site="paris",
                      intervals=[EnergyInterval(BASE + i, BASE + 60 + i, 1.5, 60, Method.MEASURED)])


def test_commit_is_durable_and_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit([record(1), record(2)])
    store.close()
    reopened = Store(tmp_path)
    assert [p.line for p in reopened.points()] == [point(1).line, point(2).line]
    assert reopened.energy_states()["sw1"].last == Sample(BASE + 2, 2.0, Method.MEASURED)
    assert [i.wh for _, i in reopened.energy_intervals("sw1")] == [1.5, 1.5]
    [status] = reopened.device_statuses()
    assert (status.polls, status.power_w, status.error_streak) == (2, 2.0, 0)


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bad = PollRecord(device="sw1", time_s=0, points=[point(1)], energy=None, power_w=None, method="unknown",
                     basis=None, error="", intervals=[object()])  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        store.commit([bad])
    assert store.point_count() == 0


def test_error_streak_counts_and_resets(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit([record(1, error="timeout"), record(2, error="timeout")])
    assert store.device_statuses()[0].error_streak == 2
    store.commit([record(3)])
    assert store.device_statuses()[0].error_streak == 0


def test_cursor_sends_each_point_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit([record(i) for i in range(5)])
    store.register_output("influx")
    first = store.next_batch("influx", 3)
    assert first is not None
    assert len(first.lines) == 3
    assert store.next_batch("influx", 3) == first          # not acknowledged: offered again
    store.ack(first)
    second = store.next_batch("influx", 3)
    assert second is not None
    assert second.lines == [point(3).line, point(4).line]
    store.ack(second)
    assert store.next_batch("influx", 3) is None
    [status] = store.output_statuses()
    assert (status.pending, status.written) == (0, 5)


def test_full_buffer_drops_the_oldest_unsent_and_counts_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path, buffer_limit=4)
    store.register_output("influx")
    with caplog.at_level(logging.WARNING):
        store.commit([record(i) for i in range(10)])
    batch = store.next_batch("influx", 100)
    assert batch is not None
    assert batch.lines == [point(i).line for i in range(6, 10)]
    [status] = store.output_statuses()
    assert (status.dropped, status.pending) == (6, 4)
    assert store.counters()["points_dropped"] == 6
    assert "spool full, dropped the 6 oldest unsent points" in caplog.text


def test_store_bound_expires_oldest_points(tmp_path: Path) -> None:
    store = Store(tmp_path, max_points=3)
    store.register_output("influx")
    store.commit([record(i) for i in range(5)])
    assert store.point_count() == 3
    assert store.counters()["points_expired"] == 2
    assert store.output_statuses()[0].dropped == 2           # the output never got them: counted


def test_rejected_batch_is_set_aside_and_later_batches_flow(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit([record(i) for i in range(4)])
    store.register_output("influx")
    bad = store.next_batch("influx", 2)
    assert bad is not None
    store.set_aside(bad, status=400, reason='unable to parse "device_power watts=": missing field value')
    following = store.next_batch("influx", 2)
    assert following is not None
    assert following.lines == [point(2).line, point(3).line]
    row = store._db.execute("SELECT status, reason, lines FROM set_aside").fetchone()
    assert row == (400, 'unable to parse "device_power watts=": missing field value', "\n".join(bad.lines))
    assert store.output_statuses()[0].set_aside == 2


def test_corrupt_database_is_set_aside_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "netwatt.db").write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR):
        store = Store(tmp_path)
    store.commit([record(1)])
    assert store.point_count() == 1
    aside = list(tmp_path.glob("netwatt.db.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not a database")
    assert "is damaged (file is not a database)" in caplog.text
    assert "moved it to" in caplog.text


def test_new_output_starts_at_the_points_held(tmp_path: Path) -> None:
    store = Store(tmp_path, max_points=2)
    store.commit([record(i) for i in range(5)])
    store.register_output("late")
    batch = store.next_batch("late", 10)
    assert batch is not None
    assert batch.lines == [point(3).line, point(4).line]
    assert sqlite3.connect(tmp_path / "netwatt.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_age_bound_follows_the_injected_clock_not_the_host(tmp_path: Path) -> None:
    """Points dated by a pinned clock stay until that clock (never the host's date) makes them 35 days old."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415
    now = [datetime(2026, 11, 2, 9, 0, tzinfo=UTC)]
    stamp = int(now[0].timestamp())
    store = Store(tmp_path, clock=lambda: now[0])
    old = StoredPoint(stamp, "wifi_action", "", f"wifi_action duration_s=1 {stamp}")
    store.commit([], [old])
    now[0] += timedelta(days=34)
    store.commit([], [StoredPoint(stamp + 1, "wifi_action", "", f"wifi_action duration_s=2 {stamp + 1}")])
    assert store.point_count() == 2              # 34 days on: both kept, whatever today's date is
    now[0] += timedelta(days=2)
    fresh = int(now[0].timestamp())
    store.commit([], [StoredPoint(fresh, "wifi_action", "", f"wifi_action duration_s=3 {fresh}")])
    assert [p.time for p in store.points()] == [fresh]          # 36 days on: the two old ones expired
    assert store.counters()["points_expired"] == 2
    store.close()

