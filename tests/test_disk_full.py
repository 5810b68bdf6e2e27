"""A full disk loses nothing committed and says why: `netwatt run` with its state directory on a 2 MB
tmpfs, a real InfluxDB as output, the lab's snmpsim devices. The cause is logged once and shown by
`status` and /healthz; the polls made meanwhile are kept and committed once there is room again."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.lab import SnmpsimProcess, lab_config_text
from agent.store.sqlite import Store
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness.influxd import InfluxServer, InfluxServerPool
from tests.harness.ports import free_tcp_port

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], check=True)
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
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


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
