"""A temporary request ends as it says: at expiry what it changed goes back to the state before it, on a
group whose default is unmanaged, when the agent was down at expiry, and after a SIGKILL mid-request.
Real snmpd (AireOS tables) and real netconfd (OpenConfig, confirmed commit); time from an injected clock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.config.load import Config, load_config_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.store import WifiStore
from tests import test_wifi_snmp
from tests.harness.netconf_pool import NetconfServerPool
from tests.harness.snmpd import NetSnmpd
from tests.test_wifi_openconfig import config_for, running, seed, start
from tests.test_wifi_snmp import ENV, EXAMPLE, Clock, close, service
from tests.wifi_venue import Venue, cli_setup

venue = test_wifi_snmp.venue            # the snmpd venue fixture
BOWL = [(ap, slot) for ap in ("bowl-n-01", "bowl-n-02", "bowl-s-01") for slot in (0, 1)]
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)          # no event, no window of the bowl


def unmanaged_bowl(server: NetSnmpd, state: Path) -> str:
    """The Vélodrome example with the bowl unmanaged by default (netwatt leaves it as it is)."""
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace("/var/lib/netwatt", str(state))
    old = 'default: "off"            # the stadium is empty ~335 days a year'
    assert old in text
    return text.replace(old, "default: unmanaged")


def load(text: str) -> Config:
    return load_config_text(text, file="velodrome.yaml", environ=ENV)


def bowl_state(v: Venue) -> dict[tuple[str, int], bool]:
    return {(ap, slot): v.radio_enabled(ap, slot) for ap, slot in BOWL}


def test_cli_off_for_45s_on_an_unmanaged_group_is_restored_at_expiry(
        venue: tuple[Venue, NetSnmpd], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    v, server = venue
    v.set_radio("bowl-s-01", 1, False)            # an admin's choice before the request: it stays off
    before = bowl_state(v)
    text = unmanaged_bowl(server, tmp_path / "state")
    clock = Clock(MONDAY)
    path = cli_setup(text, tmp_path, monkeypatch, ENV, clock)
    assert main(["wifi", "-c", str(path), "off", "--group", "bowl", "--for", "45s"]) == 0
    capsys.readouterr()
    assert not any(bowl_state(v).values())

    async def round_at(seconds: float) -> list[str]:
        clock.now = MONDAY + timedelta(seconds=seconds)
        svc, store, reader = service(load(text), clock)
        try:
            svc._started = True        # the running agent: not its first round
            return [f"{a.action} {a.target.key} {a.result}" for a in (await svc.run_round()).actions]
        finally:
            await close(svc, store, reader)

    assert asyncio.run(round_at(30)) == []                  # still in force
    assert not any(bowl_state(v).values())
    restored = asyncio.run(round_at(46))
    assert sorted(restored) == sorted(f"enable wlc-1/{ap}/{slot} confirmed" for ap, slot in BOWL
                                      if (ap, slot) != ("bowl-s-01", 1))
    assert bowl_state(v) == before
    assert asyncio.run(round_at(120)) == []                 # done once: the group is unmanaged again
    v.set_radio("bowl-n-01", 0, False)                      # and netwatt leaves it to the admins
    assert asyncio.run(round_at(180)) == []
    assert not v.radio_enabled("bowl-n-01", 0)


def test_agent_down_at_expiry_restores_at_start(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    v, server = venue
    config = load(unmanaged_bowl(server, tmp_path / "state"))
    clock = Clock(MONDAY)

    async def scenario() -> None:
        svc, store, reader = service(config, clock)
        try:
            svc.store.add_request("bowl", "off", now=clock(), until=clock() + timedelta(seconds=45), who="cli:x")
            await svc.run_round()
            assert not any(bowl_state(v).values())
        finally:
            await close(svc, store, reader)
        clock.now += timedelta(hours=2)                      # the agent was down when the request ended
        svc, store, reader = service(config, clock)
        try:
            plan, _, _ = await svc.plan()                    # the dry run says what the restart will do
            bowl = [c for c in plan.changes if c.group == "bowl"]
            assert {c.target.key for c in bowl} == {f"wlc-1/{ap}/{s}" for ap, s in BOWL}
            assert all("ended: back to the state before it" in c.reason for c in bowl)
            result = await svc.run_round()
            assert {a.result for a in result.actions if a.group == "bowl"} == {"confirmed"}
            assert all(bowl_state(v).values())
            assert svc.store.pending_restores() == []
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_a_rule_in_force_at_expiry_decides(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    """An "on" request on the bowl (default off): at its end the default (off) applies, not the prior state."""
    v, server = venue
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace("/var/lib/netwatt",
                                                                                  str(tmp_path / "state"))
    clock = Clock(MONDAY)

    async def scenario() -> None:
        svc, store, reader = service(load(text), clock)
        try:
            await svc.run_round()
            assert not any(bowl_state(v).values())
            svc.store.add_request("bowl", "on", now=clock(), until=clock() + timedelta(minutes=5), who="cli:x")
            await svc.run_round()
            assert all(bowl_state(v).values())
            clock.now += timedelta(minutes=6)
            await svc.run_round()
            assert not any(bowl_state(v).values())
            assert svc.store.pending_restores() == []        # superseded by the default
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


KILLER = """
import asyncio, os, signal, sys
from datetime import UTC, datetime, timedelta
from agent.config.load import load_config_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.adapters.snmp import SnmpController
from agent.wifi.runtime import open_wifi
from collectors.snmp.pysnmp_client import PysnmpClient

calls = 0
real_apply = SnmpController.apply

async def apply_then_die(self, target, enabled):
    global calls
    applied = await real_apply(self, target, enabled)
    calls += 1
    if calls == 3:                       # two radios done and confirmed, the third one sent: killed
        os.kill(os.getpid(), signal.SIGKILL)
    return applied

SnmpController.apply = apply_then_die
env = {"NETWATT_WLC_COMMUNITY": "private", "NETWATT_WIFI_TOKEN": "x" * 20}
config = load_config_text(open(sys.argv[1]).read(), file="velodrome.yaml", environ=env)
now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
store = Store(config.agent.state_directory, tables=FEATURE_TABLES)

async def go():
    svc = open_wifi(config, store, PysnmpClient(), clock=lambda: now, settle_s=0, retry_delay_s=0)
    svc.store.add_request("bowl", "off", now=now, until=now + timedelta(seconds=45), who="cli:x")
    await svc.run_round()

asyncio.run(go())
"""


def test_sigkill_mid_request_is_restored_after_restart(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    v, server = venue
    text = unmanaged_bowl(server, tmp_path / "state")
    (tmp_path / "velodrome.yaml").write_text(text)
    (tmp_path / "killer.py").write_text(textwrap.dedent(KILLER))
    root = Path(__file__).resolve().parent.parent
    child = subprocess.run([sys.executable, str(tmp_path / "killer.py"), str(tmp_path / "velodrome.yaml")],
                           cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, timeout=120,
                           check=False)
    assert child.returncode == -9, child.stderr.decode()
    assert sum(not on for on in bowl_state(v).values()) == 3          # three radios off, then the crash
    clock = Clock(MONDAY + timedelta(minutes=5))                      # restarted after the expiry

    async def scenario() -> None:
        svc, store, reader = service(load(text), clock)
        try:
            await svc.run_round()
            assert all(bowl_state(v).values())
            assert svc.store.pending_restores() == []
            assert svc.store.armed_deadmen() == []
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_openconfig_request_expiry_restores_with_a_confirmed_commit(netconf_servers: NetconfServerPool,
                                                                   tmp_path: Path) -> None:
    server = start(netconf_servers)
    clock = Clock(MONDAY)

    async def scenario() -> None:
        await seed(server)
        base = config_for(server, tmp_path / "state")
        assert base.wifi is not None
        groups = {name: g for name, g in base.wifi.groups.items()}
        from dataclasses import replace  # noqa: PLC0415
        wifi = replace(base.wifi, groups={n: replace(g, default="unmanaged") for n, g in groups.items()})
        config = replace(base, wifi=wifi)
        store = Store(tmp_path / "state", tables=FEATURE_TABLES)
        from agent.wifi.runtime import open_wifi  # noqa: PLC0415
        from collectors.snmp.pysnmp_client import PysnmpClient  # noqa: PLC0415
        reader = PysnmpClient()
        svc = open_wifi(config, store, reader, clock=clock, settle_s=0)
        try:
            assert (await svc.run_round()).actions == []          # unmanaged: left as it is
            svc.store.add_request("radios", "off", now=clock(), until=clock() + timedelta(seconds=45), who="api:x")
            result = await svc.run_round()
            assert sorted((a.target.key, a.result) for a in result.actions) == [
                ("ap7/ap7/0", "confirmed"), ("ap7/ap7/1", "confirmed")]
            assert (await running(server))["radio1"] == "false"
        finally:
            await svc.close()
            store.close()
        clock.now += timedelta(seconds=46)           # the agent was down at expiry: restored at its start
        store = Store(tmp_path / "state", tables=FEATURE_TABLES)
        svc = open_wifi(config, store, reader, clock=clock, settle_s=0)
        try:
            result = await svc.run_round()
            assert sorted((a.target.key, a.action, a.result) for a in result.actions) == [
                ("ap7/ap7/0", "enable", "confirmed"), ("ap7/ap7/1", "enable", "confirmed")]
            assert await running(server) == {"radio0": "true", "radio1": "true", "Velodrome-Guest": "true"}
            assert WifiStore(store).pending_restores() == []
            assert (await svc.run_round()).actions == []
        finally:
            await svc.close()
            await reader.close()
            store.close()

    asyncio.run(scenario())


def test_the_running_agent_restores_at_expiry(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`netwatt wifi off --for 45s` from a shell while the agent runs: the agent's own round restores."""
    from agent.daemon import Agent  # noqa: PLC0415
    from tests.harness.ports import free_tcp_port  # noqa: PLC0415
    v, server = venue
    text = unmanaged_bowl(server, tmp_path / "state").replace("evaluate_every: 60s", "evaluate_every: 1s").replace(
        "127.0.0.1:8470", f"127.0.0.1:{free_tcp_port()}")
    clock = Clock(MONDAY)
    path = cli_setup(text, tmp_path, monkeypatch, ENV, clock)
    daemon = Agent(load(text), clock=clock)

    async def until(condition: object, seconds: float) -> bool:
        for _ in range(int(seconds * 5)):
            if condition():  # type: ignore[operator]
                return True
            await asyncio.sleep(0.2)
        return False

    async def scenario() -> None:
        task = asyncio.create_task(daemon.run(duration_s=90))
        try:
            await asyncio.sleep(2)                                  # a first round: unmanaged, nothing changes
            assert all(bowl_state(v).values())
            code = await asyncio.to_thread(main, ["wifi", "-c", str(path), "off", "--group", "bowl", "--for", "45s"])
            assert code == 0
            assert not any(bowl_state(v).values())
            await asyncio.sleep(3)                                  # rounds while the request is in force
            assert not any(bowl_state(v).values())
            clock.now += timedelta(seconds=46)
            assert await until(lambda: all(bowl_state(v).values()), 30), bowl_state(v)
        finally:
            daemon.stop()
            await task

    asyncio.run(scenario())
