"""One poll of one device: identify it, walk what its profiles need, normalise, total.

A device's failure stays with that device: every poll returns a ``PollResult`` (with errors)
and never raises, so one dead or garbage-answering device cannot fail or delay the others.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from agent.clock import Clock, wall_clock
from agent.power.device_power import device_power
from agent.power.merge import merge_protocols
from agent.power.normalise import EntityTable, normalise, text
from agent.power.profiles import Profile, select_profiles
from agent.power.readings import DeviceInfo, DevicePower, Method, PollResult, Reading
from agent.settings.config import Device, Inventory
from collectors.snmp.types import Oid, SnmpClient, format_oid, parse_oid

if TYPE_CHECKING:
    from agent.netconf_poll import NetconfPoller

log = logging.getLogger(__name__)

SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.2.0")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
IDENTITY_TTL_S = 3600.0       # re-read sysObjectID hourly: a replaced chassis gets new profiles


@dataclass(slots=True)
class _SnmpPart:
    readings: list[Reading]
    errors: list[str]
    requests: int
    info: DeviceInfo | None          # None: the device did not answer its identification
    backend: str = ""                # the SNMP read backend that answered


@dataclass(slots=True)
class _Identity:
    info: DeviceInfo
    profiles: list[Profile]
    subtrees: list[Oid]
    read_at: float


class Poller:
    def __init__(self, config: Inventory, client: SnmpClient, *,
                 clock: Clock = wall_clock) -> None:
        self.config = config
        self.client = client
        self.clock = clock
        self._identities: dict[str, _Identity] = {}
        self._netconf: NetconfPoller | None = None
        self._subtrees: dict[tuple[str, ...], list[Oid]] = {}     # per profile set, shared by its devices
        self._profile_names: dict[tuple[str, ...], list[str]] = {}     # the same, as DeviceInfo.profiles
        self._profiles: dict[tuple[str, ...], list[Profile]] = {}

    def netconf(self) -> NetconfPoller:
        """Built on the first NETCONF device: ncclient and paramiko (~13 MB) are loaded only if one is configured."""
        if self._netconf is None:
            from agent.netconf_poll import NetconfPoller  # noqa: PLC0415
            self._netconf = NetconfPoller(self.config)
        return self._netconf

    async def poll_many(self, devices: Iterable[Device], *,
                        on_result: Callable[[PollResult], None] | None = None) -> list[PollResult]:
        """Poll every device, ``max_in_flight`` at a time (not one task per device of a large
        fleet). With ``on_result`` each result is handed over as it comes and none is kept."""
        pending = list(enumerate(devices))
        results: list[PollResult | None] = [None] * len(pending)
        queue = iter(pending)

        async def worker() -> None:
            for index, device in queue:     # one shared iterator: each device is taken once
                result = await self.poll(device)
                if on_result is None:
                    results[index] = result
                else:
                    on_result(result)

        workers = max(1, min(len(pending), self.config.agent.max_in_flight))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [r for r in results if r is not None]

    async def poll(self, device: Device) -> PollResult:
        started = time.perf_counter()
        now = self.clock()
        try:
            return await self._poll(device, now, started)
        except Exception as exc:     # a bug must not take the other devices down with it
            log.exception("device %s: poll failed", device.name)
            return self._failed(device, now, started, [f"internal error: {exc.__class__.__name__}: {exc}"])

    async def identify(self, device: Device) -> tuple[_Identity | None, list[str], int]:
        cached = self._identities.get(device.name)
        if cached is not None and time.monotonic() - cached.read_at < IDENTITY_TTL_S:
            return cached, [], 0
        target = self.config.snmp_target(device)
        reply = await self.client.get(target, [SYS_DESCR, SYS_OBJECT_ID, SYS_NAME])
        if reply.errors:
            return None, [str(e) for e in reply.errors], reply.requests
        raw_oid = reply.varbinds.get(SYS_OBJECT_ID)
        sys_object_id = raw_oid if isinstance(raw_oid, tuple) else None
        if device.profiles is not None:
            profiles = [self.config.profiles[name] for name in device.profiles]
        else:
            profiles = select_profiles(self.config.profiles.values(), sys_object_id)
        vendor = next((p.vendor for p in profiles if p.vendor), "")
        names = tuple(p.name for p in profiles)
        subtrees = self._subtrees.get(names)
        if subtrees is None:      # 10,000 devices: one list of OIDs per profile set, not per device (28 MB)
            subtrees = self._subtrees[names] = [t for p in profiles for t in p.subtrees()]
            self._profile_names[names] = list(names)
        # A fleet's devices share their model's texts and profile list: one copy each, not one per device.
        info = DeviceInfo(
            sys_object_id=sys.intern(format_oid(sys_object_id)) if sys_object_id else "",
            sys_descr=sys.intern(text(reply.varbinds.get(SYS_DESCR))[:200]),
            sys_name=text(reply.varbinds.get(SYS_NAME)),
            vendor=vendor, model=device.model, profiles=self._profile_names[names],
        )
        identity = _Identity(info, self._profiles.setdefault(names, profiles), subtrees, time.monotonic())
        self._identities[device.name] = identity
        return identity, [], reply.requests

    async def _poll(self, device: Device, now: datetime, started: float) -> PollResult:
        # NETCONF (when configured) runs alongside SNMP; a device may use one protocol or both.
        netconf = asyncio.ensure_future(self.netconf().poll(device)) if device.netconf else None
        try:
            snmp = await self._snmp(device) if device.credential else None
            outcome = await netconf if netconf is not None else None
        finally:
            if netconf is not None and not netconf.done():
                netconf.cancel()
        if outcome is None and snmp is not None and snmp.info is None:
            return self._failed(device, now, started, snmp.errors, snmp.requests)
        readings = merge_protocols(snmp.readings if snmp else [], outcome.readings if outcome else [])
        info = replace(snmp.info) if snmp and snmp.info else DeviceInfo(model=device.model)
        if outcome is not None:
            info.profiles = [*info.profiles, *outcome.profiles]
            info.vendor = info.vendor or outcome.vendor
        return PollResult(
            device=device.name, site=device.site, role=device.role, time=now, power=device_power(readings),
            info=info, errors=(snmp.errors if snmp else []) + (outcome.errors if outcome else []),
            requests=(snmp.requests if snmp else 0) + (outcome.requests if outcome else 0),
            elapsed_s=time.perf_counter() - started, backend=snmp.backend if snmp else "",
        )

    async def _snmp(self, device: Device) -> _SnmpPart:
        identity, errors, requests = await self.identify(device)
        if identity is None:
            return _SnmpPart([], errors, requests, None)
        walk = await self.client.walk(self.config.snmp_target(device), identity.subtrees)
        if walk.errors and not walk.varbinds:
            self._identities.pop(device.name, None)     # identify again once it answers
        info = identity.info
        if not info.model:
            info.model = EntityTable.from_varbinds(walk.varbinds).chassis_model()
        return _SnmpPart(normalise(identity.profiles, walk.varbinds), [str(e) for e in walk.errors],
                         requests + walk.requests, info, walk.backend)

    def _failed(self, device: Device, now: datetime, started: float, errors: list[str],
                requests: int = 0) -> PollResult:
        return PollResult(
            device=device.name, site=device.site, role=device.role, time=now,
            power=DevicePower(None, Method.UNKNOWN, None, [], note="device did not answer"),
            info=DeviceInfo(model=device.model), errors=errors, requests=requests,
            elapsed_s=time.perf_counter() - started,
        )
