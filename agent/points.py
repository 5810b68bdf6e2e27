"""Poll results as InfluxDB points, schema as fixed in the design card (versioned from here on).

device_power: tags site, device, role, vendor, model, method, basis; field watts.
component_power: tags site, device, component, kind, method, source; field watts.
No addresses, serial numbers or error strings as tags: they would explode series cardinality.
"""

from __future__ import annotations

from agent.lineprotocol import Point
from agent.readings import PollResult, Quantity, Status

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
    for reading in result.power.readings:
        if reading.quantity is not Quantity.POWER or reading.status is not Status.OK or reading.value is None:
            continue
        points.append(Point(
            "component_power",
            {"site": result.site, "device": result.device, "component": reading.component,
             "kind": str(reading.kind), "method": str(reading.method), "source": reading.source},
            {"watts": float(reading.value)},
            result.time,
        ))
    return points
