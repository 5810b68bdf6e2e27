"""The Wi-Fi savings section of ``netwatt report``: radio-off hours, kWh and CO2e avoided per group.

The avoided energy comes from the Wi-Fi audit (measured PoE delta, or a labelled estimate); its CO2e
uses the period's energy-weighted location-based factor of the fleet, so it is stated as such.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.config.load import Config
from agent.report.data import ReportData
from agent.report.sections import Section, Table
from agent.store.sqlite import Store
from agent.wifi.savings import wifi_report
from agent.wifi.store import WifiStore


def wifi_section(store: Store, config: Config, data: ReportData) -> Section | None:
    if config.wifi is None:
        return None
    factor = data.total.location_g_per_kwh()
    figures = wifi_report(WifiStore(store), config.wifi, datetime.fromtimestamp(data.start_s, UTC),
                          datetime.fromtimestamp(data.end_s, UTC), factor_g_per_kwh=factor)
    groups = figures["groups"]
    assert isinstance(groups, list)
    rows: list[list[str | float | int | None]] = [
        [g["group"], g["off_hours"], g["kwh_avoided"], g["co2e_g"],
         ", ".join(f"{m} {v}" for m, v in g["methods"].items())] for g in groups]
    basis = (f"CO2e at the period's energy-weighted location-based factor, {factor:.1f} g/kWh" if factor
             else "no location-based factor in the period: CO2e not computed")
    return Section(id="wifi", title="On-demand Wi-Fi savings",
                   text=[f"Energy avoided by switching radios off: {figures['kwh_avoided']} kWh; {basis}. "
                         "Measured = PoE draw of the AP's switch port before vs after; estimated = per-model "
                         "figure from the config."],
                   tables=[Table(["group", "radio-off hours", "kWh avoided", "g CO2e avoided", "kWh by method"],
                                 rows)],
                   data=figures)
