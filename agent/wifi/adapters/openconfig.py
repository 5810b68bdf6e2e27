"""OpenConfig Wi-Fi over NETCONF: ``openconfig-wifi-phy`` radios and ``openconfig-wifi-mac`` SSIDs.

A change is an edit-config of the candidate and a *confirmed* commit with a persist token: the device
itself rolls it back unless netwatt confirms it (from any session) after reading the new state back;
``rollback`` cancels it at once (cancel-commit). No <validate> before <commit>: netconfd 2.13 then
commits nothing (shared/netconf-peer quirk 1), and commit validates anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lxml import etree

from agent.wifi.adapters.base import Applied
from agent.wifi.adapters.netconf_session import ControllerSession, xml_text
from agent.wifi.model import ControllerError, Observed, Scope, Target
from agent.wifi.settings import ControllerSpec
from collectors.netconf import NetconfError
from collectors.netconf.types import CANDIDATE_CAPABILITY, CONFIRMED_COMMIT_CAPABILITY
from collectors.netconf.xmlsafe import parse as parse_xml

if TYPE_CHECKING:       # the session module loads ncclient: only on first use
    from collectors.netconf import NetconfSession

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
PHY = "http://openconfig.net/yang/wifi-phy"
MAC = "http://openconfig.net/yang/wifi-mac"
TYPES = "http://openconfig.net/yang/wifi/wifi-types"
FREQUENCIES = {"2.4": "FREQ_2GHZ", "5": "FREQ_5GHZ", "6": "FREQ_6GHZ", "dual": "FREQ_2_5_GHZ"}


def radio_edit(slot: int, band: str, enabled: bool) -> str:
    freq = f'<operating-frequency xmlns:oc-wifi-types="{TYPES}">oc-wifi-types:{FREQUENCIES[band]}</operating-frequency>'
    return (f'<config xmlns="{NC}"><radios xmlns="{PHY}"><radio><id>{slot}</id>{freq}<config><id>{slot}</id>{freq}'
            f'<enabled>{str(enabled).lower()}</enabled></config></radio></radios></config>')


def ssid_edit(name: str, enabled: bool) -> str:
    escaped = xml_text(name)
    return (f'<config xmlns="{NC}"><ssids xmlns="{MAC}"><ssid><name>{escaped}</name><config><name>{escaped}</name>'
            f'<enabled>{str(enabled).lower()}</enabled></config></ssid></ssids></config>')


class OpenConfigController:
    scopes = frozenset({Scope.RADIO, Scope.SSID})

    def __init__(self, spec: ControllerSpec) -> None:
        self.name = spec.name
        self.session = ControllerSession(spec)

    async def read(self, targets: Sequence[Target]) -> dict[str, Observed]:
        filters = [f'<radios xmlns="{PHY}"/>', f'<ssids xmlns="{MAC}"/>']
        reply = await self.session.call(lambda nc: nc.get(subtree=filters), "get")
        root = parse_xml(reply.xml, max_bytes=self.session.max_reply_bytes)
        ns = {"p": PHY, "m": MAC}
        result = {}
        for target in targets:
            if target.scope is Scope.SSID:
                entry = root.xpath(".//m:ssids/m:ssid[m:name=$n]", namespaces=ns, n=target.ssid)
                enabled = _enabled(entry[0], "m", ns) if entry else None
                clients = _clients(root, ns, ssid=target.ssid)
            else:
                freq = FREQUENCIES.get(target.band, "")
                entry = [r for r in root.xpath(".//p:radios/p:radio", namespaces=ns)
                         if r.findtext(f"{{{PHY}}}id") == str(target.radio)
                         and (r.findtext(f"{{{PHY}}}operating-frequency") or "").split(":")[-1] == freq]
                enabled = _enabled(entry[0], "p", ns) if entry else None
                clients = _clients(root, ns, radio=target.radio)
            error = "" if entry else f"{self.name}: no such {target.scope} in the running config"
            result[target.key] = Observed(target, enabled, clients, error)
        return result

    async def apply(self, target: Target, enabled: bool) -> Applied:
        if target.scope is Scope.RADIO:
            if target.band not in FREQUENCIES:
                raise ControllerError(f"{self.name}: radio {target.key} has no band OpenConfig can name")
            edit = radio_edit(int(target.radio or 0), target.band, enabled)
        elif target.scope is Scope.SSID:
            edit = ssid_edit(target.ssid, enabled)
        else:
            raise ControllerError(f"{self.name}: OpenConfig has no whole-AP switch (use the AP's PoE port)")

        async def change(nc: NetconfSession) -> Applied:
            for capability in (CANDIDATE_CAPABILITY, CONFIRMED_COMMIT_CAPABILITY):
                if not nc.supports(capability):
                    raise ControllerError(f"{self.name}: does not announce {capability}; refusing an "
                                          "unprotected change")
            try:
                return await self.session.edit_confirmed(nc, edit)
            except NetconfError:
                await nc.discard_changes()
                raise

        return await self.session.call(change, "edit-config + confirmed commit")

    async def close(self) -> None:
        return None


def _enabled(entry: etree._Element, prefix: str, ns: dict[str, str]) -> bool:
    """state/enabled when the device reports it, else config/enabled; absent means the YANG default (true)."""
    for path in (f"{prefix}:state/{prefix}:enabled", f"{prefix}:config/{prefix}:enabled"):
        found = entry.xpath(path, namespaces=ns)
        if found:
            return (found[0].text or "").strip() == "true"
    return True


def _clients(root: etree._Element, ns: dict[str, str], *, radio: int | None = None, ssid: str = "") -> int | None:
    """num-associated-clients of the BSSIDs of a radio or an SSID; None when the device reports none."""
    query = ".//m:ssids/m:ssid" + (f"[m:name='{ssid}']" if ssid else "")
    counts = []
    for bssid in root.xpath(f"{query}/m:bssids/m:bssid", namespaces=ns):
        if radio is not None and bssid.findtext(f"{{{MAC}}}radio-id") != str(radio):
            continue
        value = bssid.findtext(f"{{{MAC}}}state/{{{MAC}}}num-associated-clients")
        if value is not None and value.strip().isdigit():
            counts.append(int(value))
    return sum(counts) if counts else None
