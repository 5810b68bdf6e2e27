"""SNMP controllers (AireOS, IF-MIB radios, PoE ports), driven by config/wifi/snmp-controllers.yaml:
which object switches which scope, how it is indexed, which values mean up and down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.datafiles import shipped_file
from agent.wifi.adapters.base import Applied, Immediate
from agent.wifi.model import ControllerError, Observed, Scope, Target
from agent.wifi.settings import AccessPoint, ControllerSpec
from agent.yamlfile.load import load_yaml_file
from collectors.snmp.setter import SetValue, SnmpSetter
from collectors.snmp.types import Oid, SnmpClient, SnmpTarget, parse_oid


@dataclass(frozen=True, slots=True)
class Column:
    oid: Oid
    index: str
    up: int | None = None
    down: int | None = None
    scale: float = 1.0


def load_columns(path: Path | None = None) -> tuple[dict[str, dict[str, dict[str, Column]]], list[Column]]:
    data: Any = load_yaml_file(path or shipped_file("config/wifi/snmp-controllers.yaml", "wifi/snmp-controllers.yaml"))
    def column(spec: dict[str, Any]) -> Column:
        return Column(parse_oid(str(spec["oid"])), str(spec["index"]), spec.get("up"), spec.get("down"),
                      float(spec.get("scale", 1.0)))
    types = {kind: {scope: {role: column(c) for role, c in roles.items()} for scope, roles in scopes.items()}
             for kind, scopes in data["types"].items()}
    return types, [column(c) for c in data["power"]]


def mac_index(mac: str) -> Oid:
    parts = mac.replace("-", ":").replace(".", ":").split(":")
    if len(parts) == 3:     # Cisco dotted aabb.ccdd.eeff
        parts = [p[i:i + 2] for p in parts for i in (0, 2)]
    if len(parts) != 6:
        raise ControllerError(f"{mac!r} is not a MAC address")
    return tuple(int(p, 16) for p in parts)


def port_index(port: str) -> Oid:
    return parse_oid(port)


class SnmpController:
    """A controller whose admin objects are SNMP columns. One request per read, one SET per change."""

    def __init__(self, spec: ControllerSpec, snmp_target: SnmpTarget, aps: dict[str, AccessPoint], *,
                 reader: SnmpClient, setter: SnmpSetter, columns: dict[str, dict[str, Column]]) -> None:
        self.name = spec.name
        self.spec = spec
        self.snmp_target = snmp_target
        self.aps = aps
        self.reader = reader
        self.setter = setter
        self.columns = columns
        self.scopes = frozenset(Scope(s) for s, roles in columns.items() if "admin" in roles)

    def _index(self, column: Column, target: Target) -> Oid:
        ap = self.aps.get(target.ap)
        if column.index == "wlan":
            if target.ssid not in self.spec.wlans:
                raise ControllerError(f"{self.name}: no WLAN index for SSID {target.ssid!r} "
                                      f"(controllers.{self.name}.wlans)")
            return (self.spec.wlans[target.ssid],)
        if ap is None:
            raise ControllerError(f"{self.name}: unknown access point {target.ap!r}")
        if column.index == "mac_slot":
            return (*mac_index(ap.mac), int(target.radio or 0))
        if column.index == "eth_mac_slot":
            return (*mac_index(ap.ethernet_mac or ap.mac), int(target.radio or 0))
        if column.index == "mac":
            return mac_index(ap.mac)
        if column.index == "if_index":
            radio = next((r for r in ap.radios if r.slot == target.radio), None)
            if radio is None or radio.if_index is None:
                raise ControllerError(f"{self.name}: radio {target.ap}/{target.radio} has no if_index")
            return (radio.if_index,)
        if column.index == "poe_port":
            if ap.poe is None:
                raise ControllerError(f"{self.name}: access point {ap.name} has no poe port")
            return port_index(ap.poe.port)
        raise ControllerError(f"{self.name}: unknown index kind {column.index!r}")

    def _column(self, target: Target, role: str) -> Column | None:
        return self.columns.get(str(target.scope), {}).get(role)

    async def read(self, targets: Sequence[Target]) -> dict[str, Observed]:
        wanted: dict[Oid, tuple[str, str]] = {}
        result: dict[str, Observed] = {}
        for target in targets:
            try:
                for role in ("admin", "clients"):
                    column = self._column(target, role)
                    if column is not None:
                        wanted[column.oid + self._index(column, target)] = (target.key, role)
            except ControllerError as exc:
                result[target.key] = Observed(target, None, None, str(exc))
        if not wanted:
            return result
        reply = await self.reader.get(self.snmp_target, list(wanted))
        error = "; ".join(str(e) for e in reply.errors)
        for target in targets:
            if target.key in result:
                continue
            admin = self._column(target, "admin")
            clients = self._column(target, "clients")
            enabled = clients_seen = None
            if admin is not None:
                raw = reply.varbinds.get(admin.oid + self._index(admin, target))
                enabled = None if not isinstance(raw, int) else raw == admin.up
            if clients is not None:
                raw = reply.varbinds.get(clients.oid + self._index(clients, target))
                clients_seen = raw if isinstance(raw, int) else None
            missing = "" if enabled is not None or error else "no such object on the controller"
            result[target.key] = Observed(target, enabled, clients_seen, error or missing)
        return result

    async def apply(self, target: Target, enabled: bool) -> Applied:
        column = self._column(target, "admin")
        if column is None or column.up is None or column.down is None:
            raise ControllerError(f"{self.name}: a {self.spec.type} controller cannot switch scope {target.scope}")
        oid = column.oid + self._index(column, target)
        value = SetValue("integer", column.up if enabled else column.down)
        outcome = await self.setter.set(self.snmp_target, [(oid, value)])
        if not outcome.ok:
            raise ControllerError(f"{self.name}: SET {target.key} -> {'up' if enabled else 'down'} failed: "
                                  + "; ".join(str(e) for e in outcome.errors))
        return Immediate(self, target, not enabled)

    async def close(self) -> None:
        return None


class PoeMeter:
    """The PoE draw of an AP's switch port (W, measured), for the savings of each action."""

    def __init__(self, reader: SnmpClient, targets: dict[str, SnmpTarget], aps: dict[str, AccessPoint],
                 columns: list[Column]) -> None:
        self.reader = reader
        self.targets = targets          # switch device name -> SNMP target
        self.aps = aps
        self.columns = columns

    async def watts(self, ap_name: str) -> float | None:
        ap = self.aps.get(ap_name)
        if ap is None or ap.poe is None or ap.poe.switch not in self.targets:
            return None
        oids = [c.oid + port_index(ap.poe.port) for c in self.columns]
        reply = await self.reader.get(self.targets[ap.poe.switch], oids)
        for column, oid in zip(self.columns, oids, strict=True):
            raw = reply.varbinds.get(oid)
            if isinstance(raw, int):
                return round(raw * column.scale, 3)
        return None
