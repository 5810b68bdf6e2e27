"""What ``discover`` shows beyond the profiles: every object that looks like power, with a verdict.

Two sources name the power-like objects netwatt knows without a MIB compiler:

- every vendor profile the device's sysObjectID did not select: its readings, scaled as the
  profile says, with the verdict "profile X reads this but does not match this device";
- the catalogue (``config/power_objects/catalogue.yaml``): vendor objects (OID -> MIB name, unit,
  kind) that no shipped profile reads: "add a profile", with the OID and raw value;
- ENTITY-SENSOR rows (RFC 3433) that say watts in their units text but not in their type (a vendor
  that files power under other(1)): found by their values alone, no MIB names needed.

A generic profile (ENTITY-SENSOR, POWER-ETHERNET, ...) that a device's pinned ``profiles:`` leave
out is surveyed too: its rows are listed with "add it to the device's profiles".

Only objects that no reading of this poll already covers are added, as ``unrecognised`` readings:
never counted, listed so that a user can extend coverage in minutes. Pure: the caller walks the
subtrees (``Survey.subtrees``) and hands the varbinds in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.datafiles import shipped_dir
from agent.errors import ConfigError
from agent.power.normalise import json_raw, normalise
from agent.power.profiles import Profile
from agent.power.readings import Kind, PollResult, Quantity, Reading, Status
from agent.yamlfile.load import load_yaml_file
from agent.yamlfile.section import Section
from collectors.snmp.types import Oid, SnmpValue, format_oid, parse_oid
from collectors.snmp.walk import outermost

ENTERPRISES = parse_oid("1.3.6.1.4.1")
ENT_SENSOR_ENTRY = parse_oid("1.3.6.1.2.1.99.1.1.1")    # ENTITY-SENSOR-MIB::entPhySensorEntry
ENT_SENSOR_TYPE, ENT_SENSOR_VALUE, ENT_SENSOR_UNITS = 1, 4, 6   # entPhySensorType/Value/UnitsDisplay
ENT_SENSOR_ELECTRICAL = {3, 4, 5, 6}   # voltsAC, voltsDC, amperes, watts: what entity_sensor reads
WATTS_TEXT = re.compile(r"(?i)^\s*[kmµu]?w\s*$|watt")   # "W", "mW", "kW", "Watts", "milliwatts"
NEVER_DRAW = {Kind.RF_OUTPUT, Kind.OPTIC}      # listed, but no profile would ever count them
UNITS: dict[str, Quantity | None] = {
    "W": Quantity.POWER, "dW": Quantity.POWER, "cW": Quantity.POWER, "mW": Quantity.POWER,
    "uW": Quantity.POWER, "dBm": None, "V": Quantity.VOLTAGE, "dV": Quantity.VOLTAGE,
    "cV": Quantity.VOLTAGE, "mV": Quantity.VOLTAGE, "A": Quantity.CURRENT, "dA": Quantity.CURRENT,
    "cA": Quantity.CURRENT, "mA": Quantity.CURRENT, "text": None, "see note": None,
}


@dataclass(frozen=True, slots=True)
class KnownObject:
    oid: Oid                  # a table column or a scalar object (without .0): instances lie under it
    name: str                 # MIB::object
    unit: str
    kind: Kind
    note: str = ""

    def verdict(self) -> str:
        note = f"; {self.note}" if self.note else ""
        if self.kind in NEVER_DRAW:
            return f"never counted: {self.kind} ({self.name}, unit {self.unit}{note}), not electrical draw"
        return f"add a profile ({self.name}, unit {self.unit}, looks like {self.kind}{note})"


def catalogue_dir(configured: str = "") -> Path | None:
    return shipped_dir("config/power_objects", "power_objects", marker="catalogue.yaml",
                       env="NETWATT_POWER_OBJECTS", configured=configured)


def load_catalogue(path: Path) -> list[KnownObject]:
    top = Section(load_yaml_file(path), "", file=str(path), line=1)
    if top.integer("version") != 1:
        raise top.error("version", "catalogue version must be 1")
    objects: list[KnownObject] = []
    for s in top.sections("objects"):
        try:
            oid = parse_oid(s.text("oid"))
        except ValueError as exc:
            raise s.error("oid", str(exc)) from None
        unit = s.choice("unit", tuple(UNITS))
        try:
            kind = Kind(s.text("kind"))
        except ValueError:
            raise s.error("kind", f"not one of: {', '.join(k.value for k in Kind)}") from None
        objects.append(KnownObject(oid, s.text("name"), unit, kind, s.text("note", "")))
        s.finish()
    top.finish()
    return objects


def builtin_catalogue() -> list[KnownObject]:
    found = catalogue_dir()
    if found is None:
        raise ConfigError("no power object catalogue found (config/power_objects/catalogue.yaml)")
    return load_catalogue(found / "catalogue.yaml")


@dataclass(frozen=True, slots=True)
class Survey:
    catalogue: list[KnownObject]
    profiles: list[Profile]          # vendor SNMP profiles the device did not select

    @classmethod
    def for_device(cls, profiles: Iterable[Profile], selected: Iterable[str]) -> Survey:
        chosen = set(selected)
        return cls(builtin_catalogue(), [p for p in profiles if p.protocol == "snmp" and p.name not in chosen])

    def subtrees(self, sys_object_id: Oid | None, *, everything: bool) -> list[Oid]:
        """What to walk: everything (a recording costs nothing), or on a live device the objects
        under its own enterprise plus those outside any enterprise."""
        trees = [k.oid for k in self.catalogue] + [t for p in self.profiles for t in p.subtrees()]
        trees += [(*ENT_SENSOR_ENTRY, column) for column in (ENT_SENSOR_TYPE, ENT_SENSOR_VALUE, ENT_SENSOR_UNITS)]
        if not everything:
            enterprise = _enterprise(sys_object_id)
            trees = [t for t in trees if _enterprise(t) in (None, enterprise)]
        return sorted(set(trees))

    def add_unrecognised(self, result: PollResult, varbinds: Mapping[Oid, SnmpValue]) -> None:
        """Append what the device answered and this poll did not read, to a discover result."""
        covered = {r.address for r in result.power.readings}
        varbinds = _under(varbinds, self.subtrees(None, everything=True))   # a whole recording: cut first
        generic = {p.name for p in self.profiles if p.generic}
        for reading in normalise(self.profiles, varbinds):
            if reading.address in covered:
                continue
            covered.add(reading.address)
            if reading.profile in generic:
                why = (f"profile {reading.profile} (a standard MIB) reads this but the device's profiles: "
                       f"leave it out: add {reading.profile} to them")
            else:
                why = (f"profile {reading.profile} reads this but does not match sysObjectID "
                       f"{result.info.sys_object_id or '?'}: add it to the profile's match or "
                       f"pin profiles: [{reading.profile}]")
            reading.reject(why, Status.UNRECOGNISED)
            result.power.readings.append(reading)
        found = unrecognised(self.catalogue, varbinds, covered)
        covered |= {r.address for r in found}
        found += entity_sensor_watts_by_text(varbinds, covered)
        result.power.readings.extend(found)


def unrecognised(known: Sequence[KnownObject], varbinds: Mapping[Oid, SnmpValue],
                 covered: Iterable[str]) -> list[Reading]:
    """A reading per answered instance of a known object that this poll's profiles did not read."""
    seen = set(covered)
    by_oid: dict[Oid, KnownObject] = {}
    for known_object in known:         # an explicit catalogue entry wins over a profile-derived one
        by_oid.setdefault(known_object.oid, known_object)
    found: list[Reading] = []
    for oid, raw in varbinds.items():
        entry = _owner(oid, by_oid)
        address = format_oid(oid)
        if entry is None or address in seen:
            continue
        seen.add(address)
        index = format_oid(oid[len(entry.oid):])
        found.append(Reading(
            component=f"{entry.name} {index}".strip(), kind=entry.kind,
            quantity=UNITS.get(entry.unit) or Quantity.POWER, value=None, source="snmp",
            address=address, raw=json_raw(raw), scale=1.0, profile="catalogue",
            metric=entry.name, status=Status.UNRECOGNISED, reason=entry.verdict(),
        ))
    return found


def entity_sensor_watts_by_text(varbinds: Mapping[Oid, SnmpValue], covered: Iterable[str]) -> list[Reading]:
    """ENTITY-SENSOR rows whose type is not electrical (other, unknown, ...) but whose units text
    says watts: power filed under the wrong type, which no profile reads. Listed, never counted."""
    seen = set(covered)
    found: list[Reading] = []
    type_column = (*ENT_SENSOR_ENTRY, ENT_SENSOR_TYPE)
    for oid, sensor_type in varbinds.items():
        if oid[: len(type_column)] != type_column or not isinstance(sensor_type, int):
            continue
        index = oid[len(type_column):]
        units = varbinds.get((*ENT_SENSOR_ENTRY, ENT_SENSOR_UNITS, *index))
        value_oid = (*ENT_SENSOR_ENTRY, ENT_SENSOR_VALUE, *index)
        address = format_oid(value_oid)
        if (sensor_type in ENT_SENSOR_ELECTRICAL or not isinstance(units, bytes) or address in seen
                or value_oid not in varbinds or not WATTS_TEXT.search(units.decode("latin-1"))):
            continue
        seen.add(address)
        label = units.decode("latin-1").strip()
        found.append(Reading(
            component=f"entPhySensorValue {format_oid(index)}", kind=Kind.OTHER, quantity=Quantity.POWER,
            value=None, source="snmp", address=address, raw=json_raw(varbinds[value_oid]), scale=1.0,
            profile="heuristic", metric="ENTITY-SENSOR-MIB::entPhySensorValue", status=Status.UNRECOGNISED,
            reason=(f"add a profile (ENTITY-SENSOR row of type {sensor_type}, not watts(6), "
                    f"whose units display says {label!r}: looks like power; scale by entPhySensorScale "
                    "and entPhySensorPrecision of the same row)")))
    return found


def _under(varbinds: Mapping[Oid, SnmpValue], trees: Sequence[Oid]) -> dict[Oid, SnmpValue]:
    """The varbinds inside any of ``trees``, found by bisection (a recording may hold 500,000)."""
    keys = sorted(varbinds)
    found: dict[Oid, SnmpValue] = {}
    for tree in outermost(trees):
        position = bisect.bisect_left(keys, tree)
        while position < len(keys) and keys[position][: len(tree)] == tree:
            found[keys[position]] = varbinds[keys[position]]
            position += 1
    return found


def _owner(oid: Oid, by_oid: Mapping[Oid, KnownObject]) -> KnownObject | None:
    for length in range(len(oid) - 1, 0, -1):
        entry = by_oid.get(oid[:length])
        if entry is not None:
            return entry
    return None


def _enterprise(oid: Oid | None) -> int | None:
    if oid is None or oid[: len(ENTERPRISES)] != ENTERPRISES or len(oid) <= len(ENTERPRISES):
        return None
    return oid[len(ENTERPRISES)]

