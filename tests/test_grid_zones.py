"""Grid zones: which ones have a factor, what an unknown one probably meant, `netwatt factors zones`."""

from __future__ import annotations

import pytest

from agent.config.load import load_config_text
from agent.emissions.bundled import BundledFactors
from agent.emissions.zones import zone_table
from agent.errors import ConfigErrors
from agent.power.profile_files import load_builtin_profiles
from tests.agent_process import netwatt

TABLE = zone_table(BundledFactors(), frozenset({"XL-LIVE"}))
PROFILES = load_builtin_profiles()


@pytest.mark.parametrize("zone", ["FR", "gb", "GB-13", "US-CA", "US-ZZ", "NO-NO2", "XL-LIVE", " de "])
def test_zones_with_a_factor_or_a_provider_are_known(zone: str) -> None:
    assert TABLE.known(zone)
    assert TABLE.problem(zone) == ""


@pytest.mark.parametrize(("zone", "meant"), [
    ("UK", "'GB' (United Kingdom"), ("el", "'GR' (Greece)"), ("DEU", "'DE' (Germany)"), ("Germany", "'DE'"),
    ("USA", "'US' (United States)"),
])
def test_aliases_name_the_zone_meant(zone: str, meant: str) -> None:
    assert not TABLE.known(zone)
    assert f"unknown grid zone {zone!r}: did you mean {meant}" in TABLE.problem(zone)


def test_a_made_up_zone_gets_the_nearest_known_ones() -> None:
    problem = TABLE.problem("FRX")
    assert problem.startswith("unknown grid zone 'FRX': no factor for it")
    assert "nearest known zones: FR (France)" in problem
    assert "`netwatt factors zones` lists every zone" in problem


def test_an_operator_factor_for_all_time_makes_the_zone_unneeded() -> None:
    text = ("version: 1\nsites:\n  lab: {grid_zone: ZZ}\nemissions:\n  sites:\n    lab:\n"
            "      location_factor: {value: 300, source: supplier invoice 2026}\n")
    assert load_config_text(text, environ={}, builtin_profiles=PROFILES).sites["lab"].grid_zone == "ZZ"
    dated = text.replace("2026}", "2026, from: 2026-01-01}")
    with pytest.raises(ConfigErrors) as caught:
        load_config_text(dated, file="t.yaml", environ={}, builtin_profiles=PROFILES)
    assert str(caught.value).startswith("t.yaml:3: sites.lab.grid_zone: site lab: unknown grid zone 'ZZ'")


def test_a_zone_a_provider_maps_is_accepted() -> None:
    text = ("version: 1\nsites:\n  lab: {grid_zone: XL-LIVE}\nemissions:\n  providers:\n"
            "    - {type: uk_carbon_intensity, zones: {XL-LIVE: '13'}}\n")
    assert load_config_text(text, environ={}, builtin_profiles=PROFILES).sites["lab"].grid_zone == "XL-LIVE"


def test_factors_zones_lists_every_zone_with_its_other_spellings() -> None:
    result = netwatt("factors", "zones")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(rows) == set(BundledFactors().zones())
    assert "UK" in rows["GB"].split(", ") or " UK," in rows["GB"]
    assert "EL" in rows["GR"]
    assert "Norway" in rows["NO"]


def test_factors_show_for_an_unknown_zone_is_a_usage_error_naming_the_zone_meant() -> None:
    result = netwatt("factors", "show", "--zone", "UK", "--day", "2026-01-01")
    assert result.returncode == 2
    assert "--zone: unknown grid zone 'UK': did you mean 'GB'" in result.stderr
    known = netwatt("factors", "show", "--zone", "GB", "--day", "2026-01-01")
    assert known.returncode == 0, known.stderr
    assert "zone: GB\n" in known.stdout
