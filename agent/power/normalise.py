"""Raw SNMP values + profiles -> readings (pure: no I/O, no clock).

Scaling, component naming and classification follow the profile; every reading keeps the OID,
the raw value and the scale it was given, and a value that cannot be used is kept as a rejected
reading with the reason, never dropped silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.power.labels import classify, dedupe_key, render_template
from agent.power.profiles import ENTITY_CLASSES, ENTITY_COLUMNS, ENTITY_ENTRY, Metric, Profile
from agent.power.readings import Kind, Quantity, Reading, Status
from agent.power.units import UnknownUnit, entity_sensor_factor, multiplier_factor, unit_of
from collectors.snmp.types import Oid, SnmpValue, format_oid

_CONTAINER_CLASSES = {ENTITY_CLASSES[c] for c in ("powerSupply", "module", "chassis", "port", "stack")}
_WHOLE_DEVICE = {ENTITY_CLASSES["chassis"], ENTITY_CLASSES["stack"]}
_MAX_DEPTH = 32      # a containment loop in a broken entity table must not hang us


@dataclass(frozen=True, slots=True)
class Entity:
    index: int
    name: str
    descr: str
    physical_class: int
    contained_in: int
    model: str

    @property
    def label(self) -> str:
        return self.name or self.descr or f"entity {self.index}"


class EntityTable:
    """entPhysicalTable as walked: names, classes and containment of every physical thing."""

    def __init__(self, entities: dict[int, Entity]) -> None:
        self.entities = entities

    @classmethod
    def from_varbinds(cls, varbinds: Mapping[Oid, SnmpValue]) -> EntityTable:
        prefix = len(ENTITY_ENTRY)
        columns: dict[int, dict[str, SnmpValue]] = {}
        by_number = {number: name for name, number in ENTITY_COLUMNS.items()}
        for oid, value in varbinds.items():
            if oid[:prefix] != ENTITY_ENTRY or len(oid) != prefix + 2:
                continue
            name = by_number.get(oid[prefix])
            if name is not None:
                columns.setdefault(oid[prefix + 1], {})[name] = value
        entities = {
            index: Entity(index, text(row.get("name")), text(row.get("descr")),
                          as_int(row.get("class")) or 0, as_int(row.get("contained_in")) or 0,
                          text(row.get("model")))
            for index, row in columns.items()
        }
        return cls(entities)

    def chain(self, index: int | None) -> Iterator[Entity]:
        """The entity and everything containing it, innermost first."""
        seen: set[int] = set()
        while index and index in self.entities and index not in seen and len(seen) < _MAX_DEPTH:
            seen.add(index)
            entity = self.entities[index]
            yield entity
            index = entity.contained_in

    def owner(self, index: int | None) -> Entity | None:
        """The physical thing a sensor belongs to: the nearest PSU, module, chassis or port."""
        for entity in self.chain(index):
            if entity.physical_class in _CONTAINER_CLASSES:
                return entity
        return None

    def contains(self, outer: int, inner: int) -> bool:
        return outer != inner and any(e.index == outer for e in self.chain(inner))

    def chassis_model(self) -> str:
        for entity in sorted(self.entities.values(), key=lambda e: e.index):
            if entity.physical_class == ENTITY_CLASSES["chassis"] and entity.model:
                return entity.model
        return ""


def text(value: SnmpValue | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").replace("\x00", "").strip()
    if value is None or isinstance(value, tuple):
        return ""
    return str(value).strip()


def as_int(value: SnmpValue | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def normalise(profiles: Sequence[Profile], varbinds: Mapping[Oid, SnmpValue]) -> list[Reading]:
    entities = EntityTable.from_varbinds(varbinds)
    readings: list[Reading] = []
    for profile in profiles:
        for metric in profile.metrics:
            readings.extend(_metric_readings(profile, metric, varbinds, entities))
    return readings


@dataclass(slots=True)
class _Row:
    index: Oid
    value_oid: Oid
    raw: SnmpValue
    cells: dict[str, SnmpValue]


def _rows(metric: Metric, varbinds: Mapping[Oid, SnmpValue]) -> Iterator[_Row]:
    if metric.scalar is not None:
        if metric.scalar in varbinds:
            yield _Row((), metric.scalar, varbinds[metric.scalar], {})
        return
    assert metric.table is not None
    column_prefix = (*metric.table, metric.value_column)
    width = len(column_prefix)
    for oid, raw in varbinds.items():
        if oid[:width] != column_prefix or len(oid) == width:
            continue
        index = oid[width:]
        cells = {name: varbinds.get((*metric.table, number, *index))
                 for name, number in metric.columns.items()}
        yield _Row(index, oid, raw, {k: v for k, v in cells.items() if v is not None})


def _metric_readings(profile: Profile, metric: Metric, varbinds: Mapping[Oid, SnmpValue],
                     entities: EntityTable) -> Iterator[Reading]:
    for row in _rows(metric, varbinds):
        if not _selected(metric, row):
            continue
        quantity = metric.quantity or metric.quantity_map.get(
            as_int(row.cells.get(metric.quantity_column)) or -1)
        if quantity is None:
            continue
        entity_index = _entity_index(metric, row)
        own = entities.entities.get(_row_entity(metric, row) or -1)
        owner = entities.owner(entity_index)
        fields = {name: text(value) for name, value in row.cells.items()}
        fields.update(index=format_oid(row.index), metric=metric.name,
                      entity=(own.label if own else "") or (owner.label if owner else ""),
                      entity_descr=(own.descr if own else "") or (owner.descr if owner else ""))
        label = render_template(metric.label, fields) or fields["entity"] or fields.get("name", "") or (
            f"{metric.name} {fields['index']}".strip())
        fields["label"] = label
        # A sensor belongs to its PSU or module; one directly in the chassis names itself.
        specific_owner = owner is not None and owner is not own and owner.physical_class not in _WHOLE_DEVICE
        component = render_template(metric.component, fields) or (owner.label if specific_owner and owner else label)
        classes = {e.physical_class for e in entities.chain(entity_index)}
        classes |= {e.physical_class for e in entities.chain(_row_entity(metric, row))}
        kind = metric.kind or _signed_kind(metric, row.raw) or classify(
            metric, f"{label} | {component}", classes, quantity)
        reading = Reading(
            component=component, kind=kind, quantity=quantity, value=None,
            source="snmp", address=format_oid(row.value_oid), raw=json_raw(row.raw), scale=1.0,
            profile=profile.name, metric=metric.name,
            entity=owner.index if owner else entity_index,
            within=tuple(e.index for e in entities.chain(owner.index if owner else entity_index))[1:],
            dedupe_key=dedupe_key(profile, f"{label} | {component}", kind),
            sensor=f"{metric.name}.{fields['index']}" if row.index else metric.name,
        )
        _scale(reading, metric, row, varbinds)
        if reading.status is Status.OK and metric.capacity_column:
            capacity = as_int(row.cells.get(metric.capacity_column))
            if capacity is not None and capacity > 0:
                reading.capacity_w = capacity * reading.scale
        yield reading


def _selected(metric: Metric, row: _Row) -> bool:
    for column, accepted in metric.where.items():
        value = row.cells.get(column)
        if isinstance(value, bytes):
            value = text(value)
        if value not in accepted:
            return False
    return all(pattern.search(text(row.cells.get(column))) for column, pattern in metric.where_match.items())


def _row_entity(metric: Metric, row: _Row) -> int | None:
    """The row's own entPhysicalIndex, for tables indexed by it (the profile says ``entity``)."""
    if not metric.entity or metric.table is None or len(row.index) != 1:
        return None
    return row.index[0]


def _entity_index(metric: Metric, row: _Row) -> int | None:
    """The entity a reading is about: a measured-entity column wins over the row's own index."""
    if metric.entity not in ("", "index"):
        referenced = as_int(row.cells.get(metric.entity))
        if referenced:
            return referenced
    return _row_entity(metric, row)


def _signed_kind(metric: Metric, raw: SnmpValue) -> Kind | None:
    """The kind the raw value's sign names (``sign:`` in the profile), e.g. drawn < 0 < supplied."""
    if not metric.sign_kinds:
        return None
    number = _number(raw)
    if not number:                    # 0 (neither supplied nor drawn) or not a number: unsigned
        return Kind.OTHER
    return metric.sign_kinds["negative" if number < 0 else "positive"]


def json_raw(raw: SnmpValue) -> Any:
    if isinstance(raw, bytes):
        return text(raw)
    if isinstance(raw, tuple):
        return format_oid(raw)
    if isinstance(raw, int | str):
        return raw
    return str(raw.value)


def _scale(reading: Reading, metric: Metric, row: _Row, varbinds: Mapping[Oid, SnmpValue]) -> None:
    """Fill value and scale, or reject the reading with the reason."""
    raw = _number(row.raw)
    if raw is None:
        reading.reject(f"expected a number, got {_type_name(row.raw)} {json_raw(row.raw)!r}")
        return
    if metric.status_column:
        status = as_int(row.cells.get(metric.status_column))
        if status is not None and status not in metric.status_ok:
            reading.reject(f"sensor status {status} is not ok")
            return
    if raw in metric.sentinels:
        reading.reject(f"error sentinel {raw}")
        return
    try:
        factor = metric.factor * _row_factor(metric, row, varbinds, reading.quantity)
    except UnknownUnit as exc:
        reading.reject(str(exc))
        return
    value = (abs(raw) if metric.sign_kinds else raw) * factor
    if not math.isfinite(value):
        reading.reject("value is not a finite number")
        return
    reading.scale = factor
    reading.value = round(value, 9)


def _row_factor(metric: Metric, row: _Row, varbinds: Mapping[Oid, SnmpValue], quantity: Quantity) -> float:
    """What the row's unit, scale or multiplier makes of a raw value (the unit table)."""
    factor = 1.0
    if metric.unit_column:
        factor *= unit_of(text(row.cells.get(metric.unit_column)), quantity)
    if metric.unit_oid is not None:
        factor *= unit_of(_shared_unit(metric.unit_oid, row.index, varbinds), quantity)
    if metric.scaling == "entity_sensor":
        factor *= entity_sensor_factor(row.cells.get("scale"), row.cells.get("precision"))
    elif metric.scaling == "exponent":
        factor *= multiplier_factor(row.cells.get(metric.exponent_column) if metric.exponent_column
                                    else varbinds.get(metric.exponent_oid or ()))
    return factor


def _shared_unit(column: Oid, index: Oid, varbinds: Mapping[Oid, SnmpValue]) -> str:
    """The unit text a column of another table gives a row: the instance at the row's own index,
    else the one value all its instances share (CISCO-ENTITY-FRU-CONTROL-MIB cefcPowerUnits of the
    power group); absent or ambiguous is an unknown unit, never a guess."""
    own = varbinds.get((*column, *index))
    if own is not None:
        return text(own)
    names = sorted({text(value) for oid, value in varbinds.items()
                    if oid[:len(column)] == column and len(oid) > len(column)})
    if len(names) == 1:
        return names[0]
    if not names:
        raise UnknownUnit(f"unknown unit: {format_oid(column)} (the object naming the unit) not answered")
    raise UnknownUnit(f"unknown unit: {format_oid(column)} names several units {names}; "
                      "which one applies to this row is not known")


def _number(raw: SnmpValue) -> int | float | None:
    """An integer, or a DisplayString holding a decimal number (some vendors, e.g. Moxa, send
    "12.5"); anything else is not a reading."""
    if isinstance(raw, int):
        return raw
    if isinstance(raw, bytes):
        try:
            value = float(text(raw))
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def _type_name(raw: SnmpValue) -> str:
    if isinstance(raw, bytes):
        return "OCTET STRING"
    if isinstance(raw, tuple):
        return "OBJECT IDENTIFIER"
    if isinstance(raw, str):
        return "IpAddress"
    return str(getattr(raw, "value", raw))
