"""Savings from the audit log: radio-off hours and kWh avoided per group, CO2e given a grid factor.

Each off period runs from a confirmed disable to the next confirmed enable or revert of the target (or
the end of the report). Several radios of one AP switched in one batch share the port's change
(``power_share``), so nothing is counted twice. Its watts are the PoE draw of the AP's switch port
before minus after the disable (method ``measured``); without both readings, the per-model estimate of
the config (``estimated``, W per radio, per radio of the AP for a whole-AP action); otherwise
``unknown`` and counted as 0 W, said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.wifi.settings import WifiConfig
from agent.wifi.store import StoredAction, WifiStore


@dataclass(slots=True)
class GroupSavings:
    group: str
    off_periods: int = 0
    off_hours: float = 0.0            # target-hours switched off by netwatt
    kwh_avoided: float = 0.0
    methods: dict[str, float] = field(default_factory=dict)      # method -> kWh
    co2e_g: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"group": self.group, "off_periods": self.off_periods, "off_hours": round(self.off_hours, 3),
                "kwh_avoided": round(self.kwh_avoided, 4),
                "methods": {m: round(v, 4) for m, v in sorted(self.methods.items())},
                "co2e_g": None if self.co2e_g is None else round(self.co2e_g, 1)}


def _estimate_w(config: WifiConfig, ap_name: str, radio: str) -> float | None:
    ap = config.access_points.get(ap_name)
    if ap is None or ap.model not in config.estimates_w:
        return None
    per_radio = config.estimates_w[ap.model]
    return per_radio * (len(ap.radios) or 1) if radio == "ap" else per_radio


def wifi_report(store: WifiStore, config: WifiConfig, start: datetime, end: datetime, *,
                factor_g_per_kwh: float | None = None) -> dict[str, object]:
    """The Wi-Fi section of ``netwatt report`` for [start, end): per group off hours, kWh and CO2e avoided."""
    groups: dict[str, GroupSavings] = {name: GroupSavings(name) for name in config.groups}
    open_off: dict[str, StoredAction] = {}
    start_s, end_s = start.timestamp(), end.timestamp()

    def close(key: str, until: float) -> None:
        off = open_off.pop(key)
        begin = max(off.time.timestamp(), start_s)
        stop = min(until, end_s)
        if stop <= begin:
            return
        hours = (stop - begin) / 3600
        before, after = off.power_before_w, off.power_after_w
        if before is not None and after is not None:
            watts, method = max(before - after, 0.0) * off.power_share, "measured"
        else:
            estimate = _estimate_w(config, off.ap, off.radio)
            watts, method = (estimate, "estimated") if estimate is not None else (0.0, "unknown")
        entry = groups.setdefault(off.group, GroupSavings(off.group))
        entry.off_periods += 1
        entry.off_hours += hours
        kwh = watts * hours / 1000
        entry.kwh_avoided += kwh
        entry.methods[method] = entry.methods.get(method, 0.0) + kwh

    for action in store.actions():
        key, when = action.target, action.time.timestamp()
        if when >= end_s:
            break
        if action.action == "disable" and action.result == "confirmed":
            if key not in open_off:
                open_off[key] = action
        elif action.result in ("confirmed", "reverted") and action.after and key in open_off:
            close(key, when)
    for key in list(open_off):
        close(key, end_s)
    for entry in groups.values():
        if factor_g_per_kwh is not None:
            entry.co2e_g = entry.kwh_avoided * factor_g_per_kwh
    rows = [g.to_json() for g in sorted(groups.values(), key=lambda g: g.group)]
    total_kwh = sum(g.kwh_avoided for g in groups.values())
    return {"start": start.astimezone(UTC).isoformat(), "end": end.astimezone(UTC).isoformat(), "groups": rows,
            "kwh_avoided": round(total_kwh, 4), "factor_g_per_kwh": factor_g_per_kwh,
            "co2e_g": None if factor_g_per_kwh is None else round(total_kwh * factor_g_per_kwh, 1)}
