"""On-demand Wi-Fi end to end against a real Net-SNMP snmpd with writable tables (pass_persist): the
AireOS, IF-MIB and PoE adapters, verification, dead-man reverts, restart, the HTTP API and a simulated day."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config.load import Config, load_config_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.interlock import ApplyLock
from agent.wifi.runtime import open_wifi
from agent.wifi.service import WifiService
from collectors.snmp.pysnmp_client import PysnmpClient
from tests.harness.pool import SnmpdFactory
from tests.harness.snmpd import NetSnmpd
from tests.harness.v3 import V3User
from tests.wifi_venue import BASE_MW, RADIO_MW, SSID_ADMIN, Venue

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
ENV = {"NETWATT_WLC_COMMUNITY": "private", "NETWATT_WIFI_TOKEN": "s3cret-token-for-tests"}
APS = {"bowl-n-01": "00:3a:7d:10:00:01", "bowl-n-02": "00:3a:7d:10:00:02", "bowl-s-01": "00:3a:7d:10:00:03",
       "conc-01": "00:3a:7d:10:00:04", "conc-02": "00:3a:7d:10:00:05", "office-01": "00:3a:7d:10:00:06"}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def venue(tmp_path: Path, snmpd_factory: SnmpdFactory) -> tuple[Venue, NetSnmpd]:
    folder = tmp_path / "venue"
    v = Venue.create(folder, APS, wlans={1: 1, 2: 1})
    folder.chmod(0o777)
    server = snmpd_factory(communities=["private"], extra_lines=v.snmpd_lines(), writable=True)
    return v, server


def venue_config(server: NetSnmpd, state: Path, *, address: str | None = None, extra: str = "") -> Config:
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", address or server.endpoint)
    text = text.replace("/var/lib/netwatt", str(state)).replace("dead_man: 10m", "dead_man: 10m" + extra)
    return load_config_text(text, file="velodrome.yaml", environ=ENV)


# the injected clock's dates lie in the past on a later run: keep their points whatever today is
KEEP_S = 20 * 365 * 86400.0


def service(config: Config, clock: Clock) -> tuple[WifiService, Store, PysnmpClient]:
    store = Store(Path(config.agent.state_directory), clock=clock, tables=FEATURE_TABLES)
    reader = PysnmpClient()
    return open_wifi(config, store, reader, clock=clock, settle_s=0.0, retry_delay_s=0.0), store, reader


async def close(svc: WifiService, store: Store, reader: PysnmpClient) -> None:
    await svc.close()
    await reader.close()
    store.close()


def test_aireos_radios_and_ssid_switch_and_read_back(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    v, server = venue
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))          # Monday 10:00 Paris: no event
    v.set_clients("conc-01", 0, 3)

    async def scenario() -> None:
        svc, store, reader = service(venue_config(server, tmp_path / "state"), clock)
        try:
            plan, observed, _ = await svc.plan()          # dry run: nothing sent
            assert observed["wlc-1/conc-01/0"].clients == 3
            assert observed["wlc-1/bowl-n-01/1"].enabled is True
            bowl = {f"wlc-1/{ap}/{s}" for ap in ("bowl-n-01", "bowl-n-02", "bowl-s-01") for s in (0, 1)}
            assert {c.target.key for c in plan.changes} == bowl | {"wlc-1/ssid:Velodrome-Guest"}
            assert v.radio_enabled("bowl-n-01", 1)
            result = await svc.run_round()
            assert {a.result for a in result.actions} == {"confirmed"}
            assert not v.radio_enabled("bowl-n-01", 1)
            assert v.radio_enabled("conc-01", 0)
            assert v.value(f"{SSID_ADMIN}.2") == 0
            assert v.value(f"{SSID_ADMIN}.1") == 1
            first = next(a for a in result.actions if a.target.key == "wlc-1/bowl-n-01/0")
            # measured savings: the PoE port drew base + 2 radios before, base after; each radio gets half
            assert (first.power_before_w, first.power_after_w, first.power_method, first.power_share) == (
                (BASE_MW + 2 * RADIO_MW) / 1000, BASE_MW / 1000, "measured", 0.5)
            assert svc.store.armed_deadmen() == []                     # confirmed: revert jobs disarmed
            again = await svc.run_round()                              # idempotent
            assert again.actions == []
            lines = [p.line for p in store.points("wifi_action")]
            assert len(lines) == 7
            assert all("result=confirmed" in line and "reason=default" in line for line in lines)
            radio = [p.line for p in store.points("wifi_radio") if "ap=bowl-n-01" in p.line and "radio=1" in p.line]
            assert "enabled=false" in radio[-1]
            assert "desired=false" in radio[-1]
            assert "band=5" in radio[-1]
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_ifmib_and_poe_adapters(tmp_path: Path, snmpd_factory: SnmpdFactory) -> None:
    folder = tmp_path / "v"
    v = Venue.create(folder, {"ap1": "00:00:00:00:00:01"}, if_radios={7: 1, 8: 1})
    folder.chmod(0o777)
    user = V3User("wifiadmin", "auth-pass-1", "priv-pass-1", auth_protocol="SHA", priv_protocol="AES")
    server = snmpd_factory(v3_users=[user],
                           extra_lines=v.snmpd_lines(), writable=True)
    text = f"""version: 1
agent: {{state_directory: {tmp_path / "state"}}}
credentials:
  v3: {{version: 3, username: wifiadmin, auth_protocol: SHA, auth_password: "plain:auth-pass-1",
        priv_protocol: AES, priv_password: "plain:priv-pass-1"}}
sites: {{lab: {{timezone: UTC}}}}
devices:
  - {{name: ap-switch, address: "{server.endpoint}", credential: v3}}
wifi:
  controllers:
    radios: {{type: ifmib, device: ap-switch}}
    poe: {{type: poe, device: ap-switch}}
  access_points:
    - {{name: ap1, controller: radios, mac: "00:00:00:00:00:01", radios: [{{slot: 0, band: "2.4", if_index: 7}},
        {{slot: 1, band: "5", if_index: 8}}], poe: {{switch: ap-switch, port: "1.1"}}}}
  groups:
    radios: {{site: lab, aps: [ap1], default: "off"}}
    whole-ap: {{site: lab, scope: ap, aps: [ap1], default: "unmanaged"}}
"""
    config = load_config_text(text, environ={})
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    async def scenario() -> None:
        svc, store, reader = service(config, clock)
        try:
            result = await svc.run_round()
            assert sorted((a.target.key, a.result) for a in result.actions) == [
                ("radios/ap1/0", "confirmed"), ("radios/ap1/1", "confirmed")]
            assert v.value("1.3.6.1.2.1.2.2.1.7.7") == 2
            assert v.value("1.3.6.1.2.1.2.2.1.7.8") == 2
            now = clock()
            svc.store.add_request("whole-ap", "off", now=now, until=now + timedelta(hours=1), who="test")
            result = await svc.run_round()
            [action] = result.actions
            assert (action.target.key, action.result, action.power_after_w) == ("poe/ap1", "confirmed", 0.0)
            assert v.value("1.3.6.1.2.1.105.1.1.1.3.1.1") == 2
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_verification_failure_and_unreachable_controller_are_reverted_by_the_dead_man(
        venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    v, server = venue
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    async def scenario() -> None:
        # 1. the controller accepts the SET but does not act ("accepted is not done")
        v.set_flag("ignore_sets", True)
        svc, store, reader = service(venue_config(server, tmp_path / "s1"), clock)
        try:
            result = await svc.run_round()
            assert {a.result for a in result.actions} == {"failed"}
            assert all("read back" in a.error and "attempt 3" in a.error for a in result.actions)
            assert len(svc.store.armed_deadmen()) == 7           # reported, retried, revert jobs kept
        finally:
            await close(svc, store, reader)
        v.set_flag("ignore_sets", False)
        # 2. the controller does not answer at all: a closed port
        config = venue_config(server, tmp_path / "s2", address="127.0.0.1:9")
        svc, store, reader = service(config, clock)
        try:
            plan, _, _ = await svc.plan()
            assert plan.changes == []
            assert all(i.verdict == "unknown" for i in plan.items)
            # a disable in flight when the controller went away: the revert job waits, then reverts
            target = next(t for t in config.wifi.targets() if t.key == "wlc-1/bowl-n-01/0")  # type: ignore[union-attr]
            svc.store.arm_deadman(target, True, now=clock(), due=clock() + timedelta(minutes=10), reason="test")
            svc._started = True
            assert (await svc.run_round()).reverts == []           # not yet due
            clock.now += timedelta(minutes=11)
            result = await svc.run_round()
            assert [r.result for r in result.reverts] == ["failed"]
            assert "stays armed" in result.reverts[0].error
        finally:
            await close(svc, store, reader)
        # the same store with the controller back: the armed job runs at start-up and re-enables the radio
        v.set_radio("bowl-n-01", 0, False)
        svc, store, reader = service(venue_config(server, tmp_path / "s2"), clock)
        try:
            result = await svc.run_round()
            assert [(r.target.key, r.result) for r in result.reverts] == [("wlc-1/bowl-n-01/0", "reverted")]
            assert svc.store.armed_deadmen() == []
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_restart_mid_window_reconciles_instead_of_replaying(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    v, server = venue
    clock = Clock(datetime(2026, 10, 25, 10, 0, tzinfo=UTC))        # 11:00 Paris, before the match

    async def scenario() -> None:
        config = venue_config(server, tmp_path / "state")
        svc, store, reader = service(config, clock)
        try:
            await svc.run_round()
            assert not v.radio_enabled("bowl-n-01", 0)
        finally:
            await close(svc, store, reader)
        # the agent is down from 11:00 until 20:00 Paris (19:00 UTC), mid-event: the bowl must be on,
        # and an admin disabled bowl-s-01/1 meanwhile by hand
        v.set_radio("bowl-s-01", 1, False)
        clock.now = datetime(2026, 10, 25, 19, 0, tzinfo=UTC)
        svc, store, reader = service(config, clock)
        try:
            result = await svc.run_round()
            keys = sorted(a.target.key for a in result.actions)
            assert "wlc-1/bowl-n-01/0" in keys
            assert all(a.result == "confirmed" for a in result.actions)
            assert v.radio_enabled("bowl-n-01", 0)
            # it was already off when netwatt switched the bowl off, so its prior state (on) is restored too;
            # no toggle of the missed hours is replayed: one action per target
            assert len(keys) == len(set(keys))
            assert (await svc.run_round()).actions == []
        finally:
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_http_api_requires_the_token_and_applies_on_demand(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    from agent.httpapi import LocalHttpServer  # noqa: PLC0415
    from agent.wifi.api import add_routes  # noqa: PLC0415
    v, server = venue
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def call(url: str, body: dict[str, object] | None, token: str | None) -> tuple[int, dict[str, object]]:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body else "GET")
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    async def scenario() -> None:
        svc, store, reader = service(venue_config(server, tmp_path / "state"), clock)
        http = LocalHttpServer("127.0.0.1", 0)
        add_routes(http, svc)
        await http.start()
        try:
            await svc.run_round()
            assert not v.radio_enabled("bowl-n-02", 1)
            url = f"http://127.0.0.1:{http.port}/wifi"
            status, _ = await asyncio.to_thread(call, f"{url}/on", {"group": "bowl", "for": "3h"}, None)
            assert status == 401
            status, _ = await asyncio.to_thread(call, f"{url}/on", {"group": "bowl", "for": "3h"}, "wrong")
            assert status == 401
            status, body = await asyncio.to_thread(call, f"{url}/on", {"group": "nope"}, "s3cret-token-for-tests")
            assert status == 404
            assert "bowl" in str(body)
            status, body = await asyncio.to_thread(call, f"{url}/on", {"group": "bowl", "for": "3h", "who": "steward"},
                                                   "s3cret-token-for-tests")
            assert status == 200, body
            assert v.radio_enabled("bowl-n-02", 1)
            assert all(a["who"] == "api:steward" for a in body["actions"])  # type: ignore[attr-defined]
            status, body = await asyncio.to_thread(call, f"{url}/status", None, "s3cret-token-for-tests")
            assert status == 200
            assert body["requests"][0]["group"] == "bowl"  # type: ignore[index]
            clock.now += timedelta(hours=3)                  # expired: back to the group's rules (off)
            await svc.run_round()
            assert not v.radio_enabled("bowl-n-02", 1)
            # another process (the CLI) mid-round: the API records the request and answers 409 at once
            async with ApplyLock(tmp_path / "state").held(wait_s=0):
                status, body = await asyncio.to_thread(call, f"{url}/on", {"group": "bowl", "for": "1h"},
                                                       "s3cret-token-for-tests")
            assert status == 409
            assert "is applying Wi-Fi changes" in str(body)
            assert "is recorded, the next round applies it" in str(body)
            assert not v.radio_enabled("bowl-n-02", 1)
            await svc.run_round()
            assert v.radio_enabled("bowl-n-02", 1)          # the recorded request, applied by the next round
        finally:
            await http.close()
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_agent_runs_the_wifi_job_and_serves_the_api(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    from agent.daemon import Agent  # noqa: PLC0415
    from tests.harness.ports import free_tcp_port  # noqa: PLC0415
    v, server = venue
    port = free_tcp_port()
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace(
        "/var/lib/netwatt", str(tmp_path / "state")).replace("127.0.0.1:8470", f"127.0.0.1:{port}")
    text += f"outputs:\n  - {{type: sqlite, max_age: {KEEP_S:.0f}s}}\n"
    config = load_config_text(text, file="velodrome.yaml", environ=ENV)
    agent = Agent(config, clock=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def status() -> dict[str, object]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/wifi/status",
                                         headers={"Authorization": "Bearer s3cret-token-for-tests"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def bowl_off(data: dict[str, object]) -> bool:
        return any(t["target"] == "wlc-1/bowl-n-01/0" and t["enabled"] is False
                   for t in data["targets"])  # type: ignore[attr-defined]

    async def scenario() -> dict[str, object]:
        task = asyncio.create_task(agent.run(duration_s=60))
        try:
            data: dict[str, object] = {}
            for _ in range(150):          # the round ends after the PoE readings have settled (2 s)
                await asyncio.sleep(0.2)
                if v.radio_enabled("bowl-s-01", 1):
                    continue
                data = await asyncio.to_thread(status)
                if bowl_off(data):
                    break
            return data
        finally:
            agent.stop()
            await task

    data = asyncio.run(scenario())
    assert not v.radio_enabled("bowl-n-01", 0)
    assert bowl_off(data)
    store = Store(tmp_path / "state", tables=FEATURE_TABLES)
    try:
        assert len(store.points("wifi_action")) >= 7
    finally:
        store.close()


def cli_config(server: NetSnmpd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Vélodrome example on this venue, state in tmp_path/state, its env references set: for the CLI."""
    path = tmp_path / "velodrome.yaml"
    path.write_text(EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace(
        "/var/lib/netwatt", str(tmp_path / "state")))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return path


def test_cli_on_plan_status_and_bad_input(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main  # noqa: PLC0415
    v, server = venue
    path = cli_config(server, tmp_path, monkeypatch)
    assert main(["wifi", "-c", str(path), "on", "--group", "nope", "--for", "3h"]) == 2
    assert "no Wi-Fi group named 'nope'" in capsys.readouterr().err
    assert main(["wifi", "-c", str(path), "on", "--group", "bowl", "--for", "forever"]) == 1
    tuesday_noon, wednesday_night = "2026-11-17T12:00+01:00", "2026-11-18T03:00+01:00"   # Marseille time
    assert main(["wifi", "-c", str(path), "--format", "json", "plan", "--at", tuesday_noon]) == 0
    day = {t["target"]: t for t in json.loads(capsys.readouterr().out)["targets"]}
    assert v.radio_enabled("bowl-n-01", 0)                            # plan sends nothing
    assert day["wlc-1/bowl-n-01/0"]["verdict"] == "change"             # no event, no tour: the bowl sleeps
    assert day["wlc-1/ssid:Velodrome-Guest"]["verdict"] == "change"
    assert day["wlc-1/office-01/0"]["verdict"] == "ok"                 # the concourse is on by day
    assert main(["wifi", "-c", str(path), "--format", "json", "plan", "--at", wednesday_night]) == 0
    night = {t["target"]: t for t in json.loads(capsys.readouterr().out)["targets"]}
    assert night["wlc-1/conc-02/0"]["verdict"] == "change"              # the concourse's night window
    assert night["wlc-1/office-01/0"]["verdict"] == "refused"           # but never the critical office AP
    assert "critical radio/AP: never switched off" in night["wlc-1/office-01/0"]["reason"]
    with pytest.raises(SystemExit) as usage:
        main(["wifi", "-c", str(path), "plan", "--at", "2026-11-17T12:00"])
    assert usage.value.code == 2
    assert "has no UTC offset" in capsys.readouterr().err
    assert main(["wifi", "-c", str(path), "on", "--group", "bowl", "--for", "3h", "--who", "steward"]) == 0
    out = capsys.readouterr().out
    assert "group bowl on until" in out
    assert "(cli:steward)" in out
    assert v.radio_enabled("bowl-n-01", 0)                            # on by request; the guest SSID went off
    assert v.value(f"{SSID_ADMIN}.2") == 0
    assert main(["wifi", "-c", str(path), "--format", "json", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["requests"][0]["who"] == "cli:steward"
    assert "s3cret-token-for-tests" not in json.dumps(status)
    assert main(["wifi", "-c", str(path), "report", "--days", "1", "--factor", "52"]) == 0
    assert "kwh_avoided" in capsys.readouterr().out


def test_aireos_client_counts_use_the_ethernet_mac(tmp_path: Path, snmpd_factory: SnmpdFactory) -> None:
    """bsnApIfNoOfUsers is indexed by the AP's Ethernet MAC, cLApDot11IfAdminStatus by its base radio MAC."""
    folder = tmp_path / "v"
    v = Venue.create(folder, {"ap1": "00:00:00:00:00:01"}, ethernet_macs={"ap1": "00:00:00:00:aa:01"})
    folder.chmod(0o777)
    v.set_clients("ap1", 1, 7)
    server = snmpd_factory(communities=["private"], extra_lines=v.snmpd_lines(), writable=True)

    def observed(ethernet_mac: str) -> tuple[bool | None, int | None]:
        text = f"""version: 1
credentials: {{rw: {{version: 2c, community: "plain:private"}}}}
sites: {{lab: {{timezone: UTC}}}}
devices: [{{name: wlc, address: "{server.endpoint}", credential: rw}}]
wifi:
  controllers: {{wlc: {{type: aireos, device: wlc}}}}
  access_points:
    - {{name: ap1, controller: wlc, mac: "00:00:00:00:00:01", {ethernet_mac}radios: [{{slot: 1, band: "5"}}]}}
  groups: {{g: {{site: lab, aps: [ap1]}}}}
"""
        config = load_config_text(text, environ={})
        assert config.wifi is not None

        async def read() -> tuple[bool | None, int | None]:
            from agent.wifi.adapters.factory import build_controllers  # noqa: PLC0415
            from collectors.snmp.setter import PysnmpSetter  # noqa: PLC0415
            reader = PysnmpClient()
            try:
                controller = build_controllers(config, reader, PysnmpSetter())["wlc"]
                [seen] = (await controller.read(config.wifi.targets())).values()  # type: ignore[union-attr]
                return seen.enabled, seen.clients
            finally:
                await reader.close()
        return asyncio.run(read())

    assert observed('ethernet_mac: "00:00:00:00:aa:01", ') == (True, 7)
    assert observed("") == (True, None)          # the radio MAC finds no row: unknown, never a false 0


def test_one_writer_at_a_time_across_processes(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """While another process holds <state>/wifi.lock (the agent mid-round), the CLI waits, then refuses
    to apply; --no-apply still records the request; once the lock is free the CLI applies."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    import agent.wifi.cli  # noqa: PLC0415
    from agent.cli import main  # noqa: PLC0415
    v, server = venue
    state = tmp_path / "state"
    path = cli_config(server, tmp_path, monkeypatch)
    monkeypatch.setattr(agent.wifi.cli, "CLI_LOCK_WAIT_S", 0.5)
    state.mkdir()
    holder = subprocess.Popen(            # another process, as the agent would be: flock, then wait
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(state / 'wifi.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); os.pwrite(fd, f'{os.getpid()}\\n'.encode(), 0)\n"
         "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        assert main(["wifi", "-c", str(path), "on", "--group", "bowl", "--for", "1h"]) == 1
        err = capsys.readouterr().err
        assert f"another netwatt process (pid {holder.pid}) is applying Wi-Fi changes" in err
        assert "the request is recorded, the running agent applies it at its next round" in err
        assert v.value(f"{SSID_ADMIN}.2") == 1                       # nothing was switched
        assert main(["wifi", "-c", str(path), "apply"]) == 1
        assert main(["wifi", "-c", str(path), "off", "--group", "bowl", "--end", "--no-apply"]) == 0
        assert main(["wifi", "-c", str(path), "plan"]) == 0           # a dry run needs no lock
    finally:
        holder.kill()                     # a dead holder's lock is dropped by the kernel
        holder.wait()
    capsys.readouterr()
    assert main(["wifi", "-c", str(path), "apply"]) == 0
    assert v.value(f"{SSID_ADMIN}.2") == 0                           # applied once the lock was free


def test_wifi_cli_addresses_the_shard_that_runs_the_controller(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main  # noqa: PLC0415
    from agent.shard import shard_of  # noqa: PLC0415
    _v, server = venue
    path = cli_config(server, tmp_path, monkeypatch)
    count = 4
    owner = shard_of("wlc-1", count)
    other = next(k for k in range(1, count + 1) if k not in (owner, shard_of("sw-bowl-1", count)))
    assert main(["wifi", "-c", str(path), "--shard", f"{other}/{count}", "status"]) == 2
    assert "no controller in this shard" in capsys.readouterr().err
    assert main(["wifi", "-c", str(path), "--shard", f"{owner}-{count}", "on", "--group", "guest-ssid",
                 "--for", "1h", "--no-apply"]) == 0
    capsys.readouterr()
    # the request is in the owning shard's own store, where its agent reads it
    store = Store(tmp_path / "state" / f"shard-{owner}-of-{count}", tables=FEATURE_TABLES)
    try:
        assert [r[0] for r in store._db.execute("SELECT grp FROM wifi_requests")] == ["guest-ssid"]
    finally:
        store.close()
