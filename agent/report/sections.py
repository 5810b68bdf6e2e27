"""The report as a list of sections: each turns ReportData into plain content (text, tables, charts)
that every renderer (table, csv, json, html) knows how to draw.

``SECTIONS`` is the ordered list of section builders over ``ReportData``; a builder returns None when it
has nothing to say for the period. A feature's section that needs more than ``ReportData`` (Wi-Fi savings
needs the store and the config) is appended by ``agent/report/command.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.report.data import ReportData, Totals, local_day

Cell = str | float | int | None


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]


@dataclass
class Chart:
    kind: str                                   # "bar" (grouped), "line"
    title: str
    unit: str
    labels: list[str]
    series: list[tuple[str, list[float | None]]]


@dataclass
class Section:
    id: str
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)      # machine-readable figures (json)


Builder = Callable[[ReportData], Section | None]


def kg(grams: float) -> float:
    return round(grams / 1000.0, 6)


def kwh(wh: float) -> float:
    return round(wh / 1000.0, 6)


def mass(grams: float) -> str:
    """Readable CO2e: grams below a kilogram (a short period), kilograms above."""
    return f"{grams:.3g} g" if abs(grams) < 1000 else f"{grams / 1000:,.3f} kg"


def pct(share: float | None) -> float | None:
    return None if share is None else round(share * 100.0, 1)


def _totals_json(t: Totals, has_market: bool) -> dict[str, Any]:
    return {"energy_kwh": kwh(t.wh), "location_kgco2e": kg(t.location_g),
            "market_kgco2e": kg(t.market_g) if has_market else None, "market_energy_kwh": kwh(t.market_wh),
            "market_inventory_kgco2e": kg(t.market_inventory_g) if has_market else None,
            "overhead_location_kgco2e": kg(t.overhead_location_g), "coverage_pct": pct(t.coverage()),
            "without_factor_kwh": kwh(t.unfactored_wh), "without_factor_pct": pct(t.unfactored_share()),
            "measured_pct": pct(t.share("measured")), "derived_pct": pct(t.share("derived")),
            "estimated_pct": pct(t.share("estimated"))}


def summary(d: ReportData) -> Section:
    t = d.total
    market = (f"{mass(t.market_g)} CO2e market-based for the {kwh(t.market_wh):,.3f} kWh at sites with "
              f"contract data, {mass(t.market_inventory_g)} CO2e market-based for the inventory (location-based "
              "standing in for energy without contract data)" if d.has_market
              else "market-based: not computed (no site has contract or residual-mix data)")
    share = d.embodied_share
    period = (f"Period {local_day(d.start_s, d.timezone)} to {local_day(d.end_s, d.timezone)} ({d.timezone}, end "
              "exclusive).")
    data = {**_totals_json(t, d.has_market), "embodied_amortised_kgco2e": kg(d.embodied_amortised_g),
            "embodied_share_pct": pct(share), "from": local_day(d.start_s, d.timezone),
            "to": local_day(d.end_s, d.timezone), "no_data": not t.span_s}
    if not t.span_s:
        return Section("summary", "Summary", text=[
            period, "No data: the store holds no energy interval in this period (no figure is shown rather "
            "than a zero; `netwatt status` shows what the agent has polled)."], data=data)
    unfactored = ([f"Energy without a factor: {kwh(t.unfactored_wh):,.3f} kWh ({pct(t.unfactored_share())} % of "
                   f"the energy; sites {', '.join(d.sites_without_factor)}) has no usable grid factor: it is not in "
                   "the CO2e figures (never counted as 0 g); set the site's grid_zone or an operator factor."]
                  if t.unfactored_wh > 0 else [])
    return Section("summary", "Summary", text=[
        period,
        f"Energy {kwh(t.wh):,.3f} kWh; Scope 2 location-based {mass(t.location_g)} CO2e; {market}.",
        *unfactored,
        "The two Scope 2 figures are alternative views of the same energy: never add them.",
        f"Overhead (site PUE-like multipliers, reported apart): {mass(t.overhead_location_g)} CO2e.",
        f"Coverage: {pct(t.coverage())} % of device-time sampled; of the energy, "
        f"measured {pct(t.share('measured'))} %, derived {pct(t.share('derived'))} %, "
        f"estimated {pct(t.share('estimated'))} %.",
        f"Embodied (Scope 3 cat. 2, amortised over the period): {mass(d.embodied_amortised_g)} CO2e"
        + (f", {pct(share)} % of location-based + embodied." if share is not None else "."),
    ], data=data)


def breakdown(d: ReportData) -> Section:
    headers = [d.by, "energy kWh", "location kg CO2e", "market kg CO2e", "factor g/kWh (location)",
               "no factor %", "coverage %", "measured %", "derived %", "estimated %"]
    rows: list[list[Cell]] = []
    for name, t in sorted(d.groups.items()):
        factor = t.location_g_per_kwh()
        rows.append([name, kwh(t.wh), kg(t.location_g) if factor is not None else None,
                     kg(t.market_g) if t.market_wh else None, None if factor is None else round(factor, 2),
                     pct(t.unfactored_share()), pct(t.coverage()),
                     pct(t.share("measured")), pct(t.share("derived")), pct(t.share("estimated"))])
    labels = [str(r[0]) for r in rows]
    series: list[tuple[str, list[float | None]]] = [("location-based", [None if r[2] is None else float(r[2])
                                                                         for r in rows])]
    if d.has_market:
        series.append(("market-based", [None if r[3] is None else float(r[3]) for r in rows]))
    return Section("breakdown", f"By {d.by}", tables=[Table(headers, rows)],
                   charts=[Chart("bar", f"Scope 2 by {d.by}", "kg CO2e", labels, series)],
                   data={name: _totals_json(t, d.has_market) for name, t in sorted(d.groups.items())})


def timeline(d: ReportData) -> Section | None:
    if not d.daily:
        return None
    labels = list(d.daily)
    series: list[tuple[str, list[float | None]]] = [
        ("location-based", [kg(t.location_g) for t in d.daily.values()])]
    if d.has_market:
        series.append(("market-based", [kg(t.market_g) for t in d.daily.values()]))
    energy = Chart("bar", "Energy per day", "kWh", labels, [("energy", [kwh(t.wh) for t in d.daily.values()])])
    table = Table([f"day ({d.timezone})", "energy kWh", "location kg CO2e", "market kg CO2e", "coverage %"],
                  [[k, kwh(t.wh), kg(t.location_g), kg(t.market_g) if t.market_wh else None, pct(t.coverage())]
                   for k, t in d.daily.items()])
    return Section("timeline", "Per day", tables=[table],
                   charts=[Chart("line", "Scope 2 per day", "kg CO2e", labels, series), energy],
                   data={k: _totals_json(t, d.has_market) for k, t in d.daily.items()})


def coverage(d: ReportData) -> Section:
    t = d.total
    methods = ["measured", "derived", "estimated", "unknown"]
    rows: list[list[Cell]] = [[m, kwh(t.wh_by_method.get(m, 0.0)), pct(t.share(m))] for m in methods]
    # not a method: the part of the energy above that has no grid factor, hence no CO2e
    rows.append(["energy without a factor", kwh(t.unfactored_wh), pct(t.unfactored_share())])
    text = ["measured: a device reading of input power; derived: computed from device readings (V x I, output / "
            "PSU efficiency); estimated: model data (calibrated base power, PoE / PSU efficiency). Estimated energy "
            "is never presented as measured."]
    if d.devices_without_power:
        text.append("Devices with intervals but no energy: " + ", ".join(d.devices_without_power))
    return Section("coverage", "Coverage: measured vs derived vs estimated", text=text,
                   tables=[Table(["method", "energy kWh", "share %"], rows)],
                   charts=[Chart("bar", "Energy by method", "kWh", methods,
                                 [("energy", [kwh(t.wh_by_method.get(m, 0.0)) for m in methods])])],
                   data={"coverage_pct": pct(t.coverage()), "without_factor_kwh": kwh(t.unfactored_wh),
                         **{f"{m}_kwh": kwh(t.wh_by_method.get(m, 0.0)) for m in methods}})


def factors(d: ReportData) -> Section:
    rows: list[list[Cell]] = [[f.scope2_method, f.source, f.dataset, f.release, f.basis, f.gas, f.granularity,
                               kwh(f.wh), None if f.g_per_kwh is None else round(f.g_per_kwh, 3),
                               "; ".join(sorted(f.notes))] for f in d.factors]
    return Section("factors", "Grid factors used", text=[
        "Each row is one factor source, the energy it was applied to and its energy-weighted value. 'lifecycle' "
        "factors include upstream emissions (label them when reporting Scope 2); 'direct' are generation only."],
        tables=[Table(["scope 2", "source", "dataset", "release", "basis", "gas", "granularity", "energy kWh",
                       "g/kWh (weighted)", "notes"], rows)],
        data={"factors": [dict(zip(["scope2_method", "source", "dataset", "release", "basis", "gas", "granularity",
                                    "energy_kwh", "g_per_kwh", "notes"], r, strict=True)) for r in rows]})


def embodied(d: ReportData) -> Section | None:
    if not d.embodied:
        return None
    rows: list[list[Cell]] = [[e.device, e.model, e.footprint.model, e.footprint.provenance,
                               round(e.footprint.cradle_to_gate_kgco2e, 3), kg(e.amortised_g), kg(e.inventory_g),
                               e.footprint.source] for e in d.embodied]
    return Section("embodied", "Embodied emissions (Scope 3, category 2)", text=[
        "Inventory: the full cradle-to-gate footprint in the acquisition year (configure emissions.acquired). "
        "Dashboards: the footprint less its use phase, spread per day over the lifetime."],
        tables=[Table(["device", "model", "footprint row", "provenance", "cradle-to-gate kg", "amortised kg",
                       "inventory kg (acquired in period)", "source"], rows)],
        data={"devices": [dict(zip(["device", "model", "row", "provenance", "cradle_to_gate_kg", "amortised_kg",
                                    "inventory_kg", "source"], r, strict=True)) for r in rows]})


def baseline(d: ReportData) -> Section | None:
    tr = d.trajectory
    if tr is None:
        return None
    years = list(range(tr.baseline_year, tr.target_year + 1))
    path: list[float | None] = [round(tr.baseline_kg_year + (tr.target_kg_year - tr.baseline_kg_year)
                                      * (y - tr.baseline_year) / max(1, tr.target_year - tr.baseline_year), 3)
                                for y in years]
    actual: list[float | None] = [round(tr.baseline_kg_year, 3) if y == tr.baseline_year
                                  else round(tr.reporting_kg_year, 3) if y == tr.reporting_year else None
                                  for y in years]
    verdict = "on track" if tr.on_track else "above the path"
    return Section("baseline", "Baseline and target", text=[
        f"Location-based, annualised: baseline {tr.baseline_year} {tr.baseline_kg_year:,.1f} kg CO2e/year; "
        f"reporting period {tr.reporting_kg_year:,.1f} kg/year ({tr.change_pct:+.1f} %).",
        f"Target {tr.target_kg_year:,.1f} kg/year by {tr.target_year}; the straight path allows "
        f"{tr.allowed_kg_year:,.1f} kg/year in {tr.reporting_year}: {verdict}."],
        charts=[Chart("line", "Trajectory against the target", "kg CO2e/year", [str(y) for y in years],
                      [("target path", path), ("actual", actual)])],
        data={"baseline_kg_year": round(tr.baseline_kg_year, 3), "reporting_kg_year": round(tr.reporting_kg_year, 3),
              "target_kg_year": round(tr.target_kg_year, 3), "allowed_kg_year": round(tr.allowed_kg_year, 3),
              "change_pct": round(tr.change_pct, 2), "on_track": tr.on_track, "target_year": tr.target_year})


def refresh(d: ReportData) -> Section | None:
    if not d.refresh:
        return None
    rows: list[list[Cell]] = [[r.device, r.old_model, r.new_model, _r(r.old_w), _r(r.new_w), r.new_w_source,
                               _r(r.saved_kwh_year), _r(r.saved_kg_year), _r(r.new_embodied_kg), _r(r.payback_years),
                               r.note] for r in d.refresh]
    return Section("refresh", "Refresh: carbon payback of replacing old models", text=[
        "Saved per year = (measured W of the old unit - W of the new model) x 8766 h x the period's location factor; "
        "payback = the new unit's embodied footprint / CO2e saved per year."],
        tables=[Table(["device", "old model", "new model", "old W", "new W", "new W from", "kWh saved/yr",
                       "kg CO2e saved/yr", "new embodied kg", "payback years", "note"], rows)],
        data={"devices": [dict(zip(["device", "old_model", "new_model", "old_w", "new_w", "new_w_source",
                                    "saved_kwh_year", "saved_kg_year", "new_embodied_kg", "payback_years", "note"],
                                   r, strict=True))
                          for r in rows]})


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


SECTIONS: list[tuple[str, Builder]] = [
    ("summary", summary), ("breakdown", breakdown), ("timeline", timeline), ("coverage", coverage),
    ("factors", factors), ("embodied", embodied), ("baseline", baseline), ("refresh", refresh),
]


def build_sections(d: ReportData) -> list[Section]:
    return [section for _, builder in SECTIONS if (section := builder(d)) is not None]
