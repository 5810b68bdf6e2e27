"""Units by one table: every unit a profile or a device declares becomes W, V or A through
agent/power/units.py; a unit the table does not know is refused by name, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.power.normalise import normalise
from agent.power.profile_files import parse_profile
from agent.power.readings import Quantity, Status
from agent.power.units import ENTITY_SENSOR_SCALE, UnknownUnit, entity_sensor_factor, multiplier_factor, unit, unit_of
from agent.yamlfile.load import load_yaml_text
from collectors.snmp.types import Oid, SnmpValue, parse_oid
from tests.agent_process import netwatt
from tests.harness.netconf_pool import NetconfServerPool

GOLDEN = Path(__file__).resolve().parent / "golden"
P, V, A = Quantity.POWER, Quantity.VOLTAGE, Quantity.CURRENT


@pytest.mark.parametrize(("name", "quantity", "factor"), [
    ("watts", P, 1.0), ("Watts", P, 1.0), ("watt", P, 1.0), ("W", P, 1.0),
    ("milliwatts", P, 1e-3), ("milli-watts", P, 1e-3), ("Milli Watts", P, 1e-3), ("mW", P, 1e-3),
    ("deciwatts", P, 0.1), ("dW", P, 0.1), ("centiwatts", P, 0.01), ("kilowatts", P, 1e3), ("kW", P, 1e3),
    ("MW", P, 1e6), ("microwatts", P, 1e-6), ("uW", P, 1e-6), ("µW", P, 1e-6), ("yottawatts", P, 1e24),
    ("volts", V, 1.0), ("millivolts", V, 1e-3), ("volts-dc", V, 1.0), ("volts-ac", V, 1.0), ("mV", V, 1e-3),
    ("amperes", A, 1.0), ("milliamperes", A, 1e-3), ("amps", A, 1.0), ("mA", A, 1e-3), ("deciamperes", A, 0.1),
])
def test_unit_names_and_symbols(name: str, quantity: Quantity, factor: float) -> None:
    measured, got = unit(name)
    assert measured is quantity
    assert got == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("name", ["celsius", "dBm", "decibel-milliwatts", "unknown", "", "mw", "Mw",
                                  "revolutions-per-minute", "watts per hour", "kilo", "percent"])
def test_units_the_table_does_not_know_are_refused_by_name(name: str) -> None:
    with pytest.raises(UnknownUnit, match=r"^unknown unit"):
        unit(name)


def test_a_unit_of_another_quantity_is_refused() -> None:
    assert unit_of("milliwatts", P) == pytest.approx(1e-3)
    with pytest.raises(UnknownUnit, match="unknown unit 'millivolts' for power"):
        unit_of("millivolts", P)


def test_rfc3433_scale_enum_in_the_mibs_order() -> None:
    expected = {1: -24, 2: -21, 3: -18, 4: -15, 5: -12, 6: -9, 7: -6, 8: -3, 9: 0, 10: 3, 11: 6, 12: 9,
                13: 12, 14: 18, 15: 15, 16: 21, 17: 24}      # exa(14) comes before peta(15) in RFC 3433
    assert sorted(ENTITY_SENSOR_SCALE) == sorted(expected)
    for scale, exponent in expected.items():
        assert entity_sensor_factor(scale, 0) == pytest.approx(10.0 ** exponent, rel=1e-12)
    assert entity_sensor_factor(8, 4) == pytest.approx(1e-7)          # Arista DOM: milli, 4 places
    assert entity_sensor_factor(9, 1615384784) == 1.0                 # bogus precision seen in the wild
    assert entity_sensor_factor(9, -2) == 1.0                         # not fixed-point
    for bad in (0, 18, None, b"9"):
        with pytest.raises(UnknownUnit, match="unknown unit: sensor scale"):
            entity_sensor_factor(bad, 0)


def test_unit_multipliers_are_si_prefix_exponents() -> None:
    assert multiplier_factor(-3) == pytest.approx(1e-3)
    assert multiplier_factor(0) == 1.0
    assert multiplier_factor(-1) == pytest.approx(0.1)          # IEEE 61850 deci
    assert multiplier_factor(24) == pytest.approx(1e24)
    for bad in (5, -4, 27, True, None, b"-3"):
        with pytest.raises(UnknownUnit, match="unknown unit multiplier"):
            multiplier_factor(bad)


PROFILE = """\
version: 1
name: ipmi_like
metrics:
  - name: sensorValue
    table: 1.3.6.1.4.1.99999.1.1
    value: 3
    columns: {name: 2, units: 4}
    unit: {column: units}
    component: '{name}'
    kind: psu_input
  - name: totalPower
    oid: 1.3.6.1.4.1.99999.2.0
    unit: deciwatts
    kind: chassis
"""


def test_profile_units_static_and_per_row() -> None:
    profile = parse_profile(load_yaml_text(PROFILE, "ipmi.yaml"), file="ipmi.yaml")
    varbinds: dict[Oid, SnmpValue] = {parse_oid("1.3.6.1.4.1.99999.2.0"): 4125}
    for index, (name, raw, units) in enumerate([("PSU1", 163000, b"milliwatts"), ("PSU2", 152, b"Watts"),
                                               ("PSU3", -40, b"dBm"), ("PSU4", 12000, b"mV")], start=1):
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.1.1.2.{index}")] = name.encode()
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.1.1.3.{index}")] = raw
        varbinds[parse_oid(f"1.3.6.1.4.1.99999.1.1.4.{index}")] = units
    readings = {r.component or r.metric: r for r in normalise([profile], dict(sorted(varbinds.items())))}
    assert (readings["PSU1"].value, readings["PSU1"].scale) == (163.0, 0.001)
    assert (readings["PSU2"].value, readings["PSU2"].status) == (152.0, Status.OK)
    assert (readings["PSU3"].value, readings["PSU3"].status, readings["PSU3"].reason) == (
        None, Status.REJECTED, "unknown unit 'dBm'")
    assert readings["PSU4"].reason == "unknown unit 'mV' for power (it measures voltage)"
    total = next(r for r in readings.values() if r.metric == "totalPower")
    assert total.value == pytest.approx(412.5)
    assert total.scale == pytest.approx(0.1)


@pytest.mark.parametrize(("unit_text", "message"), [
    ("furlongs", "unknown unit 'furlongs'"),
    ("millivolts", "unknown unit 'millivolts' for power"),
    ("{column: nope}", "'nope' is not a declared column"),
])
def test_profile_unit_errors_name_file_line_and_key(unit_text: str, message: str) -> None:
    text = PROFILE.replace("unit: deciwatts", f"unit: {unit_text}")
    with pytest.raises(ConfigError) as caught:
        parse_profile(load_yaml_text(text, "ipmi.yaml"), file="ipmi.yaml")
    assert caught.value.file == "ipmi.yaml"
    assert caught.value.line == 13
    assert caught.value.key.startswith("metrics[1].unit")
    assert message in caught.value.message


@pytest.mark.integration
def test_iosxe_milliwatt_rows_and_unknown_unit_shown_by_discover(netconf_servers: NetconfServerPool,
                                                               tmp_path: Path) -> None:
    """IOS XE 17 PSU rows in milliwatts over real SSH: read as watts; the unknown unit is shown."""
    server = netconf_servers.canned(GOLDEN / "nc_iosxe_c9300_stack_mw" / "netconf")
    state = tmp_path / "state"
    config = tmp_path / "netwatt.yaml"
    config.write_text(f"version: 1\nagent: {{state_directory: '{state}'}}\ncredentials:\n"
                      f"{server.credential_yaml('nc', 'env:NC_PASS')}devices:\n"
                      f"  - {{name: c9300, address: {server.host}, {server.netconf_yaml('nc', '5s')}}}\n")
    env = {"NC_PASS": server.password}
    assert netwatt("trust", "-c", str(config), "--device", "c9300", "--yes", env=env).returncode == 0
    discovered = netwatt("discover", "-c", str(config), "--device", "c9300", env=env)
    assert discovered.returncode == 0, discovered.stderr
    assert "unknown unit 'unknown'" in discovered.stdout
    assert "486.75" in discovered.stdout
    polled = netwatt("poll", "-c", str(config), "--device", "c9300", "--format", "lp", env=env)
    assert polled.returncode == 0, polled.stderr
    inputs = sorted(line.rsplit(" ", 2)[1] for line in polled.stdout.splitlines()
                    if line.startswith("component_power,") and "kind=psu_input" in line)
    assert inputs == ["watts=152.5", "watts=163.0", "watts=171.25"]
