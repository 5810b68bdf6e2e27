"""Report figures, computed only from what the store holds: energy intervals and their emissions.

Every total is a sum of stored interval rows (a test holds the report to that); factors shown for
a group are energy-weighted (sum g / sum kWh). Location- and market-based totals stay apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.config.load import Config
from agent.emissions.embodied import Footprint, footprint_for
from agent.emissions.store import DeviceModel, EmissionsStore, StoredEmission
from agent.store.sqlite import Store

GROUPINGS = ("site", "device", "role")
DAY_S = 86400.0


@dataclass
class Totals:
    wh: float = 0.0
    wh_by_method: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    covered_s: float = 0.0
    span_s: float = 0.0
    location_g: float = 0.0
    market_g: float = 0.0
    market_wh: float = 0.0              # energy that has a market-based figure (sites with contract data)
    standin_g: float = 0.0              # location-based g of energy without a market figure
    unfactored_wh: float = 0.0          # energy without a location-based figure: no usable grid factor

    @property
    def market_inventory_g(self) -> float:
        """Market-based total as an inventory reports it: location-based stands in where no market data exists."""
        return self.market_g + self.standin_g
    overhead_location_g: float = 0.0

    def coverage(self) -> float | None:
        return self.covered_s / self.span_s if self.span_s else None

    @property
    def factored_wh(self) -> float:
        return self.wh - self.unfactored_wh

    def unfactored_share(self) -> float | None:
        return self.unfactored_wh / self.wh if self.wh else None

    def location_g_per_kwh(self) -> float | None:
        """The energy-weighted factor of the energy that had one (energy without a factor is not a 0)."""
        return self.location_g / (self.factored_wh / 1000.0) if self.factored_wh > 0 else None

    def share(self, method: str) -> float | None:
        return self.wh_by_method.get(method, 0.0) / self.wh if self.wh else None


@dataclass
class FactorUsed:
    scope2_method: str
    source: str
    dataset: str
    release: str
    basis: str
    gas: str
    granularity: str
    wh: float = 0.0
    g: float = 0.0
    notes: set[str] = field(default_factory=set)

    @property
    def g_per_kwh(self) -> float | None:
        return self.g / (self.wh / 1000.0) if self.wh else None


@dataclass
class EmbodiedLine:
    device: str
    model: str
    footprint: Footprint
    amortised_g: float              # over the report period, for dashboards
    inventory_g: float              # full cradle-to-gate, when acquired in a year of the period


@dataclass
class RefreshLine:
    device: str
    old_model: str
    new_model: str
    old_w: float | None
    new_w: float | None
    new_w_source: str
    g_per_kwh: float | None
    saved_kwh_year: float | None
    saved_kg_year: float | None
    new_embodied_kg: float | None
    payback_years: float | None
    note: str = ""


@dataclass
class Trajectory:
    baseline_kg_year: float
    reporting_kg_year: float
    target_kg_year: float
    target_year: int
    baseline_year: int
    reporting_year: int
    allowed_kg_year: float          # on the straight path from baseline to target, in the reporting year

    @property
    def change_pct(self) -> float:
        return (self.reporting_kg_year / self.baseline_kg_year - 1.0) * 100.0 if self.baseline_kg_year else 0.0

    @property
    def on_track(self) -> bool:
        return self.reporting_kg_year <= self.allowed_kg_year


@dataclass
class ReportData:
    start_s: float
    end_s: float
    by: str
    total: Totals
    groups: dict[str, Totals]
    daily: dict[str, Totals]                        # YYYY-MM-DD -> totals
    factors: list[FactorUsed]
    embodied: list[EmbodiedLine]
    refresh: list[RefreshLine]
    trajectory: Trajectory | None
    has_market: bool
    devices_without_power: list[str]
    timezone: str = "UTC"                           # days and years of the report are this zone's
    sites_without_factor: list[str] = field(default_factory=list)

    @property
    def embodied_amortised_g(self) -> float:
        return sum(e.amortised_g for e in self.embodied)

    @property
    def embodied_share(self) -> float | None:
        """Embodied (amortised over the period) in the period's location-based total plus embodied."""
        whole = self.total.location_g + self.embodied_amortised_g
        return self.embodied_amortised_g / whole if whole else None


def local_day(time_s: float, zone: str = "UTC") -> str:
    return datetime.fromtimestamp(time_s, ZoneInfo(zone)).strftime("%Y-%m-%d")


def _year(time_s: float, zone: str = "UTC") -> int:
    return int(local_day(time_s, zone)[:4])


def period_location_g(emissions: EmissionsStore, start_s: float, end_s: float) -> float:
    return sum(e.gco2e for e in emissions.between(start_s, end_s) if e.scope2_method == "location")


def build(store: Store, config: Config, *, start_s: float, end_s: float, by: str = "site",
          footprints: dict[str, Footprint] | None = None,
          power_w: dict[str, tuple[float, str]] | None = None, timezone: str = "UTC") -> ReportData:
    """``power_w``: model -> (input power, where it comes from) for the refresh view; ``timezone``: the
    IANA zone whose days make the per-day rows (an interval counts in the day it starts)."""
    stored = EmissionsStore(store)
    models = stored.device_models()

    def group_of(device: str, site: str) -> str:
        if by == "device":
            return device
        if by == "role":
            configured = config.devices.get(device)
            known = models.get(device)
            return configured.role if configured else known.role if known else "other"
        return site or "(no site)"

    total = Totals()
    groups: dict[str, Totals] = defaultdict(Totals)
    daily: dict[str, Totals] = defaultdict(Totals)
    per_device_wh: dict[str, float] = defaultdict(float)
    per_device_s: dict[str, float] = defaultdict(float)
    emissions = stored.between(start_s, end_s)
    located = {(e.device, e.start_s) for e in emissions if e.scope2_method == "location"}
    unfactored_sites: set[str] = set()
    for row in store.intervals_between(start_s, end_s):
        device, site, i = row.device, row.site, row.interval
        start, end, wh, seconds, method = i.start_s, i.end_s, i.wh, i.seconds, str(i.method)
        without_factor = (device, start) not in located
        if without_factor and wh > 0:
            unfactored_sites.add(site or "(no site)")
        for t in (total, groups[group_of(device, site)], daily[local_day(start, timezone)]):
            t.wh += wh
            t.wh_by_method[method] += wh
            t.covered_s += seconds
            t.span_s += end - start
            if without_factor:
                t.unfactored_wh += wh
        per_device_wh[device] += wh
        per_device_s[device] += seconds
    factors: dict[str, FactorUsed] = {}
    with_market = {(e.device, e.start_s) for e in emissions if e.scope2_method == "market"}
    for e in emissions:
        for t in (total, groups[group_of(e.device, e.site)], daily[local_day(e.start_s, timezone)]):
            if e.scope2_method == "location":
                t.location_g += e.gco2e
                t.overhead_location_g += e.overhead_gco2e
                if (e.device, e.start_s) not in with_market:
                    t.standin_g += e.gco2e
            else:
                t.market_g += e.gco2e
                t.market_wh += e.wh
        _note_factors(factors, e)
    footprints = footprints or {}
    embodied = _embodied(config, models, footprints, start_s, end_s, timezone=timezone)
    return ReportData(
        start_s, end_s, by, total, dict(groups), dict(sorted(daily.items())),
        sorted(factors.values(), key=lambda f: -f.wh), embodied,
        _refresh(config, models, footprints, power_w or {}, per_device_wh=per_device_wh, per_device_s=per_device_s,
                 total=total),
        _trajectory(stored, config, start_s, end_s, total.location_g),
        any(e.scope2_method == "market" for e in emissions),
        sorted(d for d, wh in per_device_wh.items() if wh == 0.0), timezone, sorted(unfactored_sites),
    )


def _note_factors(factors: dict[str, FactorUsed], e: StoredEmission) -> None:
    for use in e.provenance:
        f = use["factor"]
        key = f"{e.scope2_method}:{f['source']}"
        entry = factors.setdefault(key, FactorUsed(e.scope2_method, f["source"], f["dataset"], f["release"],
                                                   f["basis"], f["gas"], f["granularity"]))
        entry.wh += use["wh"]
        entry.g += use["gco2e"]
        if f.get("note"):
            entry.notes.add(f["note"])


def _embodied(config: Config, models: dict[str, DeviceModel], footprints: dict[str, Footprint],
              start_s: float, end_s: float, *, timezone: str) -> list[EmbodiedLine]:
    years = set(range(_year(start_s, timezone), _year(end_s - 1, timezone) + 1))
    lines = []
    for device, known in sorted(models.items()):
        model = known.model
        fp = footprint_for(footprints, model, known.role, config.emissions.embodied_by_role)
        if fp is None:
            continue
        acquired = config.emissions.acquired.get(device)
        lines.append(EmbodiedLine(device, model or "(unknown model)", fp,
                                  fp.amortised_g(end_s - start_s, config.emissions.lifetime_years),
                                  fp.cradle_to_gate_kgco2e * 1000.0 if acquired in years else 0.0))
    return lines


def _refresh(config: Config, models: dict[str, DeviceModel], footprints: dict[str, Footprint],
             power_w: dict[str, tuple[float, str]], *, per_device_wh: dict[str, float], per_device_s: dict[str, float],
             total: Totals) -> list[RefreshLine]:
    plans = {r.old_model.lower(): r.new_model for r in config.emissions.replacements}
    factor = total.location_g_per_kwh()
    lines = []
    for device, known in sorted(models.items()):
        model = known.model
        new_model = plans.get(model.lower()) if model else None
        if new_model is None:
            continue
        seconds = per_device_s.get(device, 0.0)
        old_w = per_device_wh.get(device, 0.0) * 3600.0 / seconds if seconds else None
        new_w, new_w_source = power_w.get(new_model.lower(), (None, ""))
        fp = footprints.get(new_model.lower())
        line = RefreshLine(device, model, new_model, old_w, new_w, new_w_source,
                           factor, None, None, fp.cradle_to_gate_kgco2e if fp else None, None)
        missing = [what for what, value in (("measured power of the old unit", old_w),
                                            ("a power figure for the new model", new_w),
                                            ("a grid factor", factor)) if value is None]
        if missing:
            line.note = "unknown: no " + ", no ".join(missing)
        else:
            assert old_w is not None
            assert new_w is not None
            assert factor is not None
            line.saved_kwh_year = (old_w - new_w) * 8766.0 / 1000.0       # 365.25 days of hours
            line.saved_kg_year = line.saved_kwh_year * factor / 1000.0
            if fp is None:
                line.note = "no embodied footprint for the new model: payback unknown"
            elif line.saved_kg_year <= 0:
                line.note = "the new model draws as much or more: never pays back"
            else:
                line.payback_years = fp.cradle_to_gate_kgco2e / line.saved_kg_year
        lines.append(line)
    return lines


def _trajectory(emissions: EmissionsStore, config: Config, start_s: float, end_s: float,
                reporting_g: float) -> Trajectory | None:
    target = config.emissions.target
    if target is None:
        return None
    baseline_g = period_location_g(emissions, target.baseline_from_s, target.baseline_to_s)
    if baseline_g <= 0:
        return None
    year_s = 365.25 * DAY_S
    baseline = baseline_g / 1000.0 * year_s / (target.baseline_to_s - target.baseline_from_s)
    reporting = reporting_g / 1000.0 * year_s / (end_s - start_s)
    goal = baseline * (1.0 - target.reduction_pct / 100.0)
    b_year, r_year = _year(target.baseline_from_s), _year(start_s)
    span = max(1, target.target_year - b_year)
    progress = min(1.0, max(0.0, (r_year - b_year) / span))
    return Trajectory(baseline, reporting, goal, target.target_year, b_year, r_year,
                      baseline + (goal - baseline) * progress)


def fleet_power_by_model(store: Store, start_s: float, end_s: float) -> dict[str, float]:
    """model -> mean measured input power of the fleet's units of that model over the period."""
    models = EmissionsStore(store).device_models()
    wh: dict[str, float] = defaultdict(float)
    seconds: dict[str, float] = defaultdict(float)
    for row in store.intervals_between(start_s, end_s):
        known = models.get(row.device)
        model = known.model.lower() if known else ""
        if model and row.interval.method in ("measured", "derived"):
            wh[model] += row.interval.wh
            seconds[model] += row.interval.seconds
    return {m: wh[m] * 3600.0 / seconds[m] for m in wh if seconds[m]}
