"""Emissions as InfluxDB points (schema in shared/design.md, extended with the factor's provenance).

emissions: tags site, device, grid_zone, scope2_method, factor_source, factor_basis, factor_granularity,
           energy_method; fields gco2e, factor_g_per_kwh, wh, overhead_gco2e, factor_estimated,
           factor_forecast, factor_dataset, factor_release, factor_period, factor_note (when any).
embodied:  tags site, device, model, provenance; fields gco2e (amortised over the interval), per_day_g.
One point per interval and Scope 2 method, at the interval's start. ``factor_source`` names the
factor that carried most of the interval's energy; the store keeps every factor used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.emissions.embodied import Footprint
from agent.emissions.store import EmissionRow
from agent.energy import EnergyInterval
from agent.points.lineprotocol import Point


def emission_points(rows: list[EmissionRow]) -> list[Point]:
    points = []
    for row in rows:
        e = row.emission
        factor = e.main.factor
        notes = sorted({u.factor.note for u in e.uses if u.factor.note})
        fields: dict[str, float | int | bool | str] = {
            "gco2e": float(e.gco2e), "factor_g_per_kwh": float(e.factor_g_per_kwh), "wh": float(e.wh),
            "overhead_gco2e": float(e.overhead_gco2e),
            "factor_estimated": any(u.factor.estimated for u in e.uses),
            "factor_forecast": any(u.factor.forecast for u in e.uses),
            "factor_dataset": factor.dataset, "factor_release": factor.release, "factor_period": factor.period(),
        }
        if notes:
            fields["factor_note"] = "; ".join(notes)
        points.append(Point(
            "emissions",
            {"site": row.site, "device": row.device, "grid_zone": row.zone, "scope2_method": str(e.method),
             "factor_source": factor.source, "factor_basis": str(factor.basis),
             "factor_granularity": str(factor.granularity), "energy_method": row.energy_method},
            fields, datetime.fromtimestamp(e.start_s, UTC)))
    return points


def embodied_points(site: str, device: str, footprint: Footprint, intervals: list[EnergyInterval], *,
                    default_lifetime_years: float) -> list[Point]:
    return [Point("embodied", {"site": site, "device": device, "model": footprint.model,
                               "provenance": footprint.provenance},
                  {"gco2e": footprint.amortised_g(i.end_s - i.start_s, default_lifetime_years),
                   "per_day_g": footprint.per_day_g(default_lifetime_years)},
                  datetime.fromtimestamp(i.start_s, UTC))
            for i in intervals]
