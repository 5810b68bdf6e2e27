"""The emissions stage of the agent: estimates for silent devices, then Scope 2 for each closed
energy interval, as points and rows committed with the energy that produced them.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from agent.emissions.bundled import BundledFactors
from agent.emissions.compute import Scope2, location_based, market_based
from agent.emissions.embodied import footprint_for, load_footprints
from agent.emissions.factors import FactorError
from agent.emissions.points import embodied_points, emission_points
from agent.emissions.resolve import Resolver
from agent.emissions.settings import ConfigWithEmissions
from agent.emissions.store import WITHOUT_FACTOR, EmissionRow, FactorCache, insert_emissions, note_model
from agent.energy import EnergyInterval
from agent.points.lineprotocol import Point
from agent.power.estimate import Calibration, estimate, load_power_models, models_dir
from agent.power.readings import PollResult
from agent.store.sqlite import Store, Write, bump_counter

log = logging.getLogger("netwatt.emissions")


class EmissionsEngine:
    def __init__(self, config: ConfigWithEmissions, store: Store) -> None:
        settings = config.emissions
        self.config = config
        self.bundled = BundledFactors(Path(settings.factors_dir) if settings.factors_dir else None)
        self.cache = FactorCache(store)
        self.resolver = Resolver(settings, self.bundled, self.cache)
        directory = models_dir(settings.models_dir)
        self.power_models = load_power_models(directory / "power.yaml")
        self.footprints = load_footprints(directory / "embodied.yaml")
        self.calibration = Calibration()
        self._warned: set[str] = set()

    def model_of(self, result: PollResult) -> str:
        device = self.config.devices.get(result.device)
        return result.info.model or (device.model if device else "")

    def estimate(self, result: PollResult) -> None:
        """Learn from devices that measure; estimate those that do not (in place, labelled)."""
        model = self.model_of(result)
        row = self.power_models.get(model)
        efficiency = row.psu_efficiency if row and row.psu_efficiency else self.power_models.default_psu_efficiency
        self.calibration.note(model, result.device, result.power, efficiency)
        result.power = estimate(result.power, model=model, models=self.power_models, calibration=self.calibration)

    def compute(self, site: str, device: str, intervals: list[EnergyInterval]) -> list[EmissionRow]:
        """Rows for the intervals that have a usable factor; the others get none (never a 0 g row)."""
        zone = self.config.sites[site].grid_zone.upper() if site in self.config.sites else ""
        if not zone:
            self._warn_once(f"site:{site}", "site %r (device %s) has no grid_zone: its energy has no emissions "
                            "(counted as energy_intervals_without_factor)", site, device)
            return []
        site_settings = self.config.emissions.site(site)
        factor_at = self.resolver.factor_at(site, zone)
        rows = []
        for interval in intervals:
            try:
                rows.append(EmissionRow(device, site, zone, str(interval.method), location_based(
                    interval.start_s, interval.end_s, interval.wh, factor_at, overhead=site_settings.overhead)))
                if site_settings.has_market:
                    rows.append(EmissionRow(device, site, zone, str(interval.method), market_based(
                        interval.start_s, interval.end_s, interval.wh, factor_at, site_settings,
                        site_name=site, zone=zone)))
            except FactorError as exc:
                self._warn_once(f"site:{site}", "site %r (device %s): energy without emissions: %s (counted as "
                                "energy_intervals_without_factor)", site, device, exc)
        return rows

    def record(self, result: PollResult, intervals: list[EnergyInterval]) -> tuple[list[Point], list[Write]]:
        """Points and store writes for the intervals a poll closed."""
        if not intervals:
            return [], []
        try:
            rows = self.compute(result.site, result.device, intervals)
        except Exception:  # a bug here must not cost the device its energy: logged, energy kept
            log.exception("device %s: emissions not computed for %d interval(s)", result.device, len(intervals))
            rows = []
        points = emission_points(rows)
        footprint = footprint_for(self.footprints, self.model_of(result), result.role,
                                  self.config.emissions.embodied_by_role)
        if footprint is not None:
            points += embodied_points(result.site, result.device, footprint, intervals,
                                      default_lifetime_years=self.config.emissions.lifetime_years)
        writes: list[Write] = [partial(note_model, device=result.device, site=result.site, role=result.role,
                                       model=self.model_of(result), seen_s=intervals[-1].end_s)]
        located = sum(1 for row in rows if row.emission.method is Scope2.LOCATION)
        writes.append(partial(bump_counter, name=WITHOUT_FACTOR, by=len(intervals) - located))
        if rows:
            writes.append(partial(insert_emissions, rows=rows))
        return points, writes

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)
