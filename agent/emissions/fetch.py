"""Refreshes the live-factor cache from the configured providers, on the agent's schedule.

Each (provider, zone) is fetched for a window around now; the result or the error is recorded
in the store (``factor_providers``), so an outage shows up in the emissions as a fallback with its
reason and in ``status``. Logged once when a provider starts failing and once when it recovers.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from agent.emissions.bundled import factors_dir
from agent.emissions.factors import factor_problem
from agent.emissions.providers.base import HttpJson, Provider, ProviderError
from agent.emissions.providers.electricitymaps import ElectricityMaps
from agent.emissions.providers.entsoe import Entsoe, psr_factors
from agent.emissions.providers.ukci import UkCarbonIntensity
from agent.emissions.providers.watttime import WattTime
from agent.emissions.settings import EmissionsSettings, ProviderSpec
from agent.emissions.store import FactorCache

log = logging.getLogger("netwatt.emissions")
BACK_S = 6 * 3600.0          # re-read recent hours: actual values replace forecasts
AHEAD_S = 3600.0
SLOT_S = 1800.0


def build_provider(spec: ProviderSpec, http: HttpJson, factors_directory: Path | None = None) -> Provider:
    if spec.type == "uk_carbon_intensity":
        return UkCarbonIntensity(http, spec.url)
    if spec.type == "electricity_maps":
        assert spec.token is not None
        return ElectricityMaps(http, spec.token, base_url=spec.url, emission_factor_type=spec.emission_factor_type)
    if spec.type == "entsoe":
        assert spec.token is not None
        return Entsoe(http, spec.token, psr_factors(factors_directory or factors_dir()), base_url=spec.url)
    assert spec.password is not None
    return WattTime(http, spec.username, spec.password, base_url=spec.url)


class FactorFetcher:
    def __init__(self, settings: EmissionsSettings, cache: FactorCache, *, http: HttpJson | None = None) -> None:
        self.cache = cache
        http = http or HttpJson()
        directory = Path(settings.factors_dir) if settings.factors_dir else None
        self.providers = [(spec, build_provider(spec, http, directory)) for spec in settings.providers]
        self._failing: set[tuple[str, str]] = set()

    async def refresh(self, now_s: float) -> int:
        """Fetch every (provider, zone); returns the number of factors cached."""
        start = math.floor((now_s - BACK_S) / SLOT_S) * SLOT_S
        end = math.ceil((now_s + AHEAD_S) / SLOT_S) * SLOT_S
        cached = 0
        for spec, provider in self.providers:
            for zone, provider_zone in spec.zones.items():
                key = (spec.type, zone)
                try:
                    factors = await provider.fetch(zone, provider_zone, start, end)
                except Exception as exc:  # any provider failure falls back, is recorded, never stops the agent
                    message = str(exc) if isinstance(exc, ProviderError) else f"unreadable reply ({exc!r})"[:300]
                    self.cache.note_attempt(spec.type, zone, now_s, message)
                    if key not in self._failing:
                        self._failing.add(key)
                        log.warning("grid factors %s for %s: %s; bundled factors are used meanwhile",
                                    spec.type, zone, message)
                    continue
                # a published value that cannot be a grid intensity (negative, NaN, above 2,000 g/kWh) is not used
                sane = [f for f in factors if not factor_problem(f.g_per_kwh, zero_ok=True)]
                cached += self.cache.put(spec.type, sane, now_s)
                error = "" if factors else "the provider returned no values for the window"
                if len(sane) < len(factors):
                    bad = next(f for f in factors if f not in sane)
                    error = (f"{len(factors) - len(sane)} value(s) refused: "
                             f"{factor_problem(bad.g_per_kwh, zero_ok=True)} ({bad.g_per_kwh:g} g/kWh)")
                    log.warning("grid factors %s for %s: %s", spec.type, zone, error)
                factors = sane
                self.cache.note_attempt(spec.type, zone, now_s, error)
                if key in self._failing and factors:
                    self._failing.discard(key)
                    log.warning("grid factors %s for %s: recovered", spec.type, zone)
        return cached
