"""Normalisation and the device total, pure: scaling, traps, and the no-double-counting rules."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from agent.power.device_power import device_power
from agent.power.normalise import normalise
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import Kind, Method, Quantity, Reading, Status
from collectors.snmp.types import Oid, SnmpValue, parse_oid

PROFILES = load_builtin_profiles()
ENT = "1.3.6.1.2.1.47.1.1.1.1"
SENSOR = "1.3.6.1.2.1.99.1.1.1"
CISCO = "1.3.6.1.4.1.9.9.91.1.1.1.1"


def vb(rows: Mapping[str, SnmpValue]) -> dict[Oid, SnmpValue]:
    return {parse_oid(k): v for k, v in sorted(rows.items(), key=lambda kv: parse_oid(kv[0]))}


def entity(index: int, name: str, cls: int, parent: int) -> dict[str, SnmpValue]:
    return {f"{ENT}.7.{index}": name.encode(), f"{ENT}.5.{index}": cls, f"{ENT}.4.{index}": parent}


def rfc_sensor(index: int, value: int, *, kind: int = 6, scale: int = 9, precision: int = 0,
               status: int = 1) -> dict[str, SnmpValue]:
    return {f"{SENSOR}.1.{index}": kind, f"{SENSOR}.2.{index}": scale, f"{SENSOR}.3.{index}": precision,
            f"{SENSOR}.4.{index}": value, f"{SENSOR}.5.{index}": status}


def cisco_sensor(index: int, value: int, measured: int, *, kind: int = 6, scale: int = 8,
                 precision: int = 0, status: int = 1) -> dict[str, SnmpValue]:
    return {f"{CISCO}.1.{index}": kind, f"{CISCO}.2.{index}": scale, f"{CISCO}.3.{index}": precision,
            f"{CISCO}.4.{index}": value, f"{CISCO}.5.{index}": status, f"{CISCO}.8.{index}": measured}


def total(profile_names: list[str], rows: Mapping[str, SnmpValue]) -> tuple[float | None, str, str | None,
                                                                          list[Reading]]:
    result = device_power(normalise([PROFILES[n] for n in profile_names], vb(rows)))
    return result.power_w, str(result.method), result.basis, result.readings


def by_address(readings: list[Reading], address: str) -> Reading:
    return next(r for r in readings if r.address == address)


CHASSIS = entity(1, "Chassis", 3, 0)


def test_psu_input_wins_and_output_is_not_added() -> None:
    rows = {**CHASSIS, **entity(10, "PM0", 6, 1), **entity(11, "PM0-Input Power", 8, 10),
            **entity(12, "PM0-Output Power", 8, 10), **entity(20, "PM1", 6, 1),
            **entity(21, "PM1-Input Power", 8, 20),
            **cisco_sensor(11, 250250, 10), **cisco_sensor(12, 216000, 10), **cisco_sensor(21, 244750, 20)}
    power, method, basis, readings = total(["cisco_entity_sensor"], rows)
    assert (power, method, basis) == (495.0, "measured", "psu_input")
    output = by_address(readings, f"{CISCO}.4.12")
    assert (output.kind, output.value, output.counted) == (Kind.PSU_OUTPUT, 216.0, False)
    assert by_address(readings, f"{CISCO}.4.11").component == "PM0"


def test_optics_sentinels_capacity_and_bad_scale_never_count() -> None:
    rows = {**CHASSIS, **entity(5, "Slot 1 Supervisor", 9, 1), **entity(6, "Slot 1 HotSwap: Power", 8, 5),
            **entity(7, "Slot 2 Supervisor", 9, 1), **entity(8, "Slot 2 HotSwap: Power", 8, 7),
            **entity(30, "Te1/1", 10, 1), **entity(31, "Te1/1 Power Tx", 8, 30),
            **entity(32, "Te1/2 Power Rx", 8, 30), **entity(40, "Capacity PS0", 8, 1),
            **cisco_sensor(6, 216, 5, scale=9), **cisco_sensor(8, 169, 7, scale=7),     # C9600X micro bug
            **cisco_sensor(31, 33210, 30, precision=5), **cisco_sensor(32, -32768, 30, precision=5),
            **cisco_sensor(40, 750, 0, scale=9)}
    power, _, basis, readings = total(["cisco_entity_sensor"], rows)
    assert (power, basis) == (216.0, "module")
    micro = by_address(readings, f"{CISCO}.4.8")
    assert micro.status is Status.REJECTED
    assert "implausibly small" in micro.reason
    assert by_address(readings, f"{CISCO}.4.31").kind is Kind.OPTIC
    sentinel = by_address(readings, f"{CISCO}.4.32")
    assert (sentinel.status, sentinel.reason) == (Status.REJECTED, "error sentinel -32768")
    assert by_address(readings, f"{CISCO}.4.40").kind is Kind.CAPACITY


@pytest.mark.parametrize(
    ("scale", "precision", "raw", "watts"),
    [(9, 0, 63, 63.0), (8, 0, 250250, 250.25), (9, 2, 12345, 123.45), (10, 0, 2, 2000.0),
     (9, -2, 120, 120.0), (9, 1615384784, 120, 120.0)],      # bogus precision seen in the wild: ignored
)
def test_entity_sensor_scaling(scale: int, precision: int, raw: int, watts: float) -> None:
    rows = {**CHASSIS, **entity(2, "PSU 1 Input Power", 8, 1), **rfc_sensor(2, raw, scale=scale,
                                                                             precision=precision)}
    power, *_ = total(["entity_sensor"], rows)
    assert power == pytest.approx(watts)


def test_all_zero_psus_are_unavailable_but_a_standby_psu_is_zero() -> None:
    both_zero = {**CHASSIS, **entity(2, "PSU1 Input Power", 8, 1), **entity(3, "PSU2 Input Power", 8, 1),
                 **rfc_sensor(2, 0), **rfc_sensor(3, 0)}
    power, method, _, readings = total(["entity_sensor"], both_zero)
    assert (power, method) == (None, "unknown")
    assert all("every power supply reads 0" in r.reason for r in readings)
    standby = {**both_zero, **rfc_sensor(3, 180)}
    power, _, basis, readings = total(["entity_sensor"], standby)
    assert (power, basis) == (180.0, "psu_input")
    assert by_address(readings, f"{SENSOR}.4.2").status is Status.OK


def test_status_negative_and_wrong_type_are_rejected_with_reasons() -> None:
    rows = {**CHASSIS, **entity(2, "PSU1 Input Power", 8, 1), **entity(3, "PSU2 Input Power", 8, 1),
            **entity(4, "PSU3 Input Power", 8, 1), **entity(5, "PSU4 Input Power", 8, 1),
            **rfc_sensor(2, 100, status=2), **rfc_sensor(3, -5), **rfc_sensor(5, 90)}
    rows |= {k: v for k, v in rfc_sensor(4, 0).items()} | {f"{SENSOR}.4.4": b"garbage"}
    power, _, _, readings = total(["entity_sensor"], rows)
    assert power == 90.0
    assert by_address(readings, f"{SENSOR}.4.2").reason == "sensor status 2 is not ok"
    assert by_address(readings, f"{SENSOR}.4.3").reason == "negative power -5 W"
    assert by_address(readings, f"{SENSOR}.4.4").reason == "expected a number, got OCTET STRING 'garbage'"


def test_voltage_times_current_is_derived_when_no_watts_exist() -> None:
    rows = {**CHASSIS, **entity(100, "PowerSupply1", 6, 1),
            **entity(101, "Input voltage sensor", 8, 100), **entity(102, "Input current sensor", 8, 100),
            **rfc_sensor(101, 22925, kind=3, precision=2), **rfc_sensor(102, 66, kind=5, precision=2)}
    power, method, basis, readings = total(["entity_sensor"], rows)
    assert power == pytest.approx(151.305)
    assert (method, basis) == ("derived", "psu_input")
    derived = next(r for r in readings if r.method is Method.DERIVED)
    assert derived.address == f"{SENSOR}.4.101 x {SENSOR}.4.102"
    assert "apparent power" in derived.reason


def test_poe_is_never_added_to_the_device_total() -> None:
    rows = {"1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.1": 48, "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.7.1": 1100,
            "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.2": 45, "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.7.2": 1100,
            "1.3.6.1.2.1.105.1.3.1.1.2.1": 370, "1.3.6.1.2.1.105.1.3.1.1.3.1": 1,
            "1.3.6.1.2.1.105.1.3.1.1.4.1": 96}
    power, _, basis, readings = total(["procurve_powersupply", "power_ethernet"], rows)
    assert (power, basis) == (93.0, "psu_output")
    poe = by_address(readings, "1.3.6.1.2.1.105.1.3.1.1.4.1")
    assert (poe.kind, poe.status, poe.counted) == (Kind.POE_TOTAL, Status.OK, False)


def test_poe_only_switch_has_an_unknown_total() -> None:
    rows = {"1.3.6.1.2.1.105.1.3.1.1.2.1": 370, "1.3.6.1.2.1.105.1.3.1.1.3.1": 1,
            "1.3.6.1.2.1.105.1.3.1.1.4.1": 115}
    power, method, basis, readings = total(["power_ethernet"], rows)
    assert (power, method, basis) == (None, "unknown", None)
    assert not any(r.counted for r in readings)


def test_reading_above_its_rated_capacity_is_rejected() -> None:
    rows = {"1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.1": 5000, "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.7.1": 1100,
            "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.2": 45, "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.7.2": 1100}
    power, _, _, readings = total(["procurve_powersupply"], rows)
    assert power == 45.0
    assert "above its rated capacity 1100 W" in by_address(
        readings, "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.1").reason


def test_device_total_object_beats_boards_and_averages() -> None:
    rows: dict[str, SnmpValue] = {
            "1.3.6.1.4.1.2011.6.157.1.3.0": 90881, "1.3.6.1.4.1.2011.6.157.1.6.0": 90430,
            "1.3.6.1.4.1.2011.6.157.1.4.0": 500000,
            "1.3.6.1.4.1.2011.6.157.2.1.1.2.16842753": b"MPU",
            "1.3.6.1.4.1.2011.6.157.2.1.1.4.16842753": 46118,
            "1.3.6.1.4.1.2011.6.157.2.1.1.4.16842754": -1}
    power, _, basis, readings = total(["huawei_energy"], rows)
    assert (power, basis) == (90.43, "chassis")
    assert by_address(readings, "1.3.6.1.4.1.2011.6.157.1.3.0").kind is Kind.AVERAGE
    assert by_address(readings, "1.3.6.1.4.1.2011.6.157.2.1.1.4.16842754").reason == "error sentinel -1"


def test_modules_inside_reported_modules_are_not_added_again() -> None:
    rows = {**CHASSIS, **entity(10, "Slot 1 Linecard", 9, 1), **entity(11, "Slot 1 Daughter module", 9, 10),
            **entity(12, "Slot 1 power", 8, 10), **entity(13, "Daughter power", 8, 11),
            **cisco_sensor(12, 300, 10, scale=9), **cisco_sensor(13, 40, 11, scale=9)}
    power, _, basis, readings = total(["cisco_entity_sensor"], rows)
    assert (power, basis) == (300.0, "module")
    assert not by_address(readings, f"{CISCO}.4.13").counted


def test_same_psu_through_two_mibs_counts_once() -> None:
    rows = {"1.3.6.1.4.1.47196.4.1.1.3.11.2.1.1.3.1.1": b"1/1",
            "1.3.6.1.4.1.47196.4.1.1.3.11.2.1.1.7.1.1": 49,
            "1.3.6.1.4.1.47196.4.1.1.3.11.2.1.1.8.1.1": 550,
            **entity(7400, "Power sensor for power supply 1/1", 8, 0), **rfc_sensor(7400, 49)}
    power, _, _, readings = total(["arubacx_powersupply", "entity_sensor"], rows)
    assert power == 49.0
    duplicate = by_address(readings, f"{SENSOR}.4.7400")
    assert duplicate.status is Status.DUPLICATE


def test_extreme_exponent_and_zero_psu_sentinel() -> None:
    rows = {"1.3.6.1.4.1.1916.1.1.1.40.1.0": 131120, "1.3.6.1.4.1.1916.1.1.1.40.2.0": -3,
            "1.3.6.1.4.1.1916.1.1.1.27.1.9.1": 0, "1.3.6.1.4.1.1916.1.1.1.27.1.11.1": -3}
    power, _, basis, _ = total(["extreme_system"], rows)
    assert power == pytest.approx(131.12)
    assert basis == "chassis"


def test_reading_json_keeps_provenance() -> None:
    rows = {**CHASSIS, **entity(2, "PSU 1 Input Power", 8, 1), **rfc_sensor(2, 250250, scale=8)}
    [reading] = [r for r in device_power(normalise([PROFILES["entity_sensor"]], vb(rows))).readings
                 if r.quantity is Quantity.POWER]
    assert reading.to_json() == {
        "component": "PSU 1 Input Power", "kind": "psu_input", "watts": 250.25, "method": "measured",
        "source": "snmp", "oid": f"{SENSOR}.4.2", "raw": 250250, "scale": 0.001, "status": "ok",
        "counted": True, "profile": "entity_sensor",
    }
