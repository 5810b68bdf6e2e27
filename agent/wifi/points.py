"""Wi-Fi state and actions as InfluxDB points (schema of the design card: wifi_radio, wifi_action)."""

from __future__ import annotations

from datetime import datetime

from agent.points.lineprotocol import Point
from agent.wifi.model import Observed
from agent.wifi.store import ActionRecord


def radio_point(site: str, seen: Observed, desired: bool | None, when: datetime) -> Point:
    fields: dict[str, float | int | bool | str] = {}
    if seen.enabled is not None:
        fields["enabled"] = seen.enabled
    if seen.clients is not None:
        fields["clients"] = seen.clients
    if desired is not None:
        fields["desired"] = desired
    t = seen.target
    return Point("wifi_radio", {"site": site, "controller": t.controller, "ap": t.ap or t.ssid,
                                "radio": t.radio_tag, "band": t.band}, fields, when)


def action_point(site: str, action: ActionRecord) -> Point:
    t = action.target
    # the reason tag is the rule kind (event, window, idle, on-demand, default, dead-man), not free text
    kind = action.reason.split(":")[0].split(" ")[0]
    return Point("wifi_action", {"site": site, "controller": t.controller, "ap": t.ap or t.ssid,
                                 "radio": t.radio_tag, "action": action.action, "reason": kind,
                                 "result": action.result}, {"duration_s": round(action.duration_s, 3)}, action.time)
