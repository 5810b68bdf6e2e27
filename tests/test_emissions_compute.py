"""Scope 2 formulas against hand-computed values: units, splitting, gaps, both methods, overhead."""

from __future__ import annotations

import calendar

import pytest

from agent.emissions.bundled import BundledFactors
from agent.emissions.compute import Scope2, location_based, market_based
from agent.emissions.factors import (
    Basis,
    FactorError,
    Granularity,
    GridFactor,
    energy_weighted,
    to_g_per_kwh,
    year_bounds,
)
from agent.emissions.settings import Contract, OperatorFactor, SiteEmissions
from agent.energy import EnergyState, Sample, integrate
from agent.power.readings import Method


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, 0)))


def factor(value: float, start: float, end: float, gran: Granularity = Granularity.HALF_HOURLY,
           source: str = "test") -> GridFactor:
    return GridFactor(value, "ZZ", start, end, source, "test-dataset", "r1", Basis.DIRECT, "co2e", gran)


def table(*factors: GridFactor):  # type: ignore[no-untyped-def]
    def lookup(t: float) -> GridFactor:
        return next(f for f in factors if f.covers(t))
    return lookup


def annual(value: float, year: int = 2026) -> GridFactor:
    return factor(value, *year_bounds(year), gran=Granularity.ANNUAL)


# -- units --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "expected"), [
    (394.8, "lb/MWh", 179.078268),        # eGRID2023 California: 394.8 x 453.59237 / 1000
    (1968.9, "lbs/MWh", 893.078017),      # West Virginia: 1968.9 x 0.45359237
    (0.177, "kgCO2e/kWh", 177.0),         # DESNZ 2025
    (380.95, "kg/MWh", 380.95),
    (56.0, "gCO2eq/kWh", 56.0),
    (0.5, "t/MWh", 500.0),
])
def test_units_convert_to_g_per_kwh(value: float, unit: str, expected: float) -> None:
    assert to_g_per_kwh(value, unit) == pytest.approx(expected, abs=1e-6)


def test_an_unknown_unit_is_an_error_never_a_guess() -> None:
    with pytest.raises(FactorError, match="unknown emission factor unit 'g/MJ'"):
        to_g_per_kwh(1.0, "g/MJ")


def test_factors_average_by_energy_not_by_count() -> None:
    # 100 Wh at 100 g/kWh and 300 Wh at 300 g/kWh: (10 + 90) g / 0.4 kWh = 250 g/kWh, not (100+300)/2
    assert energy_weighted([(100.0, 100.0), (300.0, 300.0)]) == pytest.approx(250.0)
    assert energy_weighted([(0.0, 100.0)]) is None


# -- location-based ------------------------------------------------------------------------------

def test_one_annual_factor() -> None:
    # 100 Wh x 56 g/kWh = 0.1 kWh x 56 = 5.6 g
    e = location_based(at(2026, 3, 1, 10), at(2026, 3, 1, 10, 15), 100.0, table(annual(56.0)))
    assert e.gco2e == pytest.approx(5.6)
    assert e.factor_g_per_kwh == pytest.approx(56.0)
    assert e.method is Scope2.LOCATION
    assert e.overhead_gco2e == 0.0


def test_interval_split_across_half_hour_factors() -> None:
    # [10:15, 10:45), 200 Wh spread evenly: 100 Wh in 10:00-10:30 at 100 g/kWh = 10 g,
    # 100 Wh in 10:30-11:00 at 300 g/kWh = 30 g; total 40 g; factor 40 g / 0.2 kWh = 200 g/kWh
    lookup = table(factor(100.0, at(2026, 3, 1, 10), at(2026, 3, 1, 10, 30)),
                   factor(300.0, at(2026, 3, 1, 10, 30), at(2026, 3, 1, 11)))
    e = location_based(at(2026, 3, 1, 10, 15), at(2026, 3, 1, 10, 45), 200.0, lookup)
    assert [u.wh for u in e.uses] == pytest.approx([100.0, 100.0])
    assert [u.gco2e for u in e.uses] == pytest.approx([10.0, 30.0])
    assert e.gco2e == pytest.approx(40.0)
    assert e.factor_g_per_kwh == pytest.approx(200.0)


def test_interval_split_across_a_new_year_takes_each_years_bundled_factor() -> None:
    # FR bundled: 2023 56.039, 2024 44.2 (OWID/Ember). 100 Wh over 23:45-00:15: 50 Wh each side.
    # 0.05 kWh x 56.039 = 2.80195 g; 0.05 x 44.2 = 2.21 g; total 5.01195 g
    bundled = BundledFactors()
    e = location_based(at(2023, 12, 31, 23, 45), at(2024, 1, 1, 0, 15), 100.0,
                       lambda t: bundled.lookup("FR", t))
    assert [u.factor.source for u in e.uses] == ["owid-fr-2023", "owid-fr-2024"]
    assert e.gco2e == pytest.approx(2.80195 + 2.21, abs=1e-4)


def test_a_gap_gives_emissions_for_the_measured_energy_only() -> None:
    # 120 W sampled every 100 s from 0 to 300 s, silence until 700 s (400 s > max_gap 200 s), again to 900 s.
    # Covered 300 + 200 = 500 s of the 900 s interval: 120 W x 500 s = 16.667 Wh, coverage 0.556.
    # At 300 g/kWh: 0.0166667 kWh x 300 = 5.0 g (no energy, no emissions, invented for the gap)
    state = EnergyState()
    closed = []
    for t, p in [(t, 120.0) for t in (0, 100, 200, 300, 700, 800, 900, 960)]:
        state, done = integrate(state, Sample(t, p, Method.MEASURED), interval_s=900, max_gap_s=200)
        closed += done
    [interval] = closed
    assert interval.wh == pytest.approx(120 * 500 / 3600)
    assert interval.coverage == pytest.approx(500 / 900)
    e = location_based(interval.start_s, interval.end_s, interval.wh, table(factor(300.0, 0, 3600)))
    assert e.gco2e == pytest.approx(5.0)


def test_overhead_is_a_separate_figure() -> None:
    # 5.6 g of device emissions at overhead 1.5: 2.8 g for cooling/UPS, reported apart
    e = location_based(at(2026, 3, 1), at(2026, 3, 1, 0, 15), 100.0, table(annual(56.0)), overhead=1.5)
    assert e.gco2e == pytest.approx(5.6)
    assert e.overhead_gco2e == pytest.approx(2.8)


def test_a_factor_that_does_not_cover_the_time_is_refused() -> None:
    with pytest.raises(FactorError, match="does not cover"):
        location_based(at(2026, 3, 1), at(2026, 3, 1, 1), 1.0, lambda t: factor(1.0, 0.0, 10.0))


# -- market-based ---------------------------------------------------------------------------------

def op(value: float, source: str, start: float | None = None, end: float | None = None) -> OperatorFactor:
    return OperatorFactor(value, source, f"{value} g/kWh", start_s=start, end_s=end)


def test_market_based_contract_share_and_residual_mix() -> None:
    # 1000 Wh; certificates cover 60 % at 0 g; the 40 % left takes the residual mix 400 g/kWh:
    # 0.6 x 0 + 0.4 kWh x 400 = 160 g. Location-based with the grid's 56 g/kWh: 56 g. Two figures.
    site = SiteEmissions(contracts=(Contract("go-2026", "eac", 0.6, op(0.0, "GO certificates 2026")),),
                         residual_mix=op(400.0, "AIB residual mix 2025"))
    grid = table(annual(56.0))
    start, end = at(2026, 3, 1), at(2026, 3, 1, 0, 15)
    market = market_based(start, end, 1000.0, grid, site, site_name="paris", zone="FR")
    location = location_based(start, end, 1000.0, grid)
    assert market.method is Scope2.MARKET
    assert market.gco2e == pytest.approx(160.0)
    assert location.gco2e == pytest.approx(56.0)
    assert {u.role: u.wh for u in market.uses} == {"contract:go-2026": pytest.approx(600.0),
                                                   "residual_mix": pytest.approx(400.0)}
    assert market.factor_g_per_kwh == pytest.approx(160.0)


def test_market_based_without_residual_mix_uses_the_grid_average_and_says_so() -> None:
    # 40 % uncovered x 1000 Wh x 56 g/kWh = 22.4 g, flagged
    site = SiteEmissions(contracts=(Contract("supplier", "supplier", 0.6, op(0.0, "supplier disclosure 2026")),))
    market = market_based(at(2026, 3, 1), at(2026, 3, 1, 0, 15), 1000.0, table(annual(56.0)), site,
                          site_name="paris", zone="FR")
    assert market.gco2e == pytest.approx(22.4)
    residual = next(u for u in market.uses if u.role == "grid_for_residual")
    assert "no residual mix configured" in residual.factor.note


def test_a_contract_ending_mid_interval_splits_it() -> None:
    # 100 % renewable PPA until 2026-01-01 00:00; interval 2025-12-31 23:30 to 00:30, 1000 Wh:
    # first 500 Wh at 0, last 500 Wh at residual 400 g/kWh = 200 g
    site = SiteEmissions(contracts=(Contract("ppa", "ppa", 1.0, op(0.0, "PPA 2025", end=at(2026, 1, 1))),),
                         residual_mix=op(400.0, "AIB residual mix"))
    grid = table(annual(50.0, 2025), annual(50.0, 2026))
    market = market_based(at(2025, 12, 31, 23, 30), at(2026, 1, 1, 0, 30), 1000.0, grid, site,
                          site_name="s", zone="FR")
    assert market.gco2e == pytest.approx(200.0)


def test_over_claimed_contracts_cover_all_energy_once() -> None:
    # two contracts of 80 % each at 100 and 300 g/kWh: scaled to 50/50 of 1000 Wh = 50 + 150 = 200 g
    site = SiteEmissions(contracts=(Contract("a", "supplier", 0.8, op(100.0, "a")),
                                    Contract("b", "supplier", 0.8, op(300.0, "b"))))
    market = market_based(at(2026, 3, 1), at(2026, 3, 1, 0, 15), 1000.0, table(annual(56.0)), site,
                          site_name="s", zone="FR")
    assert market.gco2e == pytest.approx(200.0)
    assert sum(u.wh for u in market.uses) == pytest.approx(1000.0)
