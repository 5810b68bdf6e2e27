"""A full disk loses nothing committed and says why: `netwatt run` with its state directory on a 2 MB
tmpfs, a real InfluxDB as output, the lab's snmpsim devices. The cause is logged once and shown by
`status` and /healthz; the polls made meanwhile are kept and committed once there is room again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.daemon import COMMIT_SLICE, Agent
from agent.lab import SnmpsimProcess, lab_config_text
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import DeviceInfo, DevicePower, Method, PollResult
from agent.store.sqlite import Store, StoredPoint
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness.influxd import InfluxServer, InfluxServerPool
from tests.harness.ports import free_tcp_port

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    # 16 MB: room for the store and its WAL (up to ~4 MB before a checkpoint) while InfluxDB is down,
    # so the disk is full when the test fills it, not before
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except urllib.error.URLError:          # not listening yet
        return 0, {}


def count(influx: InfluxServer, after_s: float = 0) -> int:
    try:
        rows = influx.query(f"SELECT count(watts) FROM device_power WHERE time > {int(after_s)}s", db="netwatt")
    except Exception:              # just restarted: not answering queries yet
        return -1
    return int(rows[0]["count"]) if rows else 0


def fill(folder: Path) -> Path:
    """Fill the small disk to its last byte. The filler grows from what ``reserve`` put aside, if anything:
    an agent spooling while InfluxDB is down may have filled the disk already (then nothing more fits)."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("ab") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def reserve(folder: Path, size: int = 512 * 1024) -> None:
    """Room that deleting the filler gives back, however full the agent made the disk meanwhile."""
    (folder / "filler").write_bytes(b"\0" * size)


def test_disk_full_keeps_the_polls_says_why_and_recovers(lab: SnmpsimProcess, influxd_factory: InfluxServerPool,
                                                         small_disk: Path, tmp_path: Path) -> None:
    influx = influxd_factory()
    influx.create_database("netwatt")
    state = small_disk / "state"
    port = free_tcp_port()
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    text = text.replace("agent:\n", f"agent:\n  http: {{listen: '127.0.0.1:{port}'}}\n", 1)
    config = tmp_path / "netwatt.yaml"
    config.write_text(text + f"outputs:\n  - {{type: influxdb_v1, url: '{influx.url}', database: netwatt}}\n")
    log = tmp_path / "agent.log"
    reserve(small_disk)
    agent = start_agent(config, log)
    try:
        wait_for(lambda: healthz(port)[1].get("polls_committed", 0) > 20, 60, "first commits")  # type: ignore[operator]
        wait_for(lambda: count(influx) > 0, 60, "first points in InfluxDB")
        stopped_s = time.time() + 1
        influx.stop()                          # points committed from now on wait in the spool
        time.sleep(3)
        filler = fill(small_disk)
        wait_for(lambda: healthz(port)[1].get("store_problem") is not None, 60, "the store problem")
        influx.start()
        # the spool's points, committed after InfluxDB stopped and before the disk filled, are forwarded
        # while the disk is full
        # within the forwarder's backoff cap (60 s) plus a margin for a loaded machine
        wait_for(lambda: count(influx, stopped_s) > 0, 90, "forwarding with a full disk")
        status, body = healthz(port)
        assert status == 503
        assert "database or disk is full" in str(body["store_problem"])
        assert any("polls kept in memory" in r for r in body["reasons"])  # type: ignore[attr-defined]
        shown = netwatt("status", "-c", str(config), "--format", "json")
        assert shown.returncode == 0, shown.stderr
        assert "database or disk is full" in json.loads(shown.stdout)["store_problem"]["problem"]
        time.sleep(3)                                                   # polls go on meanwhile, kept in memory
        kept = healthz(port)[1]
        filler.unlink()
        wait_for(lambda: healthz(port)[1].get("store_problem") is None, 60, "the store to recover")
        after = healthz(port)[1]
        assert after["polls_committed"] > kept["polls_committed"]  # type: ignore[operator]
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    lines = log.read_text().splitlines()
    assert sum("cannot write the store" in line for line in lines) == 1     # said once, not per commit
    assert not any("Traceback" in line or "cannot rollback" in line for line in lines)
    assert not any("dropped the" in line for line in lines)
    store = Store(state)
    try:
        # every poll made is committed: one device_power point per successful poll and device
        polls = sum(s.polls for s in store.device_statuses())
        assert polls >= after["polls_committed"]  # type: ignore[operator]
    finally:
        store.close()


def test_a_batch_set_aside_on_a_full_disk_fails_with_the_disk_full_error(small_disk: Path) -> None:
    """SQLite rolls a transaction back itself on SQLITE_FULL: the store's own ROLLBACK must not replace
    the cause with 'cannot rollback - no transaction is active'. The batch stays in the spool."""
    # the points' own time: the store's age bound must not drop them whatever the host's date
    store = Store(small_disk, clock=lambda: datetime.fromtimestamp(1_800_000_600, UTC))
    try:
        store.register_output("influx")
        store.commit([], [StoredPoint(1_800_000_000 + i, "m", "sw1", f"m,device=sw1 v={i} {'x' * 200}")
                          for i in range(500)])
        batch = store.next_batch("influx", 500)
        assert batch is not None
        fill(small_disk)
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            store.set_aside(batch, status=400, reason="partial write: field type conflict")
        assert not store.in_transaction
        assert store.next_batch("influx", 500) == batch
    finally:
        store.close()


def test_the_commit_loop_keeps_polls_while_the_disk_is_full_and_commits_them_after(small_disk: Path) -> None:
    """A tick with a full disk keeps its slice in memory; the next ticks retry all kept polls at once
    (no slices while the store fails: what is pending joins the bounded memory); with room again one
    tick commits them all, each once."""
    text = (f"version: 1\nagent:\n  state_directory: {small_disk / 'state'}\n"
            "credentials:\n  c: {version: 2c, community: 'plain:x'}\n"
            "devices:\n  - {name: sw1, address: 192.0.2.1, credential: c}\n")
    agent = Agent(load_config_text(text, environ={}, builtin_profiles=load_builtin_profiles()))
    polls = 2 * COMMIT_SLICE + 50
    start = datetime(2026, 12, 7, tzinfo=UTC)
    agent._pending = [PollResult(device="sw1", site="", role="switch", time=start + timedelta(seconds=i),
                                 power=DevicePower(None, Method.UNKNOWN, None, []), info=DeviceInfo(),
                                 errors=["timeout: no reply " + "x" * 2000]) for i in range(polls)]
    filler = fill(small_disk)
    try:
        asyncio.run(agent._commit_in_slices())
        assert agent.store_problem is not None
        assert "database or disk is full" in agent.store_problem
        assert (len(agent._unsaved), len(agent._pending)) == (COMMIT_SLICE, polls - COMMIT_SLICE)
        asyncio.run(agent._commit_in_slices())
        assert (len(agent._unsaved), len(agent._pending)) == (polls, 0)
        assert agent.progress.committed == 0
        filler.unlink()
        asyncio.run(agent._commit_in_slices())
        assert agent.store_problem is None
        assert (len(agent._unsaved), agent.progress.committed, agent.lost_polls) == (0, polls, 0)
    finally:
        asyncio.run(agent.close())
    store = Store(small_disk / "state")
    try:
        assert [(s.device, s.polls) for s in store.device_statuses()] == [("sw1", polls)]
    finally:
        store.close()
