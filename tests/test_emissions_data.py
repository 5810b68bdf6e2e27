"""Offline data: the bundled tables, the OWID refresh, the emissions config, estimation, embodied."""

from __future__ import annotations

import calendar
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.config.dump import dump_config
from agent.config.load import load_config_text
from agent.emissions.bundled import BundledFactors, factors_dir, read_rows
from agent.emissions.embodied import Footprint, load_footprints
from agent.emissions.factors import FactorError
from agent.emissions.refresh import refresh
from agent.errors import ConfigError
from agent.power.estimate import Calibration, PowerModel, PowerModels, estimate, load_power_models, models_dir
from agent.power.readings import DevicePower, Kind, Method, Quantity, Reading

FIXTURES = Path(__file__).parent / "fixtures" / "grid_factors"
MARCH_2024 = float(calendar.timegm((2024, 3, 1, 0, 0, 0)))


def test_every_bundled_row_names_dataset_release_basis_and_source() -> None:
    for name in ("countries.csv", "overrides.csv"):
        for row in read_rows(factors_dir() / name):
            assert row.dataset, row
            assert row.release, row
            assert row.source, row
            assert 0 <= row.g_per_kwh < 2000, row


def test_bundled_lookup_prefers_the_override_then_the_country() -> None:
    bundled = BundledFactors()
    assert bundled.lookup("GB", MARCH_2024).source == "desnz-gb-2024"          # DESNZ wins over Ember for GB
    assert bundled.lookup("GB", MARCH_2024).g_per_kwh == pytest.approx(204.93)
    assert bundled.lookup("DE", MARCH_2024).g_per_kwh == pytest.approx(344.1)
    assert bundled.lookup("DE-BY", MARCH_2024).source == "owid-de-2024"        # sub-zone -> country
    with pytest.raises(FactorError, match="grid zone 'XX': no bundled factor"):
        bundled.lookup("XX", MARCH_2024)


def test_refresh_reads_the_owid_energy_data_layout(tmp_path: Path) -> None:
    directory = tmp_path / "grid_factors"
    shutil.copytree(factors_dir(), directory)
    result = refresh(FIXTURES / "owid-energy-data.csv", directory, release="owid test 2025-06")
    # France 2023, 2024 and Germany 2024 replace rows; South Korea 2024 is new; Africa/World are aggregates;
    # France 2025 has no value
    assert (result.replaced, result.added, result.skipped_aggregates, result.skipped_empty) == (3, 1, 2, 1)
    assert result.unmapped == set()
    bundled = BundledFactors(directory)
    factor = bundled.lookup("FR", MARCH_2024)
    assert (factor.g_per_kwh, factor.release, factor.note) == (44.18, "owid test 2025-06", "")
    assert bundled.lookup("KR", MARCH_2024).g_per_kwh == pytest.approx(431.2)
    assert bundled.lookup("US", MARCH_2024).release == "carbontracker-2.4.7"   # rows not in the file stay


def test_refresh_command_refuses_a_csv_of_another_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "grid_factors"
    shutil.copytree(factors_dir(), directory)
    bad = tmp_path / "other.csv"
    bad.write_text("country,year,iso_code,co2\nFrance,2024,FRA,1\n")
    assert main(["factors", "refresh", "--from", str(bad), "--release", "x", "--dir", str(directory)]) == 1
    assert "not an OWID energy-data or carbon-intensity CSV" in capsys.readouterr().err
    assert main(["factors", "refresh", "--from", str(FIXTURES / "owid-energy-data.csv"), "--release", "x",
                 "--dir", str(directory)]) == 0
    assert "1 rows added, 3 replaced" in capsys.readouterr().out


BASE = "version: 1\ncredentials: {}\nsites:\n  paris: {timezone: Europe/Paris, grid_zone: FR}\n"


@pytest.mark.parametrize(("section", "message"), [
    ("emissions:\n  sites:\n    lyon: {overhead: 1.2}\n", "emissions.sites.lyon: unknown site 'lyon'"),
    ("emissions:\n  sites:\n    paris: {overhead: 0.8}\n", "emissions.sites.paris.overhead: must be at least 1"),
    ("emissions:\n  sites:\n    paris:\n      residual_mix: {value: 1, unit: g/MJ, source: x}\n",
     "residual_mix.unit: unknown emission factor unit"),
    ("emissions:\n  sites:\n    paris:\n      contracts:\n        - {kind: eac, share: 1.5, value: 0, source: x}\n",
     "contracts[0].share: a share of the consumption is from 0 to 1"),
    ("emissions:\n  sites:\n    paris:\n      location_factor: {value: 50}\n", "location_factor.source: is required"),
    ("emissions:\n  providers:\n    - {type: electricity_maps, zones: {FR: FR}}\n",
     "emissions.providers[0].token: electricity_maps needs an API token"),
    ("emissions:\n  providers:\n    - {type: electricity_maps, token: abc123, zones: {FR: FR}}\n",
     "must be a secret reference"),
    ("emissions:\n  target: {baseline_from: 2024-01-01, baseline_to: 2023-01-01, reduction_pct: 45, "
     "target_year: 2030}\n",
     "baseline_to: must be after baseline_from"),
])
def test_emissions_config_errors_name_file_line_and_key(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config_text(BASE + section, file="netwatt.yaml", environ={})
    assert message in str(error.value)
    assert str(error.value).startswith("netwatt.yaml:")


def poe(value: float, kind: Kind = Kind.POE_TOTAL) -> Reading:
    return Reading("pse1", kind, Quantity.POWER, value, "snmp", "1.3.6.1", value, 1.0, "p", "m")


MODELS = PowerModels(0.88, "default", {"sw-48p": PowerModel("SW-48P", 60.0, 900.0, 0.9, "datasheet (test)")})


def test_estimate_poe_only_is_a_labelled_lower_bound() -> None:
    # 212 + 95 W delivered / 0.88 = 348.864 W
    unknown = DevicePower(None, Method.UNKNOWN, None, [poe(212.0), poe(95.0), poe(740.0, Kind.POE_BUDGET)])
    result = estimate(unknown, model="", models=MODELS, calibration=Calibration())
    assert result.power_w == pytest.approx(348.863636)
    assert (result.method, result.basis) == (Method.ESTIMATED, "poe_only_lower_bound")
    assert "lower bound" in result.note


def test_estimate_datasheet_typical_plus_poe_over_the_models_psu_efficiency() -> None:
    # 60 W typical + 45 W PoE / 0.9 = 110 W
    unknown = DevicePower(None, Method.UNKNOWN, None, [poe(45.0)])
    result = estimate(unknown, model="SW-48P", models=MODELS, calibration=Calibration())
    assert result.power_w == pytest.approx(110.0)
    assert result.basis == "model_typical+poe"


def test_calibration_by_same_model_devices_that_measure_wins_over_the_datasheet() -> None:
    # two reporting units: 150 W in with 36 W PoE -> base 150 - 36/0.9 = 110; 130 W, no PoE -> 130. Median 120.
    calibration = Calibration()
    calibration.note("SW-48P", "a", DevicePower(150.0, Method.MEASURED, "psu_input", [poe(36.0)]), 0.9)
    calibration.note("SW-48P", "b", DevicePower(130.0, Method.MEASURED, "psu_input", []), 0.9)
    calibration.note("SW-48P", "c", DevicePower(999.0, Method.ESTIMATED, "x", []), 0.9)      # never evidence
    unknown = DevicePower(None, Method.UNKNOWN, None, [poe(18.0)])
    result = estimate(unknown, model="sw-48p", models=MODELS, calibration=calibration)
    assert result.power_w == pytest.approx(120.0 + 18.0 / 0.9)
    assert result.basis == "model_calibrated+poe"
    measured = DevicePower(77.0, Method.MEASURED, "psu_input", [])
    assert estimate(measured, model="sw-48p", models=MODELS, calibration=calibration) is measured


def test_nothing_known_stays_unknown() -> None:
    unknown = DevicePower(None, Method.UNKNOWN, None, [])
    assert estimate(unknown, model="", models=MODELS, calibration=Calibration()).method is Method.UNKNOWN


def test_embodied_amortisation_removes_the_use_phase_first() -> None:
    # PCF 500 kg of which 80 % use phase -> 100 kg cradle-to-gate; over 5 years: 100000 g / 1826.25 d = 54.757 g/day
    fp = Footprint("X", 500.0, 0.8, 5.0, "vendor", "pcf.pdf")
    assert fp.cradle_to_gate_kgco2e == pytest.approx(100.0)
    assert fp.per_day_g(4.0) == pytest.approx(100000 / (5 * 365.25))
    assert fp.amortised_g(900.0, 4.0) == pytest.approx(100000 / (5 * 365.25) * 900 / 86400)
    assert Footprint("Y", 100.0, 0.0, None, "generic", "s").per_day_g(4.0) == pytest.approx(100000 / (4 * 365.25))


def test_provider_keys_are_secrets_by_reference_and_never_dumped() -> None:
    text = BASE + ("emissions:\n  providers:\n    - {type: electricity_maps, token: env:EM_TOKEN, zones: {FR: FR}}\n"
                   "    - {type: watttime, username: ops, password: env:WT_PASS, zones: {FR: FR}}\n")
    config = load_config_text(text, file="netwatt.yaml", environ={"EM_TOKEN": "em-s3cret", "WT_PASS": "wt-s3cret"})
    dumped = dump_config(config)
    assert "<secret env:EM_TOKEN>" in dumped
    assert "<secret env:WT_PASS>" in dumped
    for secret in ("em-s3cret", "wt-s3cret"):
        assert secret not in dumped
        assert secret not in repr(config)


def test_shipped_model_tables_load_and_every_row_names_its_source() -> None:
    directory = models_dir()
    power = load_power_models(directory / "power.yaml")
    assert power.default_psu_efficiency == 0.88
    assert all(row.source for row in power.models.values())
    footprints = load_footprints(directory / "embodied.yaml")
    assert footprints["generic-office-router"].pcf_kgco2e == 171.7
    assert all(fp.source for fp in footprints.values())
    assert {fp.provenance for fp in footprints.values()} <= {"vendor", "generic"}
