"""NETCONF profiles: the SNMP profile format with a YANG path where an OID would be.

A ``protocol: netconf`` profile names the YANG list whose entries are rows (``path``), the value
leaf and named columns as paths relative to a row, and optionally an RPC whose reply is read
instead of ``<get>`` (Junos ``get-power-usage-information``). Kinds, classification rules, scale
factors, sentinels, status and dedupe rules mean what they mean for SNMP. Schema:
``config/profiles/README.md``.
"""

from __future__ import annotations

import re

from agent.power.profiles import Metric, Profile, parse_classify_rule, parse_enum, parse_metrics_and_dedupe, parse_unit
from agent.power.readings import Kind, Quantity
from agent.yamlfile.section import Section

DECODINGS = ("", "ieeefloat32")
_STEP = re.compile(r"^(?:(?P<prefix>[A-Za-z_][\w.\-]*):)?(?P<name>[A-Za-z_][\w.\-]*)$")


def parse_yang_profile(top: Section, name: str, file: str, description: str, vendor: str) -> Profile:
    match = top.section("match", {})
    capabilities = tuple(match.text_list("capability", []))
    match.finish()
    namespaces_section = top.section("namespaces", {})
    namespaces = {str(prefix): namespaces_section.text(str(prefix)) for prefix in list(namespaces_section.data)}
    namespaces_section.finish()
    metrics, dedupe = parse_metrics_and_dedupe(top, lambda item: _parse_metric(item, namespaces))
    return Profile(name, file, description, vendor, (), False, metrics, dedupe, protocol="netconf",
                   capabilities=capabilities, namespaces=namespaces)


def _parse_metric(s: Section, namespaces: dict[str, str]) -> Metric:
    name = s.text("name")
    rpc = s.text("rpc", "")
    path = s.text("path")
    _check_path(s, "path", path, namespaces, absolute=True, prefixed=not rpc)
    value_path = s.text("value")
    _check_path(s, "value", value_path, namespaces, absolute=False, prefixed=False)
    columns: dict[str, str] = {}
    if s.has("columns"):
        section = s.section("columns")
        for column in list(section.data):
            columns[str(column)] = section.text(str(column))
            _check_path(section, str(column), columns[str(column)], namespaces, absolute=False, prefixed=False)
        section.finish()
    key = tuple(s.text_list("key", list(columns)[:1]))
    for column in key:
        _column(s, "key", column, columns)
    where: dict[str, frozenset[int | str]] = {}
    if s.has("where"):
        section = s.section("where")
        for column in list(section.data):
            _column(section, str(column), str(column), columns)
            values = section.raw(str(column))
            if isinstance(values, dict):
                raise section.error(str(column), "a list of values: 'match' (a regex) is for SNMP profiles")
            where[str(column)] = frozenset(str(v).lower() for v in (values if isinstance(values, list) else [values]))
        section.finish()
    quantity = parse_enum(s, "quantity", Quantity, s.text("quantity", "power"))
    scale = s.section("scale", {"factor": 1})
    factor = scale.number("factor")
    if factor == 0:
        raise scale.error("factor", "a factor of 0 would turn every reading into 0")
    scale.finish()
    unit_factor, unit_column = parse_unit(s, columns, quantity)
    decode = s.choice("decode", DECODINGS, "")
    status_column, status_ok = "", frozenset[int | str]()
    if s.has("status"):
        st = s.section("status")
        status_column = st.text("column")
        _column(st, "column", status_column, columns)
        status_ok = frozenset(str(v).lower() for v in st.text_list("ok"))
        st.finish()
    sentinels = frozenset(_integer(s, v) for v in s.text_list("sentinels", []))
    kind: Kind | None = parse_enum(s, "kind", Kind, s.text("kind")) if s.has("kind") else None
    rules = tuple(parse_classify_rule(r) for r in s.sections("classify")) if s.has("classify") else ()
    if any(rule.entity_class for rule in rules):
        raise s.error("classify", "entity_class needs the SNMP entity table; NETCONF rules test label and quantity")
    if (kind is None) == (not rules):
        raise s.error("kind", "a metric has exactly one of 'kind' or 'classify' (rules)")
    component = s.text("component", "")
    label = s.text("label", "")
    capacity_column = s.text("capacity_column", "")
    if capacity_column:
        _column(s, "capacity_column", capacity_column, columns)
    s.finish()
    allowed = {"index", "metric", "label", *columns}
    for template_key, template in (("component", component), ("label", label)):
        for placeholder in re.findall(r"{(\w+)}", template):
            if placeholder not in allowed:
                raise s.error(template_key, f"unknown placeholder {{{placeholder}}} "
                              f"(known: {', '.join(sorted(allowed))})")
    return Metric(
        name=name, where=where, quantity=quantity, factor=factor * unit_factor, unit_column=unit_column,
        status_column=status_column,
        status_ok=status_ok, sentinels=frozenset(sentinels), kind=kind, classify=rules, component=component,
        label=label, capacity_column=capacity_column, path=path, value_path=value_path, column_paths=columns,
        key=key, rpc=rpc, decode=decode,
    )


def _check_path(s: Section, key: str, path: str, namespaces: dict[str, str], *, absolute: bool,
                prefixed: bool) -> None:
    """``/a:b/a:c`` (``//`` may start an RPC path: at any depth); relative paths may use ``..``."""
    body = path
    if absolute:
        if not path.startswith("/"):
            raise s.error(key, f"{path!r} must be an absolute path (/prefix:name/...)")
        body = path[2:] if path.startswith("//") else path[1:]
    elif path.startswith("/"):
        raise s.error(key, f"{path!r} must be relative to the row (no leading '/')")
    steps = body.split("/")
    for step in steps:
        if step == ".." and not absolute:
            continue
        found = _STEP.match(step)
        if not found:
            raise s.error(key, f"{path!r}: {step!r} is not a step of the form prefix:name")
        prefix = found.group("prefix")
        if prefix is None and prefixed:
            raise s.error(key, f"{path!r}: {step!r} needs a namespace prefix (a <get> filter is namespaced)")
        if prefix is not None and prefix not in namespaces:
            raise s.error(key, f"{path!r}: prefix {prefix!r} is not declared under namespaces "
                          f"({', '.join(sorted(namespaces)) or 'none'})")


def _column(s: Section, key: str, value: str, columns: dict[str, str]) -> None:
    if value not in columns:
        known = ", ".join(sorted(columns)) or "none"
        raise s.error(key, f"{value!r} is not a declared column (columns: {known})")


def _integer(s: Section, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise s.error("sentinels", f"{value!r} is not an integer") from None


def parse_steps(path: str, namespaces: dict[str, str]) -> list[tuple[str | None, str]]:
    """``/a:b/c`` -> [(namespace of a, 'b'), (None, 'c')]; '..' stays as (None, '..')."""
    steps: list[tuple[str | None, str]] = []
    for step in path.strip("/").split("/"):
        if step == "..":
            steps.append((None, ".."))
            continue
        prefix, _, local = step.rpartition(":")
        steps.append((namespaces[prefix] if prefix else None, local))
    return steps

