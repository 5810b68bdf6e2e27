"""`netwatt run`: scheduling policy, skips, reload, and the agent against the real lab agent."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config.load import load_config, load_config_text
from agent.daemon import Agent, device_offset_s, round_job_options
from agent.lab import SnmpsimProcess, lab_config_text
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import DeviceInfo, DevicePower, Method, PollResult
from agent.settings.config import Device
from agent.store.sqlite import Store

PROFILES = load_builtin_profiles()


def config_text(state: Path, agent_lines: str = "", devices: str = "") -> str:
    return (f"version: 1\nagent:\n  state_directory: {state}\n{agent_lines}"
            "credentials:\n  c: {version: 2c, community: 'plain:x'}\n"
            "devices:\n  - {name: sw1, address: 192.0.2.1, credential: c}\n"
            "  - {name: sw2, address: 192.0.2.2, credential: c, interval: 5m}\n" + devices)


def test_rounds_follow_the_configured_policy(tmp_path: Path) -> None:
    config = load_config_text(config_text(tmp_path, "  interval: 60s\n  collection_jitter: 5s\n"),
                              environ={}, builtin_profiles=PROFILES)
    now = datetime(2026, 11, 25, 10, 0, 17, tzinfo=UTC)
    job = round_job_options(60.0, config, now=now)
    assert (job["id"], job["max_instances"], job["coalesce"]) == ("round:60", 1, True)
    trigger = job["trigger"]
    assert trigger.interval.total_seconds() == 60
    # round_interval: the next :00
    first = trigger.get_next_fire_time(None, now)
    assert first == datetime(2026, 11, 25, 10, 1, 0, tzinfo=UTC)
    # every later round exactly one interval after the one before: no drift, round after round
    fire = first
    for _ in range(100):
        following = trigger.get_next_fire_time(fire, fire)
        assert (following - fire).total_seconds() == 60
        fire = following
    slow = round_job_options(300.0, config, now=now)                                    # per-device interval
    assert slow["trigger"].start_date == datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC)
    # each device has a fixed place in the 5 s collection_jitter window, the same every round
    offsets = {name: device_offset_s(config.devices[name], config) for name in ("sw1", "sw2")}
    assert all(0 <= o < 5 for o in offsets.values())
    assert offsets["sw1"] != offsets["sw2"], "devices are spread over the jitter window"
    assert offsets == {name: device_offset_s(config.devices[name], config) for name in ("sw1", "sw2")}


def test_a_skipped_poll_is_counted_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load_config_text(config_text(tmp_path), environ={}, builtin_profiles=PROFILES)
    agent = Agent(config)
    with caplog.at_level(logging.WARNING):
        agent._skipped("sw1")
        agent._skipped("sw1")
    asyncio.run(agent.close())
    store = Store(tmp_path)
    assert {s.device: s.skipped for s in store.device_statuses()} == {"sw1": 2}
    assert store.counters()["polls_skipped"] == 2
    assert caplog.text.count("device sw1: poll skipped, the previous one is still running") == 2


class _SlowPoller:
    """Polls that last until released, and how many of a device ran at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running: dict[str, int] = {}
        self.most_at_once = 0
        self.polled: list[str] = []

    async def poll(self, device: Device) -> PollResult:
        self.running[device.name] = self.running.get(device.name, 0) + 1
        self.most_at_once = max(self.most_at_once, self.running[device.name])
        self.polled.append(device.name)
        await self.release.wait()
        self.running[device.name] -= 1
        return PollResult(device=device.name, site="", role="switch", time=datetime.now(UTC),
                          power=DevicePower(None, Method.UNKNOWN, None, []), info=DeviceInfo(), errors=[])


def slow_agent(state: Path, agent_lines: str, more_devices: int = 0) -> tuple[Agent, _SlowPoller]:
    """An agent whose polls wait for ``poller.release``, with devices d0.. besides sw1 and sw2."""
    devices = "".join(f"  - {{name: d{i}, address: 192.0.2.{10 + i}, credential: c}}\n" for i in range(more_devices))
    agent = Agent(load_config_text(config_text(state, agent_lines, devices), environ={}, builtin_profiles=PROFILES))
    poller = _SlowPoller()
    agent.poller = poller  # type: ignore[assignment]
    return agent, poller


def test_a_round_skips_a_device_whose_previous_poll_still_runs(tmp_path: Path) -> None:
    agent, poller = slow_agent(tmp_path, "  interval: 60s\n")

    async def two_rounds() -> None:
        await agent._start_round(60.0)          # sw1 (interval 60 s) starts polling and hangs
        await asyncio.sleep(0.05)
        await agent._start_round(60.0)          # the next round: sw1 is still busy
        await asyncio.sleep(0.05)
        poller.release.set()
        await asyncio.wait(set(agent._running))

    asyncio.run(two_rounds())
    assert poller.polled == ["sw1"]             # sw2 is in the 300 s round
    assert poller.most_at_once == 1
    assert (agent.stats.skipped, agent.stats.polls) == (1, 1)
    assert [r.device for r in agent._pending] == ["sw1"]
    asyncio.run(agent.close())
    assert Store(tmp_path).counters()["polls_skipped"] == 1


def test_a_round_polls_each_device_at_its_place_in_the_jitter_window(tmp_path: Path) -> None:
    agent, poller = slow_agent(tmp_path, "  interval: 60s\n  collection_jitter: 0.4s\n", 6)
    config = agent.config
    poller.release.set()
    started: dict[str, float] = {}
    poll = poller.poll

    async def timed_poll(device: Device) -> PollResult:
        started[device.name] = asyncio.get_running_loop().time()
        return await poll(device)

    poller.poll = timed_poll  # type: ignore[method-assign]

    async def one_round() -> float:
        began = asyncio.get_running_loop().time()
        await agent._round(60.0)
        return began

    began = asyncio.run(one_round())
    offsets = {name: device_offset_s(config.devices[name], config) for name in started}
    assert set(started) == {"sw1", *(f"d{i}" for i in range(6))}      # sw2 polls every 5 minutes
    assert len(set(offsets.values())) == len(offsets)
    for name, at in started.items():      # never before its offset, and close to it
        assert offsets[name] - 0.001 <= at - began <= offsets[name] + 0.5
    assert sorted(started, key=started.__getitem__) == sorted(offsets, key=offsets.__getitem__)
    asyncio.run(agent.close())


def test_devices_a_round_did_not_reach_before_the_next_are_skipped(tmp_path: Path) -> None:
    agent, poller = slow_agent(tmp_path, "  interval: 60s\n  max_in_flight: 1\n", 5)

    async def overrun() -> None:
        await agent._start_round(60.0)          # one worker: the first device hangs, five wait their turn
        await asyncio.sleep(0.05)
        await agent._start_round(60.0)          # the next round starts: the old one's waiting devices lost their slot
        await asyncio.sleep(0.05)
        poller.release.set()
        await asyncio.wait(set(agent._running))

    asyncio.run(overrun())
    first = poller.polled[0]
    # round 1 polled one device; the 5 it had not reached are skipped; round 2 skipped the busy one and polled the rest
    assert agent.stats.skipped == 5 + 1
    assert sorted(poller.polled) == sorted([first, *(n for n in ("sw1", *(f"d{i}" for i in range(5))) if n != first)])
    assert poller.most_at_once == 1
    asyncio.run(agent.close())


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
