"""Poll results as InfluxDB points, schema as fixed in the design card (versioned from here on).

device_power: tags site, device, role, vendor, model, method, basis; field watts.
component_power: tags site, device, component, sensor, kind, method, source; field watts.
  ``sensor`` (metric + row index or keys) gives each reading of a component its own series.
energy: tags site, device, method; fields wh, seconds (covered), at the interval's start.
agent: tags host; self-metrics as fields.
No addresses, serial numbers or error strings as tags: they would explode series cardinality.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from agent.energy import EnergyInterval
from agent.points.lineprotocol import Point
from agent.power.readings import PollResult, Quantity, Reading, Status

SCHEMA_VERSION = 1


def poll_points(result: PollResult) -> list[Point]:
    points: list[Point] = []
    if result.power.power_w is not None:
        points.append(Point(
            "device_power",
            {"site": result.site, "device": result.device, "role": result.role,
             "vendor": result.info.vendor, "model": result.info.model,
             "method": str(result.power.method), "basis": result.power.basis or ""},
            {"watts": float(result.power.power_w)},
            result.time,
        ))
    for reading in component_power(result):
        assert reading.value is not None
        points.append(Point(
            "component_power",
            {"site": result.site, "device": result.device, "component": reading.component,
             "sensor": reading.sensor, "kind": str(reading.kind), "method": str(reading.method),
             "source": reading.source},
            {"watts": float(reading.value)},
            result.time,
        ))
    return points


def component_power(result: PollResult) -> list[Reading]:
    """The component power readings worth reporting: usable values only."""
    return [r for r in result.power.readings
            if r.quantity is Quantity.POWER and r.status is Status.OK and r.value is not None]


def energy_points(site: str, device: str, intervals: list[EnergyInterval]) -> list[Point]:
    return [Point("energy", {"site": site, "device": device, "method": str(interval.method)},
                  {"wh": float(interval.wh), "seconds": float(interval.seconds)},
                  datetime.fromtimestamp(interval.start_s, UTC))
            for interval in intervals]


def agent_point(host: str, when: datetime, fields: Mapping[str, float | int]) -> Point:
    return Point("agent", {"host": host}, dict(fields), when)
