"""The data on ``/metrics``: per-device power, energy and emissions in Prometheus' text format.

Opt-in (``agent.http.metrics.devices``), served next to the agent's own health metrics. Names follow
Prometheus and OpenMetrics conventions: base units (watts, joules, grams), ``_total`` on counters,
a ``netwatt_`` prefix, bounded labels only (the configured ``site``, ``device``, ``role``; the
``method`` and ``basis`` enums; no address, serial, error text or timestamp).

- ``netwatt_power_watts`` (gauge): the device's total from its latest poll; absent when the latest
  poll had no power (unknown is never 0).
- ``netwatt_energy_joules_total`` (counter, per energy method): every energy interval the store has
  closed for the device. It comes from the store, so it survives restarts without resetting; it moves
  when an interval closes (``agent.energy_interval``), like the stored Wh it equals.
- ``netwatt_emissions_location_based_grams_total`` / ``..._market_based_...`` (counters, gCO2e of the
  device itself, site overhead excluded): the Scope 2 emissions of those intervals. Two names, not a
  label: summing location- and market-based figures would count the same energy twice.
- ``netwatt_component_power_watts`` (gauge, ``agent.http.metrics.components``): per PSU, module and
  PoE port/total, with ``component`` and ``kind``; ratings, PoE budgets and optical power are not draw
  and are left out (the InfluxDB ``component_power`` measurement keeps them).

A device that has not answered for longer than its staleness window (``agent.max_gap``, else three
poll intervals: the gap energy integration will not bridge) has no sample at all, so Prometheus marks
its series stale; devices no longer in the config are not served either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.emissions.store import EmissionsStore
from agent.health import Exposition
from agent.pipeline.record import max_gap_for
from agent.points.schema import component_power
from agent.power.readings import Kind, PollResult
from agent.store.sqlite import DeviceStatus

if TYPE_CHECKING:
    from agent.daemon import Agent

JOULES_PER_WH = 3600.0
NOT_DRAW = frozenset({Kind.CAPACITY, Kind.POE_BUDGET, Kind.OPTIC})
EMISSION_FAMILIES = (
    ("location", "netwatt_emissions_location_based_grams_total",
     "Location-based Scope 2 emissions of the device's closed energy intervals, grams CO2e (overhead excluded)."),
    ("market", "netwatt_emissions_market_based_grams_total",
     "Market-based Scope 2 emissions of the device's closed energy intervals, grams CO2e (overhead excluded)."),
)

Samples = list[tuple[dict[str, str], float]]


@dataclass
class ComponentCache:
    """The latest component power of each device, kept from committed polls (the store keeps only points)."""

    readings: dict[str, PollResult] = field(default_factory=dict)

    def note(self, results: list[PollResult]) -> None:
        for result in results:
            self.readings[result.device] = result


def is_fresh(agent: Agent, status: DeviceStatus, now_s: float) -> bool:
    """A configured device whose last successful poll is within its staleness window."""
    return (status.device in agent.config.devices and status.last_ok is not None
            and now_s - status.last_ok <= max_gap_for(agent.config, status.device))


def device_metrics_text(agent: Agent, *, now_s: float, components: ComponentCache | None = None) -> str:
    """The families above for the fresh devices (HELP and TYPE even when no device is fresh)."""
    devices = agent.config.devices
    statuses = [s for s in agent.store.device_statuses() if is_fresh(agent, s, now_s)]
    fresh = {s.device for s in statuses}

    def labels(name: str, **more: str) -> dict[str, str]:
        device = devices[name]
        return {"site": device.site, "device": name, "role": device.role, **more}

    power: Samples = [(labels(s.device, method=s.method or "unknown", basis=s.basis or "unknown"), s.power_w)
                      for s in statuses if s.power_w is not None]
    energy: Samples = [(labels(device, method=method), round(wh * JOULES_PER_WH, 6))
                       for device, by_method in sorted(agent.store.energy_totals().items()) if device in fresh
                       for method, wh in sorted(by_method.items())]
    emissions = EmissionsStore(agent.store).totals()
    out = Exposition()
    out.family("netwatt_power_watts", "gauge", "Power drawn by the device at its latest poll, watts.", power)
    out.family("netwatt_energy_joules_total", "counter",
               "Energy of the device's closed energy intervals, joules (from the store: survives restarts).",
               energy)
    for scope2, name, help_text in EMISSION_FAMILIES:
        out.family(name, "counter", help_text,
                   [(labels(device, method=method), round(grams, 6))
                    for (device, method_scope2, method), grams in sorted(emissions.items())
                    if method_scope2 == scope2 and device in fresh])
    if components is not None:
        out.family("netwatt_component_power_watts", "gauge",
                   "Power drawn or delivered by one component (PSU, module, PoE) at the device's latest poll, watts.",
                   _component_samples(components, fresh, labels))
    return out.text()


def _component_samples(components: ComponentCache, fresh: set[str],
                       labels: Callable[..., dict[str, str]]) -> Samples:
    """One sample per (device, component, kind, method): the first such reading of the latest poll."""
    parts: dict[tuple[str, ...], tuple[dict[str, str], float]] = {}
    for device, result in sorted(components.readings.items()):
        if device not in fresh:
            continue
        for reading in component_power(result):
            if reading.kind in NOT_DRAW or reading.value is None:
                continue
            part = labels(device, component=reading.component, kind=str(reading.kind), method=str(reading.method))
            parts.setdefault(tuple(part.values()), (part, reading.value))
    return list(parts.values())
