"""`netwatt run`: scheduling policy, skips, reload, and the agent against the real lab agent."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent

from agent.config.load import load_config, load_config_text
from agent.daemon import Agent, poll_job_options
from agent.lab import SnmpsimProcess, lab_config_text
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import DeviceInfo, DevicePower, Method, PollResult
from agent.store.sqlite import Store

PROFILES = load_builtin_profiles()


def config_text(state: Path, agent_lines: str = "", devices: str = "") -> str:
    return (f"version: 1\nagent:\n  state_directory: {state}\n{agent_lines}"
            "credentials:\n  c: {version: 2c, community: 'plain:x'}\n"
            "devices:\n  - {name: sw1, address: 192.0.2.1, credential: c}\n"
            "  - {name: sw2, address: 192.0.2.2, credential: c, interval: 5m}\n" + devices)


def test_poll_jobs_follow_the_configured_policy(tmp_path: Path) -> None:
    config = load_config_text(config_text(tmp_path, "  interval: 60s\n  collection_jitter: 5s\n"),
                              environ={}, builtin_profiles=PROFILES)
    now = datetime(2026, 11, 25, 10, 0, 17, tzinfo=UTC)
    sw1 = poll_job_options(config.devices["sw1"], config, now=now)
    assert (sw1["id"], sw1["max_instances"], sw1["coalesce"]) == ("poll:sw1", 1, True)
    trigger = sw1["trigger"]
    assert trigger.interval.total_seconds() == 60
    # round_interval: the next :00, plus this device's fixed share of the 5 s collection_jitter
    first = trigger.get_next_fire_time(None, now)
    assert datetime(2026, 11, 25, 10, 1, 0, tzinfo=UTC) <= first < datetime(2026, 11, 25, 10, 1, 5, tzinfo=UTC)
    # every later poll exactly one interval after the one before: no drift, round after round
    fire = first
    for _ in range(100):
        following = trigger.get_next_fire_time(fire, fire)
        assert (following - fire).total_seconds() == 60
        fire = following
    sw2 = poll_job_options(config.devices["sw2"], config, now=now)
    assert sw2["trigger"].interval.total_seconds() == 300                              # per-device interval
    start2 = sw2["trigger"].start_date
    assert datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC) <= start2 < datetime(2026, 11, 25, 10, 5, 5, tzinfo=UTC)
    assert (start2 - datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC)) != (first - datetime(
        2026, 11, 25, 10, 1, 0, tzinfo=UTC)), "devices are spread over the jitter window"

def test_a_skipped_poll_is_counted_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load_config_text(config_text(tmp_path), environ={}, builtin_profiles=PROFILES)
    agent = Agent(config)
    event = JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "poll:sw1", "default", [datetime.now(UTC)])
    with caplog.at_level(logging.WARNING):
        agent._on_skipped(event)
        agent._on_skipped(event)
    asyncio.run(agent.close())
    store = Store(tmp_path)
    assert {s.device: s.skipped for s in store.device_statuses()} == {"sw1": 2}
    assert store.counters()["polls_skipped"] == 2
    assert caplog.text.count("device sw1: poll skipped, the previous one is still running") == 2


def test_reload_keeps_the_running_config_when_the_new_one_is_bad(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "netwatt.yaml"
    path.write_text(config_text(tmp_path))
    agent = Agent(load_config(path, environ={}), config_path=path)
    path.write_text(config_text(tmp_path).replace("credential: c}", "credential: nope}", 1))
    with caplog.at_level(logging.ERROR):
        agent._reload()
    assert "config reload refused, the running config stays" in caplog.text
    assert "unknown credential 'nope'" in caplog.text
    assert set(agent.config.devices) == {"sw1", "sw2"}
    path.write_text(config_text(tmp_path, devices="  - {name: sw3, address: 192.0.2.3, credential: c}\n"))
    agent._reload()
    assert set(agent.config.devices) == {"sw1", "sw2", "sw3"}
    asyncio.run(agent.close())


@pytest.mark.integration
def test_the_agent_polls_stores_and_integrates_on_schedule(lab: SnmpsimProcess, tmp_path: Path) -> None:
    config = load_config_text(lab_config_text(lab, state_directory=tmp_path / "state", interval_s=1),
                              environ={}, builtin_profiles=PROFILES)
    agent = Agent(config)

    async def discover_then_run() -> None:
        # the first walk of 13 devices against one snmpsim can take longer than the 1-s interval on a loaded
        # host (as `netwatt demo` does, it runs first, unscheduled): the scheduled polls are the steady ones
        await agent.poller.poll_many(config.devices.values())
        await agent.run(duration_s=3.6)

    asyncio.run(discover_then_run())
    store = Store(tmp_path / "state")
    statuses = {s.device: s for s in store.device_statuses()}
    assert set(statuses) == set(config.devices)
    assert all(3 <= s.polls <= 5 and s.error_streak == 0 for s in statuses.values())
    asr = statuses["cisco_asr9901"]
    assert (asr.power_w, asr.method, asr.basis) == (495.39, "measured", "psu_input")
    # constant power: the energy integrated equals power x covered time (intervals are rounded to 1e-9 Wh)
    states = store.energy_states()
    intervals = store.energy_intervals("cisco_asr9901")
    wh = sum(i.wh for _, i in intervals) + states["cisco_asr9901"].wh
    seconds = sum(i.seconds for _, i in intervals) + states["cisco_asr9901"].seconds
    assert seconds > 1.5
    assert wh == pytest.approx(495.39 * seconds / 3600, rel=1e-6)
    measurements = {p.measurement for p in store.points()}
    assert {"device_power", "component_power", "agent"} <= measurements


def test_unavailable_and_recovered_are_logged_once_each(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load_config_text(config_text(tmp_path), environ={}, builtin_profiles=PROFILES)
    agent = Agent(config)
    now = datetime.now(UTC)

    def result(errors: list[str]) -> PollResult:
        return PollResult(device="sw1", site="", role="switch", time=now,
                          power=DevicePower(None, Method.UNKNOWN, None, []), info=DeviceInfo(), errors=errors)

    with caplog.at_level(logging.WARNING):
        for errors in (["timeout: no reply"], ["timeout: no reply"], ["timeout: no reply"], [], []):
            agent._note_availability(result(errors))
    asyncio.run(agent.close())
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["device sw1 unavailable: timeout: no reply", "device sw1 recovered"]
    assert (agent.stats.polls, agent.stats.poll_errors, agent.stats.timeouts) == (5, 3, 3)
