"""The OpenConfig Wi-Fi adapter against a real netconfd behind a real sshd: a confirmed commit kept once
the new state is read back, cancelled when the read-back disagrees, and expired by the device itself when
netwatt never confirms (the device-side dead-man)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from agent.config.load import Config, load_config_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.adapters.base import Applied
from agent.wifi.adapters.openconfig import MAC, PHY, OpenConfigController, radio_edit, ssid_edit
from agent.wifi.executor import Executor
from agent.wifi.guards import Change
from agent.wifi.model import Observed, Target
from agent.wifi.runtime import open_wifi
from agent.wifi.settings import Guards
from agent.wifi.store import WifiStore
from collectors.netconf import HostKeyCheck, NetconfAuth, NetconfTarget, open_session
from collectors.snmp.pysnmp_client import PysnmpClient
from tests.harness.netconf_pool import NetconfServerPool
from tests.harness.netconfd import NetconfdServer

YANG = Path(__file__).resolve().parent / "harness" / "yang" / "openconfig-reduced"


def start(pool: NetconfServerPool) -> NetconfdServer:
    return pool.netconfd(modules=[YANG / "openconfig-wifi-types.yang", YANG / "openconfig-wifi-phy.yang",
                                  YANG / "openconfig-wifi-mac.yang"], modpath=[YANG])


def nc_target(server: NetconfdServer) -> NetconfTarget:
    return NetconfTarget("ap7", server.host, server.port, NetconfAuth(server.username, server.password),
                         HostKeyCheck(known_hosts=str(server.known_hosts)), timeout_s=20)


async def seed(server: NetconfdServer) -> None:
    """The AP as installed: both radios and the guest SSID on."""
    async with open_session(nc_target(server)) as nc:
        for edit in (radio_edit(0, "2.4", True), radio_edit(1, "5", True), ssid_edit("Velodrome-Guest", True)):
            await nc.edit_config(edit, target="candidate")
        await nc.commit()


async def running(server: NetconfdServer) -> dict[str, str]:
    async with open_session(nc_target(server)) as nc:
        reply = await nc.get_config("running", subtree=[f'<radios xmlns="{PHY}"/>', f'<ssids xmlns="{MAC}"/>'])
    from collectors.netconf.xmlsafe import parse  # noqa: PLC0415
    root = parse(reply.xml, max_bytes=10**6)
    ns = {"p": PHY, "m": MAC}
    found = {f"radio{r.findtext('p:id', namespaces=ns)}": r.findtext("p:config/p:enabled", namespaces=ns) or ""
             for r in root.xpath(".//p:radio", namespaces=ns)}
    found |= {s.findtext("m:name", namespaces=ns) or "": s.findtext("m:config/m:enabled", namespaces=ns) or ""
              for s in root.xpath(".//m:ssid", namespaces=ns)}
    return found


def config_for(server: NetconfdServer, state: Path, *, confirm_timeout: str = "120s") -> Config:
    text = f"""version: 1
agent: {{state_directory: {state}}}
sites: {{venue: {{timezone: Europe/Paris}}}}
wifi:
  controllers:
    ap7: {{type: openconfig, host: {server.host}, port: {server.port}, username: {server.username},
           password: env:NC_PASSWORD, known_hosts: {server.known_hosts}, timeout: 20s,
           confirm_timeout: {confirm_timeout}}}
  access_points:
    - {{name: ap7, controller: ap7, radios: [{{slot: 0, band: "2.4"}}, {{slot: 1, band: "5"}}]}}
  groups:
    radios: {{site: venue, aps: [ap7], default: "off"}}
    guest: {{site: venue, scope: ssid, controller: ap7, ssids: [Velodrome-Guest], default: "off"}}
"""
    return load_config_text(text, environ={"NC_PASSWORD": server.password})


def test_confirmed_commit_is_kept_after_read_back(netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    server = start(netconf_servers)

    async def scenario() -> None:
        await seed(server)
        config = config_for(server, tmp_path / "state", confirm_timeout="3s")
        monday = datetime(2026, 11, 2, 9, tzinfo=UTC)
        store = Store(tmp_path / "state", clock=lambda: monday, tables=FEATURE_TABLES)
        reader = PysnmpClient()
        svc = open_wifi(config, store, reader, clock=lambda: monday, settle_s=0)
        try:
            _plan, observed, _ = await svc.plan()
            assert observed["ap7/ap7/1"].enabled is True
            assert observed["ap7/ssid:Velodrome-Guest"].enabled is True
            result = await svc.run_round()
            assert sorted((a.target.key, a.result) for a in result.actions) == [
                ("ap7/ap7/0", "confirmed"), ("ap7/ap7/1", "confirmed"), ("ap7/ssid:Velodrome-Guest", "confirmed")]
        finally:
            await svc.close()
            await reader.close()
            store.close()
        await asyncio.sleep(5.0)       # past the 3 s confirm timeout, with >1 s of silence (netconfd quirk 2)
        assert await running(server) == {"radio0": "false", "radio1": "false", "Velodrome-Guest": "false"}

    asyncio.run(scenario())


class StaleReads:
    """The real controller, except that reads report the old state: a device that accepted a change
    and did not act on it. Writes (edit, confirmed commit, cancel-commit) go to netconfd."""

    def __init__(self, real: OpenConfigController) -> None:
        self.real = real
        self.name = real.name
        self.scopes = real.scopes

    async def read(self, targets: Sequence[Target]) -> dict[str, Observed]:
        return {t.key: Observed(t, True, None) for t in targets}

    async def apply(self, target: Target, enabled: bool) -> Applied:
        return await self.real.apply(target, enabled)

    async def close(self) -> None:
        return None


def test_failed_verification_cancels_the_commit_and_an_unconfirmed_one_expires(
        netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    server = start(netconf_servers)

    async def scenario() -> None:
        await seed(server)
        config = config_for(server, tmp_path / "state", confirm_timeout="3s")
        assert config.wifi is not None
        real = OpenConfigController(config.wifi.controllers["ap7"])
        store = Store(tmp_path / "state", tables=FEATURE_TABLES)
        try:
            executor = Executor(WifiStore(store), {"ap7": StaleReads(real)},
                                guards=Guards(retries=0, dead_man_s=600), clock=lambda: datetime.now(UTC))
            target = next(t for t in config.wifi.targets() if t.key == "ap7/ap7/1")
            [record] = await executor.execute([Change(target, "radios", True, False, "default off")])
            assert record.result == "failed"
            assert "rolled back" in record.error
            assert (await running(server))["radio1"] == "true"          # cancel-commit: back at once
            # never confirmed: netconfd reverts the change by itself after the confirm timeout
            await real.apply(target, False)
            assert (await running(server))["radio1"] == "false"
            started = time.monotonic()
            while (await _quiet_running(server))["radio1"] != "true":
                assert time.monotonic() - started < 20, "the confirmed commit did not expire"
            assert [(d.target, d.restore) for d in WifiStore(store).armed_deadmen()] == [("ap7/ap7/1", True)]
        finally:
            store.close()

    asyncio.run(scenario())


async def _quiet_running(server: NetconfdServer) -> dict[str, str]:
    await asyncio.sleep(2.0)           # netconfd runs its timers only after 1 s without any traffic
    return await running(server)


def test_openconfig_payloads_follow_the_model() -> None:
    edit = radio_edit(1, "5", False)
    assert ('<radio><id>1</id><operating-frequency xmlns:oc-wifi-types="http://openconfig.net/yang/wifi/wifi-types">'
            "oc-wifi-types:FREQ_5GHZ</operating-frequency><config><id>1</id>") in edit
    assert "<enabled>false</enabled>" in edit
    assert "<name>a&amp;b</name>" in ssid_edit("a&b", True)
