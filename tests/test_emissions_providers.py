"""Live factor providers against recorded replies served on 127.0.0.1; outage -> recorded fallback."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.emissions.bundled import BundledFactors
from agent.emissions.compute import location_based
from agent.emissions.factors import Granularity, Signal
from agent.emissions.fetch import FactorFetcher
from agent.emissions.resolve import Resolver
from agent.emissions.settings import EmissionsSettings
from agent.emissions.store import FactorCache
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.views.status import status_json, status_table
from tests.harness.recorded_http import FIXTURES, RecordedApi

NOW = float(calendar.timegm((2026, 3, 1, 10, 40, 0)))
T10 = float(calendar.timegm((2026, 3, 1, 10, 0, 0)))


@pytest.fixture
def api() -> Iterator[RecordedApi]:
    with RecordedApi() as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> FactorCache:
    return FactorCache(Store(tmp_path, tables=FEATURE_TABLES))


def settings(providers: str, env: dict[str, str] | None = None) -> EmissionsSettings:
    text = ("version: 1\ncredentials: {}\nsites:\n  london: {timezone: Europe/London, grid_zone: GB-13}\n"
            "  paris: {timezone: Europe/Paris, grid_zone: FR}\n  sf: {timezone: UTC, grid_zone: US-CA}\n"
            f"emissions:\n  providers:\n{providers}")
    return load_config_text(text, environ=env or {}).emissions


async def test_uk_regional_forecast_is_cached_by_the_period_it_describes(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/regional/intensity/2026-03-01T04:30Z/2026-03-01T12:00Z/regionid/13", "ukci_regional_13.json")
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{api.url}', zones: {{GB-13: '13'}}}}\n")
    assert await FactorFetcher(s, cache).refresh(NOW) == 2
    [request] = api.requests
    assert "Content-Type" not in request.headers            # a Content-Type on GET makes the API answer 400
    assert request.headers["Accept"] == "application/json"
    factor = cache.find("GB-13", T10 + 60)
    assert factor is not None
    assert (factor.g_per_kwh, factor.source, factor.granularity, factor.forecast, factor.gas) == (
        180.0, "ukci-region-13", Granularity.HALF_HOURLY, True, "co2")
    assert factor.period() == "2026-03-01T10:00Z/2026-03-01T10:30Z"
    # 10:15-10:45, 100 Wh: 50 Wh x 180 + 50 Wh x 200 = 9 + 10 = 19 g
    resolver = Resolver(s, BundledFactors(), cache)
    e = location_based(T10 + 900, T10 + 2700, 100.0, resolver.factor_at("london", "GB-13"))
    assert e.gco2e == pytest.approx(19.0)


async def test_uk_national_prefers_actual_and_drops_duplicate_slots(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/intensity/2026-03-01T04:30Z/2026-03-01T12:00Z", "ukci_national.json")
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{api.url}', zones: {{GB: national}}}}\n")
    assert await FactorFetcher(s, cache).refresh(NOW) == 2
    first, second = cache.find("GB", T10), cache.find("GB", T10 + 1800)
    assert first is not None
    assert second is not None
    assert (first.g_per_kwh, first.forecast) == (263.0, False)      # actual wins over forecast 266
    assert (second.g_per_kwh, second.forecast) == (250.0, True)     # no actual yet: the forecast, flagged


async def test_outage_falls_back_to_the_bundled_factor_with_the_reason(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/intensity/2026-03-01T04:30Z/2026-03-01T12:00Z", "ukci_500.json", status=500)
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{api.url}', zones: {{GB: national}}}}\n")
    assert await FactorFetcher(s, cache).refresh(NOW) == 0
    assert cache.statuses()[0].last_error == "HTTP 500: Requested resource not found"
    factor = Resolver(s, BundledFactors(), cache).factor_at("x", "GB")(T10)
    assert factor.source == "desnz-gb-2025"                         # the UK override of the bundled table
    assert "fallback to the bundled factor; uk_carbon_intensity: HTTP 500: Requested resource not found" in factor.note


async def test_unreachable_provider_is_recorded_too(cache: FactorCache) -> None:
    with RecordedApi() as down:
        url = down.url
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{url}', zones: {{GB: national}}}}\n")
    await FactorFetcher(s, cache).refresh(NOW)
    assert cache.statuses()[0].last_error.startswith("no answer")
    assert "no answer" in Resolver(s, BundledFactors(), cache).factor_at("x", "GB")(T10).note


async def test_electricity_maps_hourly_rows_skip_nulls_and_keep_estimates(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/v3/carbon-intensity/past-range", "em_past_range.json")
    s = settings(f"    - {{type: electricity_maps, url: '{api.url}', token: env:EM_TOKEN, zones: {{FR: FR}}}}\n",
                 {"EM_TOKEN": "s3cret-token"})
    assert await FactorFetcher(s, cache).refresh(NOW) == 2
    [request] = api.requests
    assert request.headers["auth-token"] == "s3cret-token"
    assert request.query["emissionFactorType"] == ["direct"]
    hour10, hour12 = cache.find("FR", T10 + 10), cache.find("FR", T10 + 7200)
    assert hour10 is not None
    assert hour12 is not None
    assert (hour10.g_per_kwh, hour10.granularity, hour10.estimated, str(hour10.basis)) == (
        83.0, Granularity.HOURLY, False, "direct")
    assert (hour12.g_per_kwh, hour12.estimated) == (91.0, True)
    assert cache.find("FR", T10 + 3600) is None                     # the null hour: nothing invented


async def test_electricity_maps_bad_token_is_recorded_without_the_token(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/v3/carbon-intensity/past-range", "em_401.json", status=401)
    s = settings(f"    - {{type: electricity_maps, url: '{api.url}', token: env:EM_TOKEN, zones: {{FR: FR}}}}\n",
                 {"EM_TOKEN": "s3cret-token"})
    await FactorFetcher(s, cache).refresh(NOW)
    error = cache.statuses()[0].last_error
    assert error.startswith("HTTP 401: Unauthorized")
    assert "s3cret" not in error


async def test_watttime_marginal_signal_is_cached_but_never_an_inventory_factor(
        api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/login", "wt_login.json")
    api.reply_file("/v3/historical", "wt_historical.json")
    s = settings(f"    - {{type: watttime, url: '{api.url}', username: ops, password: env:WT_PASS, "
                 "zones: {US-CA: CAISO_NORTH}}\n", {"WT_PASS": "pw-secret"})
    assert await FactorFetcher(s, cache).refresh(NOW) == 2
    assert api.requests[1].headers["Authorization"] == "Bearer recorded-test-token"
    moer = cache.find("US-CA", T10, Signal.MARGINAL)
    assert moer is not None
    assert moer.g_per_kwh == pytest.approx(900.0 * 0.45359237)      # 900 lb/MWh = 408.233 g/kWh
    assert cache.find("US-CA", T10) is None
    location = Resolver(s, BundledFactors(), cache).factor_at("sf", "US-CA")(T10)
    assert location.source == "egrid-us-ca-2023"                    # the inventory factor: eGRID, not MOER
    assert location.note == "no 2026 value in the table: the 2023 factor is used"


async def test_watttime_percentile_is_refused_not_multiplied(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/login", "wt_login.json")
    api.reply_file("/v3/historical", "wt_index.json")
    s = settings(f"    - {{type: watttime, url: '{api.url}', username: ops, password: env:WT_PASS, "
                 "zones: {US-CA: CAISO_NORTH}}\n", {"WT_PASS": "pw-secret"})
    assert await FactorFetcher(s, cache).refresh(NOW) == 0
    assert "not a rate" in cache.statuses()[0].last_error


def test_status_shows_each_provider_and_its_last_error(tmp_path: Path) -> None:
    store = Store(tmp_path, tables=FEATURE_TABLES)
    try:
        FactorCache(store).note_attempt("uk_carbon_intensity", "GB", NOW, "HTTP 500: Requested resource not found")
        assert status_json(store)["grid_factor_providers"] == [
            {"provider": "uk_carbon_intensity", "zone": "GB", "last_attempt": NOW, "last_ok": None,
             "last_error": "HTTP 500: Requested resource not found"}]
        assert "HTTP 500: Requested resource not found" in status_table(store)
    finally:
        store.close()


async def test_entsoe_generation_mix_becomes_an_intensity(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/api", "entsoe_a75.xml")
    s = entsoe_settings(api)
    assert await FactorFetcher(s, cache).refresh(NOW) == 4
    [request] = api.requests
    assert request.query["in_Domain"] == ["10YFR-RTE------C"]
    assert request.query["periodStart"] == ["202603010430"]
    # 10:00: gas 1000 MW x 743 + nuclear 3000 x 29 over 4000 MW = 207.5 g/kWh; "other" 100 MW has no factor:
    # left out (100 / 4100 = 2.4 %), never counted as 0 g; pumping (consumption) ignored
    first = cache.find("FR", T10)
    assert first is not None
    assert (first.g_per_kwh, first.granularity, str(first.basis)) == (207.5, Granularity.QUARTER_HOURLY, "lifecycle")
    assert "2.4% of generation of types without a factor left out" in first.note
    # 10:15: A03 curve, position 2 missing: gas repeats 1000 MW -> 207.5; 10:30: gas 2000 -> (1486000 + 87000) / 5000
    second, third = cache.find("FR", T10 + 900), cache.find("FR", T10 + 1800)
    assert second is not None
    assert third is not None
    assert (second.g_per_kwh, third.g_per_kwh) == (207.5, 314.6)


async def test_entsoe_no_data_acknowledgement_is_the_recorded_reason(api: RecordedApi, cache: FactorCache) -> None:
    api.reply_file("/api", "entsoe_no_data.xml")
    s = entsoe_settings(api)
    await FactorFetcher(s, cache).refresh(NOW)
    error = cache.statuses()[0].last_error
    assert error.startswith("No matching data found for Data item ACTUAL_GENERATION_PER_PRODUCTION_TYPE")
    assert "entsoe-s3cret" not in error
    assert "No matching data found" in Resolver(s, BundledFactors(), cache).factor_at("paris", "FR")(T10).note


def entsoe_settings(api: RecordedApi) -> EmissionsSettings:
    return settings(f"    - {{type: entsoe, url: '{api.url}', token: env:ENTSOE_TOKEN, "
                    "zones: {FR: '10YFR-RTE------C'}}\n", {"ENTSOE_TOKEN": "entsoe-s3cret"})


async def test_a_reply_of_an_unexpected_shape_is_recorded_not_raised(api: RecordedApi, cache: FactorCache) -> None:
    api.reply("/intensity/*", 200, '{"data": [1, 2]}')
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{api.url}', zones: {{GB: national}}}}\n")
    assert await FactorFetcher(s, cache).refresh(NOW) == 0
    assert cache.statuses()[0].last_error.startswith("unreadable reply")


async def test_a_published_value_that_cannot_be_an_intensity_is_refused(api: RecordedApi, cache: FactorCache) -> None:
    body = (FIXTURES / "ukci_national.json").read_text().replace('"actual":263', '"actual":-5').replace(
        '"forecast":250', '"forecast":25000')
    assert "-5" in body
    assert "25000" in body
    api.reply("/intensity/2026-03-01T04:30Z/2026-03-01T12:00Z", 200, body)
    s = settings(f"    - {{type: uk_carbon_intensity, url: '{api.url}', zones: {{GB: national}}}}\n")
    assert await FactorFetcher(s, cache).refresh(NOW) == 0
    assert cache.find("GB", T10) is None
    assert cache.find("GB", T10 + 1800) is None
    [status] = cache.statuses()
    error = status.last_error
    assert error.startswith("2 value(s) refused: ")
