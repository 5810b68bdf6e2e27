"""`netwatt run` as a process: SIGTERM drains and exits cleanly; SIGKILL mid-run loses nothing and a
restart neither loses nor double-counts energy."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from agent.lab import SnmpsimProcess, lab_config_text
from agent.store.sqlite import Store
from tests.agent_process import start_agent, wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def polls(state: Path) -> dict[str, int]:
    if not (state / "netwatt.db").exists():
        return {}
    store = Store(state)
    try:
        return {s.device: s.polls for s in store.device_statuses()}
    finally:
        store.close()


def write_config(lab: SnmpsimProcess, state: Path) -> Path:
    path = state.parent / "netwatt.yaml"
    # max_gap well above a restart's length on a loaded host (a new process, its first walks): the
    # restart test is about energy bridged across the restart, not about how fast a process starts
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    path.write_text(text.replace("  round_interval: false\n", "  round_interval: false\n  max_gap: 60s\n"))
    return path


def test_sigterm_drains_flushes_and_exits_zero(lab: SnmpsimProcess, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(lab, state)
    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    wait_for(lambda: min(polls(state).values() or [0]) >= 2)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [e["message"] for e in entries]
    assert messages[0].startswith("netwatt started: 13 devices")
    assert messages[-1] == "netwatt stopped"
    assert {e["level"] for e in entries} <= {"info", "warning"}


def test_sigkill_loses_nothing_and_energy_is_not_double_counted(lab: SnmpsimProcess, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(lab, state)
    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    wait_for(lambda: min(polls(state).values() or [0]) >= 3)
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=10)
    store = Store(state)
    before = [p.line for p in store.points()]
    polls_before = {s.device: s.polls for s in store.device_statuses()}
    store.close()

    agent = start_agent(config, log)        # restart on the same state directory
    wait_for(lambda: min(polls(state).values()) >= min(polls_before.values()) + 3)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0

    store = Store(state)
    after = [p.line for p in store.points()]
    assert after[: len(before)] == before, "points committed before the kill were lost or changed"
    statuses = {s.device: s for s in store.device_statuses()}
    energy_states = store.energy_states()
    for device, status in statuses.items():
        power_points = [p for p in store.points("device_power") if p.device == device]
        if status.power_w is None:
            assert power_points == []
            continue
        # every committed poll has its point: polls and points are committed together
        assert len(power_points) == status.polls
        intervals = [i for _, i in store.energy_intervals(device)]
        wh = sum(i.wh for i in intervals) + energy_states[device].wh
        seconds = sum(i.seconds for i in intervals) + energy_states[device].seconds
        span = energy_states[device].last.time_s - power_points[0].time      # type: ignore[union-attr]
        assert seconds <= span + 1.0, f"{device}: {seconds:.1f} s of energy in a {span:.1f} s span"
        assert wh == pytest.approx(status.power_w * seconds / 3600, rel=1e-6)
        assert seconds >= span - 5.0, f"{device}: energy lost across the restart"


def test_sighup_reloads_and_a_bad_config_is_refused(lab: SnmpsimProcess, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(lab, state)
    good = config.read_text()
    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    try:
        wait_for(lambda: min(polls(state).values() or [0]) >= 1)
        config.write_text(good.replace("version: 1", "version: 1\nbogus_key: 1", 1))
        agent.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reload refused" in log.read_text())
        assert agent.poll() is None, "a bad config must not stop the running agent"
        config.write_text(good.replace("  - {name: 'procurve_2920'", "  - {name: 'procurve-copy', address: "
                                       f"'127.0.0.1:{lab.port}', credential: 'lab-procurve_2920'}}\n"
                                       "  - {name: 'procurve_2920'", 1))
        agent.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reloaded" in log.read_text())
        wait_for(lambda: polls(state).get("procurve-copy", 0) >= 1)
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
    refused = [json.loads(line) for line in log.read_text().splitlines() if "reload refused" in line]
    assert refused[0]["level"] == "error"
    assert "bogus_key: unknown key" in refused[0]["message"]
