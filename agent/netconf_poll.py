"""One NETCONF poll of one device: open a session, choose profiles from <hello>, read, normalise.

Never raises for a device problem: failures come back as error strings (each names the device),
with whatever readings the requests that did succeed produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lxml import etree

from agent.power.profiles import Profile
from agent.power.readings import Reading
from agent.power.yang_normalise import normalise_yang, plan
from agent.settings.config import Device, Inventory
from agent.settings.netconf import netconf_target
from collectors.errors import CollectError, ErrorKind
from collectors.netconf import (
    NetconfError,
    NetconfPool,
    NetconfSession,
    NetconfTarget,
    RpcReply,
    default_pool,
    open_session,
)
from collectors.netconf.xmlsafe import UnsafeXml, parse

_NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
_YANG_LIBRARY_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
YANG_LIBRARY = "urn:ietf:params:netconf:capability:yang-library:1.0"
MODULES_STATE = f'<modules-state xmlns="{_YANG_LIBRARY_NS}"><module><namespace/></module></modules-state>'
MODULES_TTL_S = 3600.0


@dataclass(slots=True)
class NetconfOutcome:
    readings: list[Reading] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    profiles: list[str] = field(default_factory=list)
    vendor: str = ""


def device_target(config: Inventory, device: Device) -> NetconfTarget:
    settings = device.netconf
    assert settings is not None
    credential = config.ssh_credentials[settings.credential]
    return netconf_target(device.name, device.host, settings, credential, config.agent.state_directory)


def select_netconf_profiles(config: Inventory, device: Device, announced: set[str]) -> list[Profile]:
    """Pinned profiles, or every NETCONF profile one of whose capabilities (or module namespaces)
    the device announced."""
    assert device.netconf is not None
    if device.netconf.profiles is not None:
        return [config.profiles[name] for name in device.netconf.profiles]
    return sorted((p for p in config.profiles.values()
                   if p.protocol == "netconf" and any(c in announced for c in p.capabilities)),
                  key=lambda p: p.name)


class NetconfPoller:
    def __init__(self, config: Inventory, pool: NetconfPool | None = None) -> None:
        self.config = config
        self.pool = pool
        self._modules: dict[str, tuple[float, frozenset[str]]] = {}   # device -> (read at, namespaces)

    async def _announced(self, device: Device, session: NetconfSession, outcome: NetconfOutcome) -> set[str]:
        """Capability URIs from <hello>, plus the module namespaces of the YANG library (RFC 7895):
        YANG 1.1 modules are listed there and need not appear in <hello>. Read hourly per device."""
        announced = {c.split("?", 1)[0] for c in session.capabilities}
        if device.netconf is None or device.netconf.profiles is not None or not session.supports(YANG_LIBRARY):
            return announced
        cached = self._modules.get(device.name)
        if cached is None or time.monotonic() - cached[0] > MODULES_TTL_S:
            outcome.requests += 1
            try:
                reply = _parsed(await session.get(MODULES_STATE), session.target.max_reply_bytes, session)
            except NetconfError as exc:        # a device without modules-state still has its <hello>
                outcome.errors.append(str(exc.error))
                return announced
            namespaces = frozenset((e.text or "").strip() for e in reply.iter(f"{{{_YANG_LIBRARY_NS}}}namespace"))
            cached = self._modules[device.name] = (time.monotonic(), namespaces)
        return announced | cached[1]

    async def poll(self, device: Device) -> NetconfOutcome:
        outcome = NetconfOutcome()
        target = device_target(self.config, device)
        profiles: list[Profile] = []
        data: etree._Element | None = None
        rpc_replies: dict[str, etree._Element] = {}
        try:
            pool = self.pool or default_pool(self.config.agent.netconf_max_in_flight)
            async with open_session(target, pool=pool) as session:
                profiles = select_netconf_profiles(self.config, device,
                                                   await self._announced(device, session, outcome))
                outcome.profiles = [p.name for p in profiles]
                if not profiles:
                    outcome.errors.append(f"device {device.name}: no NETCONF profile matches the "
                                          f"{len(session.capabilities)} capabilities it announced")
                data, rpc_replies = await self._read(session, profiles, outcome)
        except NetconfError as exc:
            outcome.errors.append(str(exc.error))
        outcome.readings = normalise_yang(profiles, data, rpc_replies)
        outcome.vendor = next((p.vendor for p in profiles if p.vendor), "")
        return outcome

    async def _read(self, session: NetconfSession, profiles: list[Profile],
                    outcome: NetconfOutcome) -> tuple[etree._Element | None, dict[str, etree._Element]]:
        requests = plan(profiles)
        limit = session.target.max_reply_bytes
        data: etree._Element | None = None
        replies: dict[str, etree._Element] = {}
        if requests.filters:
            outcome.requests += 1
            reply = _parsed(await session.get(list(requests.filters)), limit, session)
            data = reply.find(f"{{{_NC}}}data")
        for rpc in requests.rpcs:
            outcome.requests += 1
            name = etree.QName(etree.fromstring(rpc)).localname
            try:
                replies[name] = _parsed(await session.dispatch(rpc), limit, session)
            except NetconfError as exc:       # one failing RPC does not lose what <get> found
                outcome.errors.append(str(exc.error))
        return data, replies


def _parsed(reply: RpcReply, limit: int, session: NetconfSession) -> etree._Element:
    try:
        return parse(reply.xml, max_bytes=limit)
    except (UnsafeXml, etree.XMLSyntaxError) as exc:
        raise NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {session.target.name}: {exc}")) from None
