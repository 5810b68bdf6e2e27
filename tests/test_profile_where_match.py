"""`where: {column: {match: REGEX}}`: rows chosen by a regex on a column's text (tables with no type
column, such as FortiGate's fgHwSensorTable, where only a sensor's name says what it measures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.power.normalise import normalise
from agent.power.profile_files import parse_profile
from agent.power.readings import Kind
from agent.yamlfile.load import load_yaml_text
from collectors.snmp.types import Oid, SnmpValue, parse_oid

PROFILE = """\
version: 1
name: named_sensors
metrics:
  - name: sensorValue
    table: 1.3.6.1.4.1.99999.1.1
    value: 3
    columns: {name: 2}
    where: {name: {match: '(?i)^psu\\d+ (pin|pout)$'}}
    component: '{name}'
    classify:
      - {label: '(?i)pin', kind: psu_input}
      - {label: '.', kind: psu_output}
"""


def _varbinds(rows: list[tuple[str, str]]) -> dict[Oid, SnmpValue]:
    varbinds: dict[Oid, SnmpValue] = {}
    for index, (name, value) in enumerate(rows, start=1):
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.1.1.2.{index}")] = name.encode()
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.1.1.3.{index}")] = value.encode()
    return dict(sorted(varbinds.items()))


def test_only_rows_whose_name_matches_are_read() -> None:
    profile = parse_profile(load_yaml_text(PROFILE, "named.yaml"), file="named.yaml")
    readings = normalise([profile], _varbinds([("CPU Temp", "44.5"), ("PSU1 PIN", "152.25"),
                                               ("PSU1 VIN", "228"), ("psu2 pout", "135"),
                                               ("PSU1 PIN extra", "9")]))
    assert [(r.component, r.kind, r.value) for r in readings] == [
        ("PSU1 PIN", Kind.PSU_INPUT, 152.25), ("psu2 pout", Kind.PSU_OUTPUT, 135.0)]


@pytest.mark.parametrize(("where", "message", "key"), [
    ("{name: {match: '(unclosed'}}", "bad regular expression", "metrics[0].where.name.match"),
    ("{nope: {match: 'x'}}", "'nope' is not a declared column", "metrics[0].where.nope"),
    ("{name: {match: 'x', also: 1}}", "unknown key", "metrics[0].where.name.also"),
])
def test_where_match_errors_name_file_line_and_key(where: str, message: str, key: str) -> None:
    text = PROFILE.replace("where: {name: {match: '(?i)^psu\\d+ (pin|pout)$'}}", f"where: {where}")
    with pytest.raises(ConfigError) as caught:
        parse_profile(load_yaml_text(text, "named.yaml"), file="named.yaml")
    assert caught.value.file == "named.yaml"
    assert caught.value.line == 8
    assert caught.value.key.startswith(key)
    assert message in caught.value.message


def test_netconf_profiles_refuse_where_match_by_name() -> None:
    source = (Path(__file__).resolve().parent.parent / "config/profiles/cisco_xe_environment.yaml").read_text()
    assert "where: {sensor: [power]}" in source
    text = source.replace("where: {sensor: [power]}", "where: {sensor: {match: power}}", 1)
    with pytest.raises(ConfigError) as caught:
        parse_profile(load_yaml_text(text, "xe.yaml"), file="xe.yaml")
    assert caught.value.key == "metrics[0].where.sensor"
    assert caught.value.line is not None
    assert "'match' (a regex) is for SNMP profiles" in caught.value.message
