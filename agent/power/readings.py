"""Normalised readings and the device total: the plain data every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a reading measures; decides whether it can be part of the device total."""

    PSU_INPUT = "psu_input"       # electrical input of a power supply: what the grid sees
    CHASSIS = "chassis"           # a device-level total object (hwCurrentPower, system power usage)
    PSU_OUTPUT = "psu_output"     # DC side of a power supply (excludes its conversion loss)
    MODULE = "module"             # a line card, supervisor or board
    POE_PORT = "poe_port"         # power delivered to one powered device: inside the switch's input
    POE_TOTAL = "poe_total"       # measured PoE delivered by a PSE or the whole switch
    POE_BUDGET = "poe_budget"     # PoE allocation or budget: planning figures, not draw
    CAPACITY = "capacity"         # ratings and maxima: never draw
    BUDGET = "budget"             # power allocated or provisioned (not PoE): planning figures, not draw
    RF_OUTPUT = "rf_output"       # radio transmitter output power: radiated, not drawn from the mains
    AVERAGE = "average"           # a device-computed average: not an instantaneous sample
    OPTIC = "optic"               # transceiver optical power: not electrical draw
    OTHER = "other"


class Quantity(StrEnum):
    POWER = "power"       # watts
    VOLTAGE = "voltage"   # volts
    CURRENT = "current"   # amperes


UNIT = {Quantity.POWER: "watts", Quantity.VOLTAGE: "volts", Quantity.CURRENT: "amperes"}


class Method(StrEnum):
    MEASURED = "measured"     # a device reading of electrical power
    DERIVED = "derived"       # computed from device readings (V x I)
    ESTIMATED = "estimated"   # model data
    UNKNOWN = "unknown"


class Status(StrEnum):
    OK = "ok"
    REJECTED = "rejected"     # failed a plausibility check; ``reason`` says which
    DUPLICATE = "duplicate"   # the same physical thing reported again by another MIB
    UNRECOGNISED = "unrecognised"   # looks like power, no profile reads it here (discover only)


@dataclass(slots=True)
class Reading:
    component: str
    kind: Kind
    quantity: Quantity
    value: float | None               # in UNIT[quantity]; None when the raw value was unusable
    source: str                       # "snmp" or "netconf"
    address: str                      # the OID or YANG path the raw value came from
    raw: Any
    scale: float                      # value = raw x scale
    profile: str
    metric: str
    method: Method = Method.MEASURED
    status: Status = Status.OK
    reason: str = ""
    counted: bool = False             # part of the device total
    entity: int | None = None         # entPhysicalIndex of the component, when known
    within: tuple[int, ...] = ()      # entities containing it (for module double counting)
    dedupe_key: str = ""
    capacity_w: float | None = None   # a rating that bounds this reading (PSU maximum)
    # Which sensor of its component this is (metric + row index or keys): tells a component's
    # readings apart (optic Tx and Rx, a PSU's in and out) so each has its own series.
    sensor: str = ""

    def reject(self, reason: str, status: Status = Status.REJECTED) -> None:
        self.status = status
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "component": self.component,
            "kind": str(self.kind),
            UNIT[self.quantity]: self.value,
            "method": str(self.method),
            "source": self.source,
            "oid" if self.source == "snmp" else "path": self.address,
            "raw": self.raw,
            "scale": self.scale,
            "status": str(self.status),
            "counted": self.counted,
            "profile": self.profile,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class DevicePower:
    power_w: float | None
    method: Method
    basis: str | None                 # the Kind the total is made of, None when unknown
    readings: list[Reading]
    note: str = ""


@dataclass(slots=True)
class DeviceInfo:
    sys_object_id: str = ""
    sys_descr: str = ""
    sys_name: str = ""
    vendor: str = ""
    model: str = ""
    profiles: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PollResult:
    device: str
    site: str
    role: str
    time: datetime
    power: DevicePower
    info: DeviceInfo
    errors: list[str]
    requests: int = 0
    elapsed_s: float = 0.0
    backend: str = ""           # the SNMP client that answered (gufo, pysnmp), if known

    @property
    def ok(self) -> bool:
        return not self.errors
