"""Device profiles: vendor knowledge as data (``config/profiles/*.yaml``), checked here.

A profile says which objects to walk, how to scale them and what each one measures. The schema is
documented in ``config/profiles/README.md``; this module holds the ``Profile`` values and turns the
body of an SNMP profile into one, rejecting anything it does not understand, naming file, line and
key (files and the protocol dispatch: ``agent.power.profile_files``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.power.readings import Kind, Quantity
from agent.power.units import UnknownUnit, unit, unit_of
from agent.yamlfile.section import Section
from collectors.snmp.types import Oid, parse_oid

Scaling = Literal["static", "entity_sensor", "exponent"]

# ENTITY-MIB entPhysicalEntry columns walked when a profile asks for entity context.
ENTITY_ENTRY = parse_oid("1.3.6.1.2.1.47.1.1.1.1")
ENTITY_COLUMNS = {"descr": 2, "contained_in": 4, "class": 5, "name": 7, "model": 13}
ENTITY_CLASSES = {"other": 1, "unknown": 2, "chassis": 3, "backplane": 4, "container": 5,
                  "powerSupply": 6, "fan": 7, "sensor": 8, "module": 9, "port": 10, "stack": 11,
                  "cpu": 12, "energyObject": 13, "battery": 14, "storageDrive": 15}


@dataclass(frozen=True, slots=True)
class ClassifyRule:
    kind: Kind
    label: re.Pattern[str] | None = None
    entity_class: frozenset[int] = frozenset()
    quantity: Quantity | None = None

    def matches(self, label: str, classes: set[int], quantity: Quantity) -> bool:
        if self.quantity is not None and quantity != self.quantity:
            return False
        if self.label is not None and not self.label.search(label):
            return False
        return not self.entity_class or bool(self.entity_class & classes)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    scalar: Oid | None = None             # a single object (x.0)
    table: Oid | None = None              # a table entry; rows are the suffixes after each column
    value_column: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    where: dict[str, frozenset[int | str]] = field(default_factory=dict)
    where_match: dict[str, re.Pattern[str]] = field(default_factory=dict)   # column text searched by a regex
    quantity: Quantity | None = Quantity.POWER
    quantity_column: str = ""
    quantity_map: dict[int, Quantity] = field(default_factory=dict)
    scaling: Scaling = "static"
    factor: float = 1.0
    exponent_column: str = ""             # scaling: exponent, per row
    exponent_oid: Oid | None = None       # scaling: exponent, one scalar for the metric
    unit_column: str = ""                 # a column naming each row's unit (agent.power.units)
    unit_oid: Oid | None = None           # a column of another table naming the unit of every row
    sign_kinds: dict[str, Kind] = field(default_factory=dict)   # "negative"/"positive" -> kind
    status_column: str = ""
    status_ok: frozenset[int | str] = frozenset()
    sentinels: frozenset[int] = frozenset()
    kind: Kind | None = None
    classify: tuple[ClassifyRule, ...] = ()
    component: str = ""
    label: str = ""
    entity: str = ""                      # "index" or a column name holding an entPhysicalIndex
    capacity_column: str = ""
    # NETCONF (protocol: netconf): a YANG list path instead of a table; see agent.power.yang_profiles
    path: str = ""                        # absolute path of the list whose entries are the rows
    value_path: str = ""                  # the value leaf, relative to a row
    column_paths: dict[str, str] = field(default_factory=dict)
    key: tuple[str, ...] = ()             # columns naming a row in its address
    rpc: str = ""                         # read from the reply to this RPC instead of <get>
    decode: str = ""                      # "ieeefloat32": base64 IEEE-754 single (openconfig-types)

    def subtrees(self) -> list[Oid]:
        if self.path:
            return []
        if self.scalar is not None:
            trees = [self.scalar[:-1] if self.scalar[-1] == 0 else self.scalar]
            if self.exponent_oid is not None:
                trees.append(self.exponent_oid[:-1] if self.exponent_oid[-1] == 0 else self.exponent_oid)
            return trees
        assert self.table is not None
        wanted = {self.value_column, *self.columns.values()}
        return [(*self.table, column) for column in sorted(wanted)] + (
            [self.exponent_oid[:-1]] if self.exponent_oid is not None else []) + (
            [self.unit_oid] if self.unit_oid is not None else [])


@dataclass(frozen=True, slots=True)
class DedupeRule:
    pattern: re.Pattern[str]
    key: str


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    file: str
    description: str
    vendor: str
    sys_object_id: tuple[Oid, ...]        # empty: a standard MIB any device may implement
    entity_context: bool
    metrics: tuple[Metric, ...]
    dedupe: tuple[DedupeRule, ...] = ()
    protocol: str = "snmp"                # or "netconf"
    capabilities: tuple[str, ...] = ()    # netconf: any of these announced in <hello> selects it
    namespaces: dict[str, str] = field(default_factory=dict)   # netconf: prefix -> namespace

    @property
    def generic(self) -> bool:
        return not self.sys_object_id and not self.capabilities

    def matches(self, sys_object_id: Oid | None) -> bool:
        if self.protocol != "snmp":
            return False
        if self.generic:
            return True
        return sys_object_id is not None and any(
            sys_object_id[: len(prefix)] == prefix for prefix in self.sys_object_id)

    def subtrees(self) -> list[Oid]:
        trees = [tree for metric in self.metrics for tree in metric.subtrees()]
        if self.entity_context and self.protocol == "snmp":
            trees += [(*ENTITY_ENTRY, column) for column in ENTITY_COLUMNS.values()]
        return trees


def parse_snmp_profile(top: Section, name: str, file: str, description: str, vendor: str) -> Profile:
    """The body of a ``protocol: snmp`` profile (header read by ``agent.power.profile_files``)."""
    match = top.section("match", {})
    prefixes = tuple(_oid(match, "sys_object_id", value) for value in match.text_list("sys_object_id", []))
    match.finish()
    context = top.text_list("context", [])
    for value in context:
        if value != "entity":
            raise top.error("context", f"unknown context {value!r} (known: entity)")
    metrics, dedupe = parse_metrics_and_dedupe(top, _parse_metric)
    return Profile(name, file, description, vendor, prefixes, bool(context), metrics, dedupe)


def parse_metrics_and_dedupe(top: Section, parse_metric: Callable[[Section], Metric]
                             ) -> tuple[tuple[Metric, ...], tuple[DedupeRule, ...]]:
    """The ``metrics`` (at least one, unique names) and ``dedupe`` of a profile; finishes ``top``."""
    metrics = tuple(parse_metric(item) for item in top.sections("metrics"))
    if not metrics:
        raise top.error("metrics", "a profile needs at least one metric")
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen:
            raise top.error("metrics", f"two metrics are named {metric.name!r}")
        seen.add(metric.name)
    dedupe = tuple(_parse_dedupe(item) for item in top.sections("dedupe"))
    top.finish()
    return metrics, dedupe


def _parse_metric(s: Section) -> Metric:
    name = s.text("name")
    scalar = _oid(s, "oid", s.text("oid", "")) if s.has("oid") else None
    table = _oid(s, "table", s.text("table", "")) if s.has("table") else None
    if (scalar is None) == (table is None):
        raise s.error("oid", "a metric has exactly one of 'oid' (a scalar) or 'table' (a table entry)")
    columns = _columns(s)
    value_column = s.integer("value", 0 if scalar is not None else None, minimum=0)
    where, where_match = _where(s, columns)
    quantity: Quantity | None = Quantity.POWER
    quantity_column = ""
    quantity_map: dict[int, Quantity] = {}
    if s.has("quantity") and isinstance(s.data["quantity"], dict):
        q = s.section("quantity")
        quantity_column = _column_ref(q, "column", columns)
        quantity_map = {int(k): parse_enum(q, "map", Quantity, v) for k, v in q.section("map").data.items()}
        q.section("map")
        q.finish()
        quantity = None
    else:
        quantity = parse_enum(s, "quantity", Quantity, s.text("quantity", "power"))
    scaling_section = s.section("scale", {"factor": 1})
    scaling, factor, exponent_column, exponent_oid = _scaling(scaling_section, columns)
    unit_oid = _unit_oid(s, quantity)
    unit_factor, unit_column = (1.0, "") if unit_oid is not None else parse_unit(s, columns, quantity)
    status_column, status_ok = "", frozenset[int]()
    if s.has("status"):
        st = s.section("status")
        status_column = _column_ref(st, "column", columns)
        status_ok = frozenset(int(v) for v in st.text_list("ok"))
        st.finish()
    sentinels = frozenset(_int(s, "sentinels", v) for v in s.text_list("sentinels", []))
    kind: Kind | None = None
    rules: tuple[ClassifyRule, ...] = ()
    if s.has("kind"):
        kind = parse_enum(s, "kind", Kind, s.text("kind"))
    if s.has("classify"):
        rules = tuple(parse_classify_rule(r) for r in s.sections("classify"))
    sign_kinds = _sign_kinds(s)
    if sum((kind is not None, bool(rules), bool(sign_kinds))) != 1:
        raise s.error("kind", "a metric has exactly one of 'kind', 'classify' (rules) or 'sign' (kinds)")
    component = s.text("component", "")
    label = s.text("label", "")
    entity = s.text("entity", "")
    if entity and entity != "index":
        _column_ref_value(s, "entity", entity, columns)
    capacity_column = s.text("capacity_column", "")
    if capacity_column:
        _column_ref_value(s, "capacity_column", capacity_column, columns)
    s.finish()
    for template_key, template in (("component", component), ("label", label)):
        _check_template(s, template_key, template, columns)
    return Metric(
        name=name, scalar=scalar, table=table, value_column=value_column, columns=columns, where=where,
        where_match=where_match, quantity=quantity, quantity_column=quantity_column, quantity_map=quantity_map,
        scaling=scaling, factor=factor * unit_factor, exponent_column=exponent_column,
        exponent_oid=exponent_oid, unit_column=unit_column, unit_oid=unit_oid, sign_kinds=sign_kinds,
        status_column=status_column, status_ok=status_ok, sentinels=sentinels, kind=kind,
        classify=rules, component=component, label=label, entity=entity,
        capacity_column=capacity_column,
    )


def parse_unit(s: Section, columns: Collection[str], quantity: Quantity | None) -> tuple[float, str]:
    """``unit: milliwatts`` (its factor, from the unit table) or ``unit: {column: C}`` (per row)."""
    if not s.has("unit"):
        return 1.0, ""
    if isinstance(s.data["unit"], dict):
        section = s.section("unit")
        column = section.text("column")
        if column not in columns:
            raise section.error("column", f"{column!r} is not a declared column "
                                f"(columns: {', '.join(sorted(columns)) or 'none'})")
        section.finish()
        return 1.0, column
    name = s.text("unit")
    try:
        return (unit(name)[1] if quantity is None else unit_of(name, quantity)), ""
    except UnknownUnit as exc:
        raise s.error("unit", f"{exc} (e.g. watts, milliwatts, deciwatts, kilowatts, volts, "
                      "millivolts, amperes, milliamperes; config/profiles/README.md: Units)") from None


def _unit_oid(s: Section, quantity: Quantity | None) -> Oid | None:
    """``unit: {oid: COLUMN}``: every row's unit is named by a column of another table (the one
    value its instances share, or the instance at the row's own index); checked per reading."""
    if not (s.has("unit") and isinstance(s.data["unit"], dict) and "oid" in s.data["unit"]):
        return None
    section = s.section("unit")
    oid = _oid(section, "oid", section.text("oid"))
    section.finish()
    if quantity is None:
        raise s.error("unit", "a unit read from another object needs a fixed quantity")
    return oid


def _sign_kinds(s: Section) -> dict[str, Kind]:
    """``sign: {negative: module, positive: psu_output}``: the raw value's sign says what it is
    (CISCO-ENTITY-FRU-CONTROL-MIB: drawn < 0 < supplied); the value is its magnitude."""
    if not s.has("sign"):
        return {}
    section = s.section("sign")
    kinds = {side: parse_enum(section, side, Kind, section.text(side)) for side in ("negative", "positive")}
    section.finish()
    return kinds


def _scaling(s: Section, columns: dict[str, int]) -> tuple[Scaling, float, str, Oid | None]:
    if s.has("rule"):
        rule = s.choice("rule", ("entity_sensor", "exponent"))
        if rule == "entity_sensor":
            for needed in ("scale", "precision"):
                if needed not in columns:
                    raise s.error("rule", f"entity_sensor scaling needs a column named {needed!r}")
            factor = s.number("factor", 1.0)
            s.finish()
            return "entity_sensor", factor, "", None
        column = s.text("column", "")
        oid = _oid(s, "oid", s.text("oid")) if s.has("oid") and not column else None
        if column:
            _column_ref_value(s, "column", column, columns)
        if not column and oid is None:
            raise s.error("rule", "exponent scaling needs 'column' or 'oid'")
        factor = s.number("factor", 1.0)
        s.finish()
        return "exponent", factor, column, oid
    factor = s.number("factor")
    if factor == 0:
        raise s.error("factor", "a factor of 0 would turn every reading into 0")
    s.finish()
    return "static", factor, "", None


def parse_classify_rule(s: Section) -> ClassifyRule:
    kind = parse_enum(s, "kind", Kind, s.text("kind"))
    label = None
    if s.has("label"):
        pattern = s.text("label")
        try:
            label = re.compile(pattern)
        except re.error as exc:
            raise s.error("label", f"bad regular expression: {exc}") from None
    classes = frozenset(_entity_class(s, v) for v in s.text_list("entity_class", []))
    quantity = parse_enum(s, "quantity", Quantity, s.text("quantity")) if s.has("quantity") else None
    s.finish()
    return ClassifyRule(kind, label, classes, quantity)


def _parse_dedupe(s: Section) -> DedupeRule:
    try:
        pattern = re.compile(s.text("pattern"))
    except re.error as exc:
        raise s.error("pattern", f"bad regular expression: {exc}") from None
    key = s.text("key")
    s.finish()
    return DedupeRule(pattern, key)


def _columns(s: Section) -> dict[str, int]:
    if not s.has("columns"):
        s.raw("columns", None)
        return {}
    section = s.section("columns")
    columns = {name: section.integer(name, minimum=1) for name in list(section.data)}
    section.finish()
    return columns


def _where(s: Section, columns: dict[str, int]) -> tuple[dict[str, frozenset[int | str]], dict[str, re.Pattern[str]]]:
    """Row filters: a column's value is one of a list, or (``{match: REGEX}``) its text matches a regex
    (tables with no type column, where only a row's name says what it measures)."""
    if not s.has("where"):
        s.raw("where", None)
        return {}, {}
    section = s.section("where")
    where: dict[str, frozenset[int | str]] = {}
    where_match: dict[str, re.Pattern[str]] = {}
    for column in list(section.data):
        _column_ref_value(section, column, column, columns)
        if isinstance(section.data[column], dict):
            test = section.section(column)
            try:
                where_match[column] = re.compile(test.text("match"))
            except re.error as exc:
                raise test.error("match", f"bad regular expression: {exc}") from None
            test.finish()
            continue
        values = section.raw(column)
        items = values if isinstance(values, list) else [values]
        where[column] = frozenset(v if isinstance(v, int | str) else str(v) for v in items)
    section.finish()
    return where, where_match


def _column_ref(s: Section, key: str, columns: dict[str, int]) -> str:
    value = s.text(key)
    _column_ref_value(s, key, value, columns)
    return value


def _column_ref_value(s: Section, key: str, value: str, columns: dict[str, int]) -> None:
    if value not in columns:
        known = ", ".join(sorted(columns)) or "none"
        raise s.error(key, f"{value!r} is not a declared column (columns: {known})")


def _check_template(s: Section, key: str, template: str, columns: dict[str, int]) -> None:
    allowed = {"index", "entity", "entity_descr", "metric", "label", *columns}
    for field_name in re.findall(r"{(\w+)}", template):
        if field_name not in allowed:
            raise s.error(key, f"unknown placeholder {{{field_name}}} (known: {', '.join(sorted(allowed))})")


def _oid(s: Section, key: str, value: str) -> Oid:
    try:
        return parse_oid(str(value))
    except ValueError as exc:
        raise s.error(key, str(exc)) from None


def _int(s: Section, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise s.error(key, f"{value!r} is not an integer") from None


def _entity_class(s: Section, value: str) -> int:
    if value in ENTITY_CLASSES:
        return ENTITY_CLASSES[value]
    raise s.error("entity_class", f"{value!r} is not an entPhysicalClass "
                  f"({', '.join(ENTITY_CLASSES)})")


def parse_enum(s: Section, key: str, enum: type[Kind] | type[Quantity], value: Any) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        raise s.error(key, f"{value!r} is not one of: {', '.join(e.value for e in enum)}") from None


def select_profiles(profiles: Iterable[Profile], sys_object_id: Oid | None) -> list[Profile]:
    """Vendor profiles matching the sysObjectID first (they win duplicates), then the generic MIBs."""
    matching = [p for p in profiles if p.matches(sys_object_id)]
    return sorted(matching, key=lambda p: (p.generic, p.name))
