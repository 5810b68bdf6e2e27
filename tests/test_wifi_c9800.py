"""The Catalyst 9800 adapter: RPC payloads checked against the structure of the YANG modules, the
RPCs and oper reads replayed through the canned NETCONF server over real SSH, and the WLAN edit's
confirmed commit run on a real netconfd."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from agent.config.load import load_config_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.adapters.c9800 import RPC_NS, WLAN_CFG, C9800Controller, ap_admin_rpc, slot_admin_rpc, wlan_edit
from agent.wifi.executor import Executor
from agent.wifi.guards import Change
from agent.wifi.model import ControllerError
from agent.wifi.settings import Guards
from agent.wifi.store import WifiStore
from tests.harness.netconf_pool import NetconfServerPool

CASE = Path(__file__).resolve().parent / "cases" / "wifi_c9800"
STAND_IN = Path(__file__).resolve().parent / "harness" / "yang" / "cisco-reduced"

# Cisco-IOS-XE-wireless-access-point-cfg-rpc 5.0.0 (2023-07-01), YangModels/yang vendor/cisco/xe/17121:
# grouping set-ap-slot-admin-state: leaf mode (enm-admin-status, mandatory), leaf slot-id (uint8 0..3,
# must: band 1 <-> slot 0, band 2 <-> 1|2, band 3 <-> 0|2, band 4 <-> 2|3), leaf band (uint32 1..4),
# choice alternative-choice {ap-name (string) | mac-addr (yang:mac-address)}, all mandatory.
# grouping set-ap-admin-state: leaf mode, choice {ap-name | mac-addr}. enm-admin-status values as the
# 9800 SDKs send them: admin-state-enabled, admin-state-disabled.
SLOT_RPC_LEAVES = {"mode", "slot-id", "band", "ap-name"}
AP_RPC_LEAVES = {"mode", "ap-name"}
MODES = {"admin-state-enabled", "admin-state-disabled"}
MUST = {1: {0}, 2: {1, 2}, 3: {0, 2}, 4: {2, 3}}


def _leaves(xml: str) -> tuple[etree._Element, dict[str, str]]:
    root = etree.fromstring(xml)
    return root, {etree.QName(c).localname: c.text or "" for c in root}


@pytest.mark.parametrize(("slot", "band"), [(0, "2.4"), (1, "5"), (2, "5"), (2, "dual"), (0, "dual"), (3, "6")])
def test_slot_rpc_matches_the_yang_structure(slot: int, band: str) -> None:
    root, leaves = _leaves(slot_admin_rpc("bowl-n-01", slot, band, False))
    assert etree.QName(root).namespace == RPC_NS
    assert etree.QName(root).localname == "set-ap-slot-admin-state"
    assert set(leaves) == SLOT_RPC_LEAVES
    assert all(etree.QName(c).namespace == RPC_NS for c in root)
    assert leaves["mode"] in MODES
    assert 0 <= int(leaves["slot-id"]) <= 3
    assert 1 <= int(leaves["band"]) <= 4
    assert int(leaves["slot-id"]) in MUST[int(leaves["band"])]


@pytest.mark.parametrize(("slot", "band"), [(1, "2.4"), (0, "5"), (3, "5"), (1, "dual"), (0, "6")])
def test_slot_band_pairs_the_model_forbids_are_refused_before_sending(slot: int, band: str) -> None:
    with pytest.raises(ControllerError, match="cannot be expressed"):
        slot_admin_rpc("ap", slot, band, False)


def test_ap_rpc_and_wlan_edit_shapes() -> None:
    root, leaves = _leaves(ap_admin_rpc("a<b", True))
    assert etree.QName(root).localname == "set-ap-admin-state"
    assert set(leaves) == AP_RPC_LEAVES
    assert leaves == {"mode": "admin-state-enabled", "ap-name": "a<b"}
    config = etree.fromstring(wlan_edit("Velodrome-Guest", False))
    status = config.xpath("//w:wlan-cfg-entries/w:wlan-cfg-entry[w:profile-name='Velodrome-Guest']"
                          "/w:apf-vap-id-data/w:wlan-status", namespaces={"w": WLAN_CFG})
    assert [s.text for s in status] == ["false"]


def test_canned_9800_reads_state_and_catches_an_accepted_but_not_done_disable(
        netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    server = netconf_servers.canned(CASE)
    text = f"""version: 1
sites: {{venue: {{timezone: Europe/Paris}}}}
wifi:
  controllers:
    wlc9800: {{type: c9800, host: {server.host}, port: {server.port}, username: {server.username},
               password: env:NC_PASSWORD, known_hosts: {server.known_hosts}, timeout: 20s}}
  access_points:
    - {{name: bowl-n-01, controller: wlc9800, radios: [{{slot: 0, band: "2.4"}}, {{slot: 1, band: "5"}}]}}
    - {{name: bowl-n-02, controller: wlc9800, radios: [{{slot: 0, band: "2.4"}}, {{slot: 1, band: "5"}}]}}
  groups:
    bowl: {{site: venue, aps: [bowl-n-01, bowl-n-02], default: "off"}}
    whole: {{site: venue, scope: ap, aps: [bowl-n-01, bowl-n-02]}}
"""
    config = load_config_text(text, environ={"NC_PASSWORD": server.password})
    assert config.wifi is not None
    controller = C9800Controller(config.wifi.controllers["wlc9800"])
    targets = {t.key: t for t in config.wifi.targets()}

    async def scenario() -> None:
        seen = await controller.read(list(targets.values()))
        assert (seen["wlc9800/bowl-n-01/1"].enabled, seen["wlc9800/bowl-n-01/1"].clients) == (True, 2)   # Run only
        assert (seen["wlc9800/bowl-n-01/0"].enabled, seen["wlc9800/bowl-n-01/0"].clients) == (True, 1)
        assert seen["wlc9800/bowl-n-02/0"].enabled is False
        assert seen["wlc9800/bowl-n-01"].enabled is True
        assert seen["wlc9800/bowl-n-02"].enabled is False
        store = Store(tmp_path / "state", tables=FEATURE_TABLES)
        try:
            executor = Executor(WifiStore(store), {"wlc9800": controller}, guards=Guards(retries=1),
                                clock=lambda: datetime(2026, 11, 2, 9, tzinfo=UTC), retry_delay_s=0.0)
            target = targets["wlc9800/bowl-n-01/1"]
            [record] = await executor.execute([Change(target, "bowl", True, False, "default off")])
            # the RPC was accepted (<ok/>) twice, yet the radio still reads enabled: failed, not "done"
            assert record.result == "failed"
            assert "is up" in record.error
            assert "attempt 2" in record.error
            assert [d.target for d in WifiStore(store).armed_deadmen()] == ["wlc9800/bowl-n-01/1"]
        finally:
            store.close()

    asyncio.run(scenario())


def test_rpc_payloads_pass_a_real_yang_engine(netconf_servers: NetconfServerPool) -> None:
    """netconfd loads the RPC inputs (stand-in module) and validates what netwatt sends: every payload
    netwatt can produce is accepted; a payload off the model is refused, so the check can fail."""
    from collectors.netconf import HostKeyCheck, NetconfAuth, NetconfError, NetconfTarget, open_session  # noqa: PLC0415
    server = netconf_servers.netconfd(modules=[STAND_IN / "Cisco-IOS-XE-wireless-access-point-cfg-rpc.yang"])
    target = NetconfTarget("wlc9800", server.host, server.port, NetconfAuth(server.username, server.password),
                           HostKeyCheck(known_hosts=str(server.known_hosts)), timeout_s=20)
    pairs = ((0, "2.4"), (1, "5"), (2, "5"), (0, "dual"), (2, "dual"), (2, "6"), (3, "6"))
    payloads = [slot_admin_rpc("bowl-n-01", slot, band, on) for slot, band in pairs for on in (True, False)]
    payloads += [ap_admin_rpc("bowl-n-01", True), ap_admin_rpc("bowl-n-01", False)]

    async def scenario() -> list[str]:
        errors = []
        async with open_session(target) as nc:
            for rpc in payloads:
                reply = await nc.dispatch(rpc)
                assert "<ok/>" in reply.xml
            for bad in (payloads[0].replace("<band>1</band>", "<band>7</band>"),
                        payloads[0].replace("admin-state-", "state-"),
                        payloads[0].replace("<ap-name>bowl-n-01</ap-name>", "")):
                try:
                    await nc.dispatch(bad)
                except NetconfError as exc:
                    errors.append(str(exc))
        return errors

    errors = asyncio.run(scenario())
    assert len(errors) == 3
    assert "not in range" in errors[0]
    assert "not in set" in errors[1]
    assert "missing mandatory choice" in errors[2]


def test_wlan_edit_is_a_confirmed_commit_on_a_real_netconfd(netconf_servers: NetconfServerPool,
                                                            tmp_path: Path) -> None:
    """The SSID path end to end: netconfd (candidate, confirmed-commit) validates netwatt's edit-config
    against the WLAN stand-in; the executor reads it back and confirms, so the change outlives the
    confirm timeout; an edit off the model is refused."""
    from collectors.netconf import HostKeyCheck, NetconfAuth, NetconfError, NetconfTarget, open_session  # noqa: PLC0415
    from collectors.netconf.xmlsafe import parse  # noqa: PLC0415
    server = netconf_servers.netconfd(modules=[STAND_IN / "Cisco-IOS-XE-wireless-wlan-cfg.yang"])
    nc_target = NetconfTarget("wlc9800", server.host, server.port, NetconfAuth(server.username, server.password),
                              HostKeyCheck(known_hosts=str(server.known_hosts)), timeout_s=20)
    text = f"""version: 1
sites: {{venue: {{timezone: Europe/Paris}}}}
wifi:
  controllers:
    wlc9800: {{type: c9800, host: {server.host}, port: {server.port}, username: {server.username},
               password: env:NC_PASSWORD, known_hosts: {server.known_hosts}, timeout: 20s, confirm_timeout: 3s}}
  access_points: []
  groups:
    guest: {{site: venue, scope: ssid, controller: wlc9800, ssids: [Velodrome-Guest], default: "off"}}
"""
    config = load_config_text(text, environ={"NC_PASSWORD": server.password})
    assert config.wifi is not None
    controller = C9800Controller(config.wifi.controllers["wlc9800"])
    [target] = config.wifi.targets()

    async def wlan_status() -> list[str]:
        async with open_session(nc_target) as nc:
            reply = await nc.get_config("running", subtree=f'<wlan-cfg-data xmlns="{WLAN_CFG}"/>')
        return [s.text or "" for s in parse(reply.xml, max_bytes=10**6).xpath(
            "//w:wlan-cfg-entry[w:profile-name='Velodrome-Guest']/w:apf-vap-id-data/w:wlan-status",
            namespaces={"w": WLAN_CFG})]

    async def scenario() -> list[str]:
        async with open_session(nc_target) as nc:              # the WLAN as installed: on
            await nc.edit_config(wlan_edit("Velodrome-Guest", True), target="candidate")
            await nc.commit()
        assert (await controller.read([target]))[target.key].enabled is True
        store = Store(tmp_path / "state", tables=FEATURE_TABLES)
        try:
            executor = Executor(WifiStore(store), {"wlc9800": controller}, guards=Guards(retries=0),
                                clock=lambda: datetime(2026, 11, 2, 9, tzinfo=UTC), retry_delay_s=0.0)
            [record] = await executor.execute([Change(target, "guest", True, False, "default off")])
        finally:
            store.close()
        assert (record.result, record.error) == ("confirmed", "")
        await asyncio.sleep(5.0)           # past the 3 s confirm timeout: kept, because it was confirmed
        refused = []
        async with open_session(nc_target) as nc:
            try:
                await nc.edit_config(wlan_edit("x" * 33, False), target="candidate")   # profile-name 1..32
            except NetconfError as exc:
                refused.append(str(exc))
            await nc.discard_changes()
        return [*await wlan_status(), *refused]

    status, *refused = asyncio.run(scenario())
    assert status == "false"
    assert len(refused) == 1
    assert "rpc-error invalid-value" in refused[0]
    assert "profile-name, message value not in range" in refused[0]
