"""Report figures from hand-made stored intervals: totals, grouping, trajectory against the target."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.emissions.compute import Emission, FactorUse, Scope2
from agent.emissions.factors import Basis, Granularity, GridFactor, year_bounds
from agent.emissions.store import EmissionRow, insert_emissions
from agent.report.data import ReportData, build
from agent.report.render import as_csv, as_table
from agent.report.sections import Section, build_sections
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES

CONFIG = load_config_text(
    "version: 1\ncredentials: {}\nsites:\n  a: {timezone: UTC, grid_zone: FR}\n  b: {timezone: UTC, grid_zone: DE}\n"
    "emissions:\n  target: {baseline_from: 2025-01-01, baseline_to: 2025-01-02, reduction_pct: 45, "
    "target_year: 2030}\n",
    environ={})


def day(y: int, m: int, d: int) -> float:
    return float(calendar.timegm((y, m, d, 0, 0, 0)))


def row(device: str, site: str, start: float, wh: float, g_per_kwh: float) -> EmissionRow:
    factor = GridFactor(g_per_kwh, "ZZ", *year_bounds(2026), "test-src", "test", "r", Basis.DIRECT, "co2e",
                        Granularity.ANNUAL)
    grams = wh / 1000 * g_per_kwh
    use = FactorUse(factor, wh, grams, "grid")
    return EmissionRow(device, site, "ZZ", "measured", Emission(start, start + 900, wh, Scope2.LOCATION, grams, 0.0,
                                                                (use,)))


def stored(tmp_path: Path) -> Store:
    store = Store(tmp_path, tables=FEATURE_TABLES)
    rows = [row("x", "a", day(2025, 1, 1), 10_000.0, 100.0),           # baseline day: 1000 g
            row("x", "a", day(2026, 6, 1), 4_000.0, 100.0),            # reporting day: 400 + 400 = 800 g
            row("y", "b", day(2026, 6, 1) + 900, 1_000.0, 400.0)]
    store._db.execute("BEGIN")
    insert_emissions(store._db, rows)
    store._db.executemany("INSERT INTO energy_intervals VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(r.device, r.site, r.emission.start_s, r.emission.end_s, r.emission.wh, 900.0, "measured")
                          for r in rows])
    store._db.execute("COMMIT")
    return store


def first_of_june(tmp_path: Path, *, by: str) -> ReportData:
    """The report over 2026-06-01 (UTC) of the stored rows, grouped ``by``."""
    store = stored(tmp_path)
    try:
        return build(store, CONFIG, start_s=day(2026, 6, 1), end_s=day(2026, 6, 2), by=by)
    finally:
        store.close()


def test_totals_groups_and_trajectory_by_hand(tmp_path: Path) -> None:
    data = first_of_june(tmp_path, by="site")
    assert data.total.wh == pytest.approx(5000.0)
    assert data.total.location_g == pytest.approx(800.0)
    assert {k: g.location_g for k, g in data.groups.items()} == {"a": pytest.approx(400.0), "b": pytest.approx(400.0)}
    # the period's factor is energy-weighted: 800 g / 5 kWh = 160 g/kWh (not the mean of 100 and 400)
    assert data.total.location_g / (data.total.wh / 1000) == pytest.approx(160.0)
    assert data.total.market_inventory_g == pytest.approx(800.0)      # no contract data: location stands in
    tr = data.trajectory
    assert tr is not None
    # baseline 1 kg/day x 365.25 = 365.25 kg/yr; reporting 0.8 x 365.25 = 292.2 (-20 %); target x 0.55 = 200.8875;
    # 2026 is 1/5 of the way from 2025 to 2030: allowed 365.25 + (200.8875 - 365.25) x 0.2 = 332.3775
    assert tr.baseline_kg_year == pytest.approx(365.25)
    assert tr.reporting_kg_year == pytest.approx(292.2)
    assert tr.change_pct == pytest.approx(-20.0)
    assert tr.target_kg_year == pytest.approx(200.8875)
    assert tr.allowed_kg_year == pytest.approx(332.3775)
    assert tr.on_track


def test_a_feature_section_appended_after_the_built_ones_renders(tmp_path: Path) -> None:
    """What report/command.py does with the Wi-Fi savings section: appended after the built sections."""
    data = first_of_june(tmp_path, by="device")
    built = [*build_sections(data), Section("wifi", "Wi-Fi savings", text=["measured PoE delta"])]
    assert [s.id for s in built][-1] == "wifi"
    assert "Wi-Fi savings" in as_table(built)
    assert as_csv(built).startswith("section,device,energy kWh")


def test_days_are_the_chosen_time_zones(tmp_path: Path) -> None:
    """--timezone Europe/Paris: 2026-06-01 is 2026-05-31T22:00Z to 2026-06-01T22:00Z (summer time)."""
    import json  # noqa: PLC0415

    from agent.errors import NetwattError  # noqa: PLC0415
    from agent.report.command import report_text  # noqa: PLC0415
    store = stored(tmp_path)
    try:
        store._db.execute("BEGIN")                  # 23:00Z on 31 May: 01:00 on 1 June in Paris
        insert_emissions(store._db, [row("z", "a", day(2026, 6, 1) - 3600, 2_000.0, 100.0)])
        store._db.execute("INSERT INTO energy_intervals VALUES (?, ?, ?, ?, ?, ?, ?)",
                         ("z", "a", day(2026, 6, 1) - 3600, day(2026, 6, 1) - 2700, 2_000.0, 900.0, "measured"))
        store._db.execute("COMMIT")
        utc = json.loads(report_text(store, CONFIG, start="2026-06-01", end="2026-06-02", by="device",
                                     output_format="json"))
        paris = json.loads(report_text(store, CONFIG, start="2026-06-01", end="2026-06-02", by="device",
                                       output_format="json", timezone="Europe/Paris"))
        with pytest.raises(NetwattError, match="not an IANA time zone"):
            report_text(store, CONFIG, start="2026-06-01", end=None, by="site", output_format="json",
                        timezone="Mars/Olympus")
    finally:
        store.close()
    assert utc["report"]["timezone"] == "UTC"
    assert paris["report"] == {"from": "2026-06-01", "to": "2026-06-02", "by": "device", "timezone": "Europe/Paris"}
    assert utc["sections"]["summary"]["data"]["location_kgco2e"] == pytest.approx(0.8)
    # Paris's 1 June starts 2 h earlier: it takes z's interval (0.2 kg) and keeps x and y (00:00-00:30Z)
    assert paris["sections"]["summary"]["data"]["location_kgco2e"] == pytest.approx(1.0)
    assert set(paris["sections"]["breakdown"]["data"]) == {"x", "y", "z"}
    assert list(paris["sections"]["timeline"]["data"]) == ["2026-06-01"]
