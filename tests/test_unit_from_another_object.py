"""Amounts whose unit is named elsewhere and whose sign says what they are: a current on a supply
rail of a stated voltage is power (CISCO-ENTITY-FRU-CONTROL-MIB cefcPowerUnits "CentiAmps @ 12V"),
read from another table's column (``unit: {oid: ...}``), and ``sign:`` turns drawn (< 0) and
supplied (> 0) into kinds. An absent or ambiguous unit rejects the reading, never guesses."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from agent.power.normalise import normalise
from agent.power.profile_files import parse_profile
from agent.power.readings import Kind, Quantity, Reading, Status
from agent.power.units import UnknownUnit, unit, unit_of
from agent.yamlfile.load import load_yaml_text
from collectors.snmp.types import Oid, SnmpValue, parse_oid


@pytest.mark.parametrize(("name", "factor"), [
    ("CentiAmps @ 12V", 0.12), ("centiAmpsAt12V", 0.12), ("milliAmps12v", 0.012), ("Amps @ 50", 50.0),
    ("Amps @ 42V", 42.0), ("CentiAmps @ 42 volts", 0.42), ("deciamperes at 48V", 4.8),
])
def test_a_current_at_a_stated_voltage_is_power(name: str, factor: float) -> None:
    quantity, got = unit(name)
    assert quantity is Quantity.POWER
    assert got == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("name", ["CentiAmps @", "Volts @ 12V", "CentiAmps @ twelve", "furlongs @ 12V"])
def test_what_is_not_a_current_at_a_voltage_stays_unknown(name: str) -> None:
    with pytest.raises(UnknownUnit, match="unknown unit"):
        unit_of(name, Quantity.POWER)


def test_a_current_at_a_voltage_is_not_a_current() -> None:
    with pytest.raises(UnknownUnit, match="it measures power"):
        unit_of("CentiAmps @ 12V", Quantity.CURRENT)


PROFILE = """\
version: 1
name: fru_like
metrics:
  - name: realtime
    table: 1.3.6.1.4.1.99999.2.1
    value: 5
    columns: {oper: 2}
    status: {column: oper, ok: [2]}
    unit: {oid: 1.3.6.1.4.1.99999.1.1.2}
    component: 'FRU {index}'
    sign: {negative: module, positive: psu_output}
"""
GROUP_UNITS = "1.3.6.1.4.1.99999.1.1.2"


def _readings(units: dict[int, bytes], rows: dict[int, tuple[int, int]]) -> dict[str, Reading]:
    profile = parse_profile(load_yaml_text(PROFILE, "fru.yaml"), file="fru.yaml")
    varbinds: dict[Oid, SnmpValue] = {parse_oid(f"{GROUP_UNITS}.{i}"): text for i, text in units.items()}
    for index, (oper, raw) in rows.items():
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.2.1.2.{index}")] = oper
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.2.1.5.{index}")] = raw
    return {r.component: r for r in normalise([profile], dict(sorted(varbinds.items())))}


def test_the_sign_names_the_kind_and_the_value_is_its_magnitude() -> None:
    readings = _readings({1: b"CentiAmps @ 42V"}, {20: (2, 1523), 1000: (2, -905), 30: (2, 0), 40: (3, 700)})
    assert readings["FRU 20"].kind is Kind.PSU_OUTPUT
    assert readings["FRU 20"].value == pytest.approx(639.66)
    assert readings["FRU 1000"].kind is Kind.MODULE
    assert readings["FRU 1000"].value == pytest.approx(380.1)
    assert readings["FRU 1000"].raw == -905
    assert readings["FRU 30"].kind is Kind.OTHER          # 0: neither supplied nor drawn
    assert (readings["FRU 40"].status, readings["FRU 40"].reason) == (Status.REJECTED, "sensor status 3 is not ok")


def test_the_unit_at_the_rows_own_index_wins_over_the_shared_one() -> None:
    readings = _readings({1: b"CentiAmps @ 42V", 20: b"watts"}, {20: (2, 640)})
    assert readings["FRU 20"].value == 640.0


@pytest.mark.parametrize(("units", "reason"), [
    ({}, f"unknown unit: {GROUP_UNITS} (the object naming the unit) not answered"),
    ({1: b"CentiAmps @ 42V", 2: b"Amps @ 12V"}, "names several units"),
    ({1: b"CentiAmps"}, "unknown unit 'CentiAmps' for power (it measures current)"),
])
def test_an_absent_ambiguous_or_wrong_unit_rejects_the_reading(units: dict[int, bytes], reason: str) -> None:
    reading = _readings(units, {20: (2, 1523)})["FRU 20"]
    assert (reading.status, reading.value) == (Status.REJECTED, None)
    assert reason in reading.reason


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    sign: {negative: module, positive: psu_output}\n",
     "    sign: {negative: module, positive: psu_output}\n    kind: module\n", "exactly one of 'kind'"),
    ("positive: psu_output", "positive: watts", "positive"),
    ("    unit: {oid: 1.3.6.1.4.1.99999.1.1.2}\n", "    unit: {oid: not-an-oid}\n", "oid"),
])
def test_profile_errors_name_the_key(old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_profile(load_yaml_text(PROFILE.replace(old, new), "fru.yaml"), file="fru.yaml")
    assert caught.value.file == "fru.yaml"
    assert message in f"{caught.value.key} {caught.value.message}"
