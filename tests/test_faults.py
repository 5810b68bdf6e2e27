"""Fault tests with real servers: an InfluxDB outage of minutes mid-run, a full spool, a batch the
server rejects. Counts are exact."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.lab import SnmpsimProcess, lab_config_text
from agent.outputs.influxdb import build_output
from agent.pipeline.forward import Forwarder
from agent.settings.config import AgentSettings, OutputSpec
from agent.store.sqlite import Store, StoredPoint
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness.influx_v2_shim import InfluxShim
from tests.harness.influxd import InfluxServerPool

ROOT = Path(__file__).resolve().parent.parent
OUTAGE_S = 125          # "stopped for minutes"
pytestmark = pytest.mark.integration


def agent_config(lab: SnmpsimProcess, state: Path, outputs: str, extra_agent: str = "") -> Path:
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    text = text.replace("agent:\n", "agent:\n" + extra_agent, 1)      # flushes every second too
    path = state.parent / "netwatt.yaml"
    path.write_text(text + "outputs:\n" + outputs)
    return path


def status(config: Path, env: dict[str, str]) -> dict[str, object]:
    out = netwatt("status", "-c", str(config), "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_influxdb_outage_of_minutes_every_point_arrives_exactly_once(
        lab: SnmpsimProcess, influxd_factory: InfluxServerPool, tmp_path: Path) -> None:
    influx = influxd_factory()
    influx.create_database("netwatt")
    env = {"INFLUX_TOKEN": "outage-token"}
    with InfluxShim(influx.url, token="outage-token", orgs=["ops"], buckets=["netwatt"]) as shim:
        state = tmp_path / "state"
        config = agent_config(lab, state, f"  - {{type: influxdb_v2, url: '{shim.url}', org: ops, bucket: netwatt, "
                                          "token: 'env:INFLUX_TOKEN'}\n")
        agent = start_agent(config, tmp_path / "agent.log", env)
        try:
            wait_for(lambda: any(r.status == 204 for r in shim.requests), 30, "a first write")
            influx.stop()
            outage_started = time.monotonic()
            time.sleep(OUTAGE_S)
            assert any(r.status == 503 for r in shim.requests), "the outage was not seen"
            pending = status(config, env)["outputs"][0]["pending"]  # type: ignore[index]
            assert pending > 0
            influx.start()
            outage = time.monotonic() - outage_started
            time.sleep(2)
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=30) == 0
            # whatever the shutdown flush did not send is sent by one more run
            once = netwatt("run", "-c", str(config), "--once", env=env, timeout=60)
            assert once.returncode == 0, once.stderr
            wait_for(lambda: status(config, env)["outputs"][0]["pending"] == 0, 90,  # type: ignore[index]
                     "the spool to drain")
        finally:
            if agent.poll() is None:
                agent.kill()
        accepted = Counter(line for r in shim.requests if r.status == 204
                           for line in r.body.decode().splitlines() if line)
    store = Store(state)
    stored = Counter(p.line for p in store.points())
    assert outage >= OUTAGE_S
    # each stored point accepted exactly as often as it was stored: nothing lost, nothing resent (on a loaded
    # machine two polls of a device can fall in one second with the same values: two identical stored lines)
    assert accepted == stored, "points were lost or sent twice"
    counters = store.counters()
    assert counters["points_written"] == sum(stored.values())
    assert counters.get("points_dropped", 0) == 0
    rows = influx.query("SELECT count(watts) FROM device_power", db="netwatt")
    # InfluxDB keeps one point per series and second: identical lines are one point there
    assert rows[0]["count"] == len({p.line for p in store.points("device_power")})


def test_spool_full_drops_the_oldest_and_counts_them_exactly(
        lab: SnmpsimProcess, influxd_factory: InfluxServerPool, tmp_path: Path) -> None:
    influx = influxd_factory()
    influx.create_database("netwatt")
    influx.stop()                                  # the output is down for the whole run
    state = tmp_path / "state"
    config = agent_config(lab, state, f"  - {{type: influxdb_v1, url: '{influx.url}', database: netwatt}}\n",
                          "  metric_buffer_limit: 50\n")
    agent = start_agent(config, tmp_path / "agent.log", {})
    wait_for(lambda: (state / "netwatt.db").exists() and Store(state).point_count() > 200, 30, "points")
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
    store = Store(state)
    [output] = store.output_statuses()
    total = store.point_count()
    assert output.pending == 50
    assert output.dropped == total - 50
    assert store.counters()["points_dropped"] == total - 50
    log = (tmp_path / "agent.log").read_text()
    assert "spool full, dropped the" in log


def test_a_rejected_batch_is_set_aside_and_later_batches_flow(
        influxd_factory: InfluxServerPool, tmp_path: Path) -> None:
    influx = influxd_factory()
    influx.create_database("faults")
    now = int(time.time())
    good = [f"device_power,device=sw{i},site=lab watts={100 + i}.5 {now + i}" for i in range(6)]
    bad = f"device_power,device=broken,site=lab watts= {now}"
    store = Store(tmp_path)
    store.commit([], [StoredPoint(now, "device_power", "", line) for line in [*good[:2], bad, *good[2:]]])
    output = build_output(OutputSpec("influxdb_v1", {"url": influx.url, "database": "faults"}),
                          AgentSettings(metric_batch_size=3))
    asyncio.run(Forwarder(store, [output]).flush())
    asyncio.run(output.close())
    [status_row] = store.output_statuses()
    assert (status_row.pending, status_row.set_aside, status_row.written) == (0, 3, 4)
    reason, lines = store._db.execute("SELECT reason, lines FROM set_aside").fetchone()
    assert "unable to parse" in reason
    assert bad in lines.splitlines()
    rows = influx.query("SELECT watts FROM device_power GROUP BY device", db="faults")
    seen = {r["tags"]["device"] for r in rows}
    # InfluxDB 1.x keeps the valid lines of a partially bad batch; every later batch flows
    assert seen == {f"sw{i}" for i in range(6)}
