"""Cisco Catalyst 9800 over NETCONF.

Radios and whole APs: the ``Cisco-IOS-XE-wireless-access-point-cfg-rpc`` RPCs ``set-ap-slot-admin-state``
and ``set-ap-admin-state``. They act at once (no candidate, no confirmed commit), so the executor's
dead-man revert job is the safety net and "accepted" is never taken for "done": the state is read back
from ``Cisco-IOS-XE-wireless-access-point-oper``. SSIDs: ``wlan-cfg-entry/apf-vap-id-data/wlan-status``
of ``Cisco-IOS-XE-wireless-wlan-cfg``, a configuration edit (candidate + confirmed commit when announced).
Clients per radio: rows of ``Cisco-IOS-XE-wireless-client-oper`` common-oper-data in the Run state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree

from agent.wifi.adapters.base import Applied, Immediate
from agent.wifi.adapters.netconf_session import ControllerSession, xml_text
from agent.wifi.model import ControllerError, Observed, Scope, Target
from agent.wifi.settings import ControllerSpec
from collectors.netconf.types import CANDIDATE_CAPABILITY, CONFIRMED_COMMIT_CAPABILITY
from collectors.netconf.xmlsafe import parse as parse_xml

if TYPE_CHECKING:       # the session module loads ncclient: only on first use
    from collectors.netconf import NetconfSession

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
RPC_NS = "http://cisco.com/ns/yang/Cisco-IOS-XE-wireless-access-point-cfg-rpc"
AP_OPER = "http://cisco.com/ns/yang/Cisco-IOS-XE-wireless-access-point-oper"
CLIENT_OPER = "http://cisco.com/ns/yang/Cisco-IOS-XE-wireless-client-oper"
WLAN_CFG = "http://cisco.com/ns/yang/Cisco-IOS-XE-wireless-wlan-cfg"
# band leaf of set-ap-slot-admin-state (uint32 1..4): it follows the radio *type*; an XOR radio is "dual" (3)
BAND_NUMBERS = {"2.4": 1, "5": 2, "dual": 3, "6": 4}
# the module's must clause on slot-id: which slots each band number may address
SLOTS_FOR_BAND = {1: (0,), 2: (1, 2), 3: (0, 2), 4: (2, 3)}


def slot_admin_rpc(ap_name: str, slot: int, band: str, enabled: bool) -> str:
    number = BAND_NUMBERS.get(band)
    if number is None or slot not in SLOTS_FOR_BAND[number]:
        raise ControllerError(f"slot {slot} with band {band} cannot be expressed by set-ap-slot-admin-state "
                              f"(band {number}: slots {SLOTS_FOR_BAND.get(number or 0, ())})")
    mode = "admin-state-enabled" if enabled else "admin-state-disabled"
    return (f'<set-ap-slot-admin-state xmlns="{RPC_NS}"><mode>{mode}</mode><slot-id>{slot}</slot-id>'
            f"<band>{number}</band><ap-name>{xml_text(ap_name)}</ap-name></set-ap-slot-admin-state>")


def ap_admin_rpc(ap_name: str, enabled: bool) -> str:
    mode = "admin-state-enabled" if enabled else "admin-state-disabled"
    return (f'<set-ap-admin-state xmlns="{RPC_NS}"><mode>{mode}</mode><ap-name>{xml_text(ap_name)}</ap-name>'
            "</set-ap-admin-state>")


def wlan_edit(profile: str, enabled: bool) -> str:
    return (f'<config xmlns="{NC}"><wlan-cfg-data xmlns="{WLAN_CFG}"><wlan-cfg-entries><wlan-cfg-entry>'
            f"<profile-name>{xml_text(profile)}</profile-name><apf-vap-id-data><wlan-status>{str(enabled).lower()}"
            "</wlan-status></apf-vap-id-data></wlan-cfg-entry></wlan-cfg-entries></wlan-cfg-data></config>")


OPER_FILTERS = [
    f'<access-point-oper-data xmlns="{AP_OPER}"><ap-name-mac-map/><radio-oper-data/><capwap-data/>'
    "</access-point-oper-data>",
    f'<client-oper-data xmlns="{CLIENT_OPER}"><common-oper-data/></client-oper-data>',
]


class C9800Controller:
    """Holds a ``ControllerSession`` (session handling and confirmed commit shared with OpenConfig)."""

    scopes = frozenset({Scope.RADIO, Scope.AP, Scope.SSID})

    def __init__(self, spec: ControllerSpec) -> None:
        self.name = spec.name
        self.session = ControllerSession(spec)

    async def read(self, targets: Sequence[Target]) -> dict[str, Observed]:
        reply = await self.session.call(lambda nc: nc.get(subtree=OPER_FILTERS), "get (wireless oper)")
        root = parse_xml(reply.xml, max_bytes=self.session.max_reply_bytes)
        wlans: Any = None
        if any(t.scope is Scope.SSID for t in targets):
            config = await self.session.call(lambda nc: nc.get_config(
                "running", subtree=f'<wlan-cfg-data xmlns="{WLAN_CFG}"/>'), "get-config (wlan-cfg)")
            wlans = parse_xml(config.xml, max_bytes=self.session.max_reply_bytes)
        ns = {"a": AP_OPER, "c": CLIENT_OPER, "w": WLAN_CFG}
        macs = {m.findtext("a:wtp-name", namespaces=ns): m.findtext("a:wtp-mac", namespaces=ns)
                for m in root.xpath(".//a:ap-name-mac-map", namespaces=ns)}
        clients: dict[tuple[str, str], int] = {}
        for c in root.xpath(".//c:common-oper-data", namespaces=ns):
            if (c.findtext("c:co-state", namespaces=ns) or "") == "client-status-run":
                key = (c.findtext("c:ap-name", namespaces=ns) or "", c.findtext("c:ms-ap-slot-id", namespaces=ns) or "")
                clients[key] = clients.get(key, 0) + 1
        result = {}
        for target in targets:
            enabled, count, error = None, None, ""
            mac = macs.get(target.ap)
            if target.scope is Scope.SSID:
                status = wlans.xpath(".//w:wlan-cfg-entry[w:profile-name=$p]/w:apf-vap-id-data/w:wlan-status",
                                     namespaces=ns, p=target.ssid) if wlans is not None else []
                enabled = status[0].text.strip() == "true" if status else None
                error = "" if status else f"{self.name}: no WLAN profile {target.ssid!r}"
            elif mac is None:
                error = f"{self.name}: AP {target.ap} is not joined (not in ap-name-mac-map)"
            elif target.scope is Scope.AP:
                state = root.xpath(".//a:capwap-data[a:wtp-mac=$m]/a:ap-state/a:ap-admin-state", namespaces=ns, m=mac)
                enabled = state[0].text.strip() == "adminstate-enabled" if state else None
                count = sum(n for (ap, _slot), n in clients.items() if ap == target.ap)
            else:
                radio = root.xpath(".//a:radio-oper-data[a:wtp-mac=$m][a:radio-slot-id=$s]/a:admin-state",
                                   namespaces=ns, m=mac, s=str(target.radio))
                enabled = radio[0].text.strip() == "enabled" if radio else None
                count = clients.get((target.ap, str(target.radio)), 0)
                error = "" if radio else f"{self.name}: no radio slot {target.radio} on {target.ap}"
            result[target.key] = Observed(target, enabled, count, error)
        return result

    async def apply(self, target: Target, enabled: bool) -> Applied:
        if target.scope is Scope.SSID:
            return await self._wlan(target, enabled)
        rpc = (ap_admin_rpc(target.ap, enabled) if target.scope is Scope.AP
               else slot_admin_rpc(target.ap, int(target.radio or 0), target.band, enabled))
        await self.session.call(lambda nc: nc.dispatch(rpc), etree.QName(parse_xml(rpc, max_bytes=65536)).localname)
        return Immediate(self, target, not enabled)

    async def _wlan(self, target: Target, enabled: bool) -> Applied:
        async def change(nc: NetconfSession) -> Applied:
            if nc.supports(CANDIDATE_CAPABILITY) and nc.supports(CONFIRMED_COMMIT_CAPABILITY):
                return await self.session.edit_confirmed(nc, wlan_edit(target.ssid, enabled))
            # no candidate on this controller: running, protected by the dead-man job only
            await nc.edit_config(wlan_edit(target.ssid, enabled), target="running")
            return Immediate(self, target, not enabled)

        return await self.session.call(change, "edit-config wlan-status")

    async def close(self) -> None:
        return None      # a session per call: nothing held open
