"""Line protocol encoding and the point schema written for a poll."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.points.lineprotocol import Point, encode
from agent.points.schema import poll_points
from agent.power.readings import DeviceInfo, DevicePower, Kind, Method, PollResult, Quantity, Reading

WHEN = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def test_escaping_sorted_tags_and_seconds() -> None:
    point = Point("device_power", {"site": "marseille", "device": "sw 1,a=b", "empty": ""},
                  {"watts": 1.5, "count": 3, "ok": True, "note": 'say "hi"'}, WHEN)
    assert point.line() == ('device_power,device=sw\\ 1\\,a\\=b,site=marseille '
                            'watts=1.5,count=3i,ok=true,note="say \\"hi\\"" 1795341600')


def reading(kind: Kind, watts: float, counted: bool, index: int) -> Reading:
    return Reading(component="PM0", kind=kind, quantity=Quantity.POWER, value=watts, source="snmp",
                   address=f"1.3.6.1.4.1.9.9.91.1.1.1.1.4.{index}", raw=int(watts * 1000), scale=0.001,
                   profile="cisco_entity_sensor", metric="entSensorValue", counted=counted,
                   sensor=f"entSensorValue.{index}")


def test_poll_points_follow_the_schema() -> None:
    result = PollResult(
        device="core-1", site="paris", role="router", time=WHEN,
        power=DevicePower(250.25, Method.MEASURED, "psu_input",
                          [reading(Kind.PSU_INPUT, 250.25, True, 11), reading(Kind.PSU_OUTPUT, 216.0, False, 12)]),
        info=DeviceInfo(vendor="cisco", model="ASR-9901"), errors=[],
    )
    assert encode(poll_points(result)).splitlines() == [
        "device_power,basis=psu_input,device=core-1,method=measured,model=ASR-9901,role=router,site=paris,"
        "vendor=cisco watts=250.25 1795341600",
        "component_power,component=PM0,device=core-1,kind=psu_input,method=measured,sensor=entSensorValue.11,"
        "site=paris,source=snmp watts=250.25 1795341600",
        "component_power,component=PM0,device=core-1,kind=psu_output,method=measured,sensor=entSensorValue.12,"
        "site=paris,source=snmp watts=216.0 1795341600",
    ]


def test_unknown_total_writes_no_device_point() -> None:
    result = PollResult(device="sw", site="", role="switch", time=WHEN,
                        power=DevicePower(None, Method.UNKNOWN, None, []), info=DeviceInfo(), errors=[])
    assert poll_points(result) == []
