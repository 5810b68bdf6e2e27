"""Energy interval -> Scope 2 emissions, location-based and market-based (pure: no clock, no I/O).

- The interval is cut wherever the factor changes (an hourly factor, a new year, a contract that
  starts or ends); the interval's energy is spread over its time evenly (the energy stage gives one
  total per interval) and each piece takes the factor covering it: ``g = Wh / 1000 x g/kWh``.
- Grams are summed; a factor shown for a whole interval is the energy-weighted one, sum(g) / sum(kWh).
- Market-based: each contract covers its share of the consumption at its own factor (0 for
  qualifying certificates); the rest takes the residual mix, or the grid average when none is
  configured (then flagged). The two methods are separate results: never added together.
- Overhead (PUE-like, per site) is a separate figure: ``(overhead - 1) x`` the device's emissions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from agent.emissions.factors import FactorError, Granularity, GridFactor, energy_weighted
from agent.emissions.settings import OperatorFactor, SiteEmissions

FactorAt = Callable[[float], GridFactor]


class Scope2(StrEnum):
    LOCATION = "location"
    MARKET = "market"


@dataclass(frozen=True, slots=True)
class FactorUse:
    factor: GridFactor
    wh: float
    gco2e: float
    role: str                   # grid, contract:<name>, residual_mix, grid_for_residual


@dataclass(frozen=True, slots=True)
class Emission:
    start_s: float
    end_s: float
    wh: float
    method: Scope2
    gco2e: float
    overhead_gco2e: float
    uses: tuple[FactorUse, ...]

    @property
    def factor_g_per_kwh(self) -> float:
        weighted = energy_weighted([(u.wh, u.factor.g_per_kwh) for u in self.uses])
        if weighted is None:        # no energy: the factor of the period still describes it
            return self.uses[0].factor.g_per_kwh if self.uses else 0.0
        return weighted

    @property
    def main(self) -> FactorUse:
        """The factor that carried most of the energy: names the point's `factor_source` tag."""
        return max(self.uses, key=lambda u: (u.wh, -u.factor.granularity.rank))


def grams(wh: float, g_per_kwh: float) -> float:
    return wh / 1000.0 * g_per_kwh


def pieces(start_s: float, end_s: float, factor_at: FactorAt,
           extra_cuts: tuple[float, ...] = ()) -> list[tuple[float, float, GridFactor]]:
    """[(start, end, factor)] covering [start, end): cut where the factor's period ends."""
    if end_s <= start_s:
        raise FactorError(f"empty interval {start_s}..{end_s}")
    cuts = sorted(c for c in extra_cuts if start_s < c < end_s)
    out: list[tuple[float, float, GridFactor]] = []
    t = start_s
    while t < end_s:
        factor = factor_at(t)
        if not factor.covers(t):
            raise FactorError(f"factor {factor.source} ({factor.period()}) does not cover time {t}")
        stop = min([end_s, factor.end_s, *(c for c in cuts if c > t)])
        out.append((t, stop, factor))
        t = stop
    return out


def location_based(start_s: float, end_s: float, wh: float, factor_at: FactorAt, *,
                   overhead: float = 1.0) -> Emission:
    uses = []
    for a, b, factor in pieces(start_s, end_s, factor_at):
        part = wh * (b - a) / (end_s - start_s)
        uses.append(FactorUse(factor, part, grams(part, factor.g_per_kwh), "grid"))
    return _emission(start_s, end_s, wh, Scope2.LOCATION, uses, overhead=overhead)


def market_based(start_s: float, end_s: float, wh: float, factor_at: FactorAt, site: SiteEmissions, *,
                 site_name: str, zone: str) -> Emission:
    """Contracts first, the residual mix for the rest (grid average when none, flagged)."""
    bounds = {t for c in site.contracts for t in (c.factor.start_s, c.factor.end_s) if t is not None}
    if site.residual_mix is not None:
        bounds |= {t for t in (site.residual_mix.start_s, site.residual_mix.end_s) if t is not None}
    uses: list[FactorUse] = []
    for a, b, grid in pieces(start_s, end_s, factor_at, tuple(bounds)):
        part = wh * (b - a) / (end_s - start_s)
        active = [c for c in site.contracts if c.factor.active(a)]
        claimed = sum(c.share for c in active)
        scale = 1.0 / claimed if claimed > 1 else 1.0    # over-claimed contracts cover 100 %, no more
        for contract in active:
            factor = operator_factor(contract.factor, zone, a, b, source=f"operator-{site_name}-{contract.name}",
                                     dataset=f"contract:{contract.kind}")
            share_wh = part * contract.share * scale
            uses.append(FactorUse(factor, share_wh, grams(share_wh, factor.g_per_kwh), f"contract:{contract.name}"))
        rest = part * max(0.0, 1.0 - claimed)
        if rest > 0 or not active:
            residual = site.residual_mix
            if residual is not None and residual.active(a):
                factor = operator_factor(residual, zone, a, b, source=f"residual-{site_name}", dataset="residual_mix")
                role = "residual_mix"
            else:
                factor = grid.with_note("no residual mix configured: grid average used for uncovered energy")
                role = "grid_for_residual"
            uses.append(FactorUse(factor, rest, grams(rest, factor.g_per_kwh), role))
    return _emission(start_s, end_s, wh, Scope2.MARKET, uses, overhead=site.overhead)


def operator_factor(factor: OperatorFactor, zone: str, start_s: float, end_s: float, *, source: str,
                    dataset: str) -> GridFactor:
    return GridFactor(
        g_per_kwh=factor.g_per_kwh, zone=zone,
        start_s=factor.start_s if factor.start_s is not None else start_s,
        end_s=factor.end_s if factor.end_s is not None else end_s,
        source=source, dataset=dataset, release=factor.source, basis=factor.basis, gas=factor.gas,
        granularity=Granularity.ANNUAL, original=factor.original,
    )


def _emission(start_s: float, end_s: float, wh: float, method: Scope2, uses: list[FactorUse], *,
              overhead: float) -> Emission:
    total = sum(u.gco2e for u in uses)
    return Emission(start_s, end_s, wh, method, total, total * (overhead - 1.0), tuple(uses))
