"""NETCONF replies + profiles -> readings (pure: no I/O, no clock).

``plan`` turns the selected profiles into one ``<get>`` subtree filter (every list, value and
column leaf the metrics need, nothing else) and the custom RPCs to send; ``normalise_yang``
reads the rows back out of the parsed replies. Like the SNMP normaliser, every reading keeps the
path it came from (with the row's keys), its raw text and scale, and a value that cannot be used
stays as a rejected reading with the reason.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from agent.power.labels import classify, dedupe_key, render_template
from agent.power.profiles import Metric, Profile
from agent.power.readings import Quantity, Reading
from agent.power.units import UnknownUnit, unit_of
from agent.power.yang_profiles import parse_steps

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
Step = tuple[str | None, str]


@dataclass(frozen=True, slots=True)
class YangRequests:
    filters: tuple[str, ...]        # top-level subtree filter elements for one <get>
    rpcs: tuple[str, ...]           # RPCs to dispatch, as XML (e.g. <get-power-usage-information/>)

    @property
    def count(self) -> int:
        return (1 if self.filters else 0) + len(self.rpcs)


def plan(profiles: Sequence[Profile]) -> YangRequests:
    tree: dict[Step, Any] = {}
    rpcs: dict[str, str] = {}
    for profile in profiles:
        for metric in profile.metrics:
            if metric.rpc:
                rpcs.setdefault(metric.rpc, _rpc_xml(metric.rpc, profile.namespaces))
                continue
            row = tree
            for step in parse_steps(metric.path, profile.namespaces):
                row = row.setdefault(step, {})
            for relative in (metric.value_path, *metric.column_paths.values()):
                steps = parse_steps(relative, profile.namespaces)
                if any(local == ".." for _, local in steps):
                    row.clear()          # reaches out of the row: select whole entries
                    row[(None, "*")] = {}
                    continue
                node = row
                for step in steps:
                    node = node.setdefault(step, {})
    filters = tuple(etree.tostring(_element(step, children, None)).decode() for step, children in tree.items())
    return YangRequests(filters, tuple(rpcs.values()))


def _element(step: Step, children: dict[Step, Any], parent_ns: str | None) -> etree._Element:
    namespace = step[0] or parent_ns
    if namespace is None:
        element = etree.Element(step[1])
    elif namespace == parent_ns:
        element = etree.Element(f"{{{namespace}}}{step[1]}")
    else:
        element = etree.Element(f"{{{namespace}}}{step[1]}", nsmap={None: namespace})
    if (None, "*") in children:
        return element               # an empty element selects the whole subtree
    for child_step, grandchildren in children.items():
        element.append(_element(child_step, grandchildren, namespace))
    return element


def _rpc_xml(rpc: str, namespaces: Mapping[str, str]) -> str:
    prefix, _, local = rpc.rpartition(":")
    element = etree.Element(f"{{{namespaces[prefix]}}}{local}" if prefix else local)
    return str(etree.tostring(element).decode())


def normalise_yang(profiles: Sequence[Profile], data: etree._Element | None,
                   rpc_replies: Mapping[str, etree._Element]) -> list[Reading]:
    """``data``: the <data> element of the <get> reply; ``rpc_replies``: rpc name -> <rpc-reply>."""
    readings: list[Reading] = []
    for profile in profiles:
        for metric in profile.metrics:
            root = rpc_replies.get(metric.rpc) if metric.rpc else data
            if root is not None:
                readings.extend(_metric_readings(profile, metric, root))
    return readings


def _select(nodes: list[etree._Element], steps: list[Step]) -> list[etree._Element]:
    for namespace, local in steps:
        found: list[etree._Element] = []
        for node in nodes:
            if local == "..":
                parent = node.getparent()
                if parent is not None:
                    found.append(parent)
                continue
            found.extend(child for child in node if _is(child, namespace, local))
        nodes = found
    return nodes


def _is(element: etree._Element, namespace: str | None, local: str) -> bool:
    if not isinstance(element.tag, str):
        return False
    name = etree.QName(element)
    return bool(name.localname == local and (namespace is None or name.namespace == namespace))


def _rows(metric: Metric, profile: Profile, root: etree._Element) -> list[etree._Element]:
    steps = parse_steps(metric.path, profile.namespaces)
    if metric.path.startswith("//"):
        namespace, local = steps[0]
        starts = [e for e in root.iter() if _is(e, namespace, local)]
        return _select(starts, steps[1:])
    return _select([root], steps)


def _text(row: etree._Element, relative: str, profile: Profile) -> str | None:
    found = _select([row], parse_steps(relative, profile.namespaces))
    if not found:
        return None
    return (found[0].text or "").strip()


def _metric_readings(profile: Profile, metric: Metric, root: etree._Element) -> Iterator[Reading]:
    for position, row in enumerate(_rows(metric, profile, root), start=1):
        raw = _text(row, metric.value_path, profile)
        if raw is None:
            continue                 # this entry has no such leaf (a fan has no output-power)
        cells = {name: _text(row, path, profile) for name, path in metric.column_paths.items()}
        fields = {name: value or "" for name, value in cells.items()}   # an absent leaf renders as ""
        if any((fields.get(column) or "").lower() not in accepted for column, accepted in metric.where.items()):
            continue
        fields.update(index=str(position), metric=metric.name)
        quantity = metric.quantity or Quantity.POWER
        label = _tidy(render_template(metric.label, fields)) or fields.get("name", "") or f"{metric.name} {position}"
        fields["label"] = label
        component = _tidy(render_template(metric.component, fields)) or label
        kind = metric.kind or classify(metric, f"{label} | {component}", set(), quantity)
        reading = Reading(
            component=component, kind=kind, quantity=quantity, value=None,
            source="netconf", address=_address(metric, cells, position), raw=raw, scale=metric.factor,
            profile=profile.name, metric=metric.name, dedupe_key=dedupe_key(profile, f"{label} | {component}", kind),
            sensor=_sensor(metric, cells, position),
        )
        _value(reading, metric, raw, fields)
        if reading.value is not None and metric.capacity_column:
            capacity = _number(fields.get(metric.capacity_column, ""), metric.decode)
            if capacity is not None and capacity > 0:
                reading.capacity_w = capacity * metric.factor
        yield reading


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _address(metric: Metric, cells: Mapping[str, str | None], position: int) -> str:
    """The instance path: list path, key predicates, value leaf (a YANG instance-identifier, roughly)."""
    keys = "".join(f"[{metric.column_paths[k]}='{cells[k]}']" for k in metric.key if cells.get(k) is not None)
    if not keys:
        keys = f"[{position}]"
    prefix = f"<{metric.rpc}>" if metric.rpc else ""
    return f"{prefix}{metric.path}{keys}/{metric.value_path}"


def _sensor(metric: Metric, cells: Mapping[str, str | None], position: int) -> str:
    """The metric and the row's key values (its position when the list has no keys)."""
    keys = [cells[k] or "" for k in metric.key if cells.get(k) is not None] or [str(position)]
    return f"{metric.name}[{','.join(keys)}]"


def _number(text: str, decode: str) -> float | None:
    if decode == "ieeefloat32" and not _NUMBER.match(text):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 4:
            return None
        value: float = struct.unpack(">f", raw)[0]
        return value
    if _NUMBER.match(text):
        return float(text)
    return None


def _value(reading: Reading, metric: Metric, raw: str, fields: Mapping[str, str]) -> None:
    if metric.status_column:
        status = fields.get(metric.status_column, "")
        if status.lower() not in metric.status_ok:
            reading.reject(f"state {status!r} is not ok")
            return
    number = _number(raw, metric.decode)
    if number is None:
        expected = "a base64 IEEE-754 float32 or a decimal number" if metric.decode else "a number"
        reading.reject(f"expected {expected}, got {raw!r}")
        return
    if number.is_integer() and int(number) in metric.sentinels:
        reading.reject(f"error sentinel {int(number)}")
        return
    factor = metric.factor
    if metric.unit_column:
        try:
            factor *= unit_of(fields.get(metric.unit_column, ""), reading.quantity)
        except UnknownUnit as exc:
            reading.reject(str(exc))
            return
    value = number * factor
    if not math.isfinite(value):
        reading.reject("value is not a finite number")
        return
    reading.scale = factor
    reading.value = round(value, 9)
