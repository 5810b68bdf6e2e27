"""Which location-based factor applies to a site at a time: the factor hierarchy.

1. the operator's own location factor for the site (when configured and in force);
2. a live provider's cached factor for the zone, the finest granularity covering the time;
3. the bundled annual table (zone, then its country); when a live provider serves the zone but has
   no value for that time, the bundled factor carries the reason (``fallback: ...``).
Marginal signals (WattTime) are never candidates: they are not inventory factors.
"""

from __future__ import annotations

from agent.emissions.bundled import BundledFactors
from agent.emissions.compute import FactorAt, operator_factor
from agent.emissions.factors import GridFactor, year_bounds, year_of
from agent.emissions.settings import EmissionsSettings
from agent.emissions.store import FactorCache


class Resolver:
    def __init__(self, settings: EmissionsSettings, bundled: BundledFactors, cache: FactorCache | None) -> None:
        self.settings = settings
        self.bundled = bundled
        self.cache = cache
        # zone -> providers that publish average intensities for it
        self.live: dict[str, list[str]] = {}
        for spec in settings.providers:
            if spec.type == "watttime":
                continue
            for zone in spec.zones:
                self.live.setdefault(zone, []).append(spec.type)

    def factor_at(self, site: str, zone: str) -> FactorAt:
        site_settings = self.settings.site(site)
        zone = zone.upper()

        def at(time_s: float) -> GridFactor:
            own = site_settings.location_factor
            if own is not None and own.active(time_s):
                start, end = year_bounds(year_of(time_s))
                return operator_factor(own, zone, max(start, own.start_s or start), min(end, own.end_s or end),
                                       source=f"operator-{site}", dataset="operator_location")
            providers = self.live.get(zone, [])
            if providers and self.cache is not None:
                cached = self.cache.find(zone, time_s)
                if cached is not None:
                    return cached
            factor = self.bundled.lookup(zone, time_s)
            if providers:
                reasons = []
                for provider in providers:
                    error = self.cache.last_error(provider, zone) if self.cache is not None else ""
                    reasons.append(f"{provider}: {error or 'no cached value for this time'}")
                factor = factor.with_note("fallback to the bundled factor; " + "; ".join(reasons))
            return factor

        return at
