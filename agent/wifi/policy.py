"""The policies, as pure functions of (config, observed state, requests, idle history, now).

Precedence for each target of a group: an on-demand request in force > an event or window in force >
the group's default; then the idle rule may switch off a radio that is on only by default. "on" means
"as it was before netwatt switched it off" (the planner restores the prior admin state).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from agent.wifi.model import Desired, Observed, Target
from agent.wifi.settings import Group, occurrences


@dataclass(frozen=True, slots=True)
class Request:
    """An on-demand override (`netwatt wifi on --group bowl --for 3h`), in force until it expires."""

    id: int
    group: str
    state: str            # "on" | "off"
    created: datetime     # UTC
    until: datetime       # UTC
    who: str
    note: str = ""

    def active(self, now: datetime) -> bool:
        return self.created <= now < self.until


@dataclass(frozen=True, slots=True)
class IdleEntry:
    """Since when a target has had no clients (None: it has clients), and when it was last read."""

    zero_since: datetime | None
    last_seen: datetime


def update_idle(history: dict[str, IdleEntry], observed: dict[str, Observed], now: datetime, *,
                max_gap_s: float) -> dict[str, IdleEntry]:
    """One more reading of every target. A count that comes and goes resets the clock each time it comes;
    an unknown count keeps the clock; a gap in the readings (agent down) restarts it, since nobody knows
    who associated meanwhile."""
    result = dict(history)
    for key, seen in observed.items():
        if seen.clients is None or seen.enabled is False:    # an off radio has no clients by construction
            continue
        before = history.get(key)
        stale = before is None or (now - before.last_seen).total_seconds() > max_gap_s
        if seen.clients > 0:
            result[key] = IdleEntry(None, now)
        elif stale or before is None or before.zero_since is None:
            result[key] = IdleEntry(now, now)
        else:
            result[key] = replace(before, last_seen=now)
    return result


def hold_idle_clocks(history: dict[str, IdleEntry], desired: list[Desired], now: datetime) -> dict[str, IdleEntry]:
    """The idle clock runs only while a target is on by default: under an event, a window or a request it is
    held at zero, so a radio restored when a night window ends gets its full idle time again."""
    result = dict(history)
    for want in desired:
        if not want.reason.startswith(("default", "idle")):
            result[want.target.key] = IdleEntry(None, now)
    return result


def active_request(group: Group, now: datetime, requests: list[Request]) -> Request | None:
    """The group's on-demand request in force now (the latest wins), if any."""
    mine = [r for r in requests if r.group == group.name and r.active(now)]
    return max(mine, key=lambda r: (r.created, r.id)) if mine else None


def group_rule(group: Group, now: datetime, requests: list[Request]) -> tuple[str | None, str, str]:
    """(state, reason, who) the group's rules want now; state None: leave as it is."""
    latest = active_request(group, now, requests)
    if latest is not None:
        return latest.state, f"on-demand {latest.state} until {latest.until:%Y-%m-%dT%H:%MZ}", latest.who
    in_force = [o for o in occurrences(group, now, now) if o[0] <= now < o[1]]
    if in_force:
        states = {o[2] for o in in_force}
        state = "on" if "on" in states else "off"      # contradictions were refused at config load
        names = sorted(o[3] for o in in_force if o[2] == state)
        return state, " + ".join(names), "policy"
    if group.default == "unmanaged":
        return None, "no rule in force (unmanaged by default)", "policy"
    return group.default, f"default {group.default}", "policy"


def evaluate(group: Group, now: datetime, *, requests: list[Request], idle: dict[str, IdleEntry]) -> list[Desired]:
    state, reason, who = group_rule(group, now, requests)
    latest = active_request(group, now, requests)
    request = latest.id if latest is not None else None
    wanted = None if state is None else state == "on"
    desired = []
    for target in group.targets:
        enabled, why = wanted, reason
        if wanted and reason.startswith("default") and group.idle is not None and not _ignored(group, target):
            entry = idle.get(target.key)
            if entry is not None and entry.zero_since is not None:
                quiet = now - entry.zero_since
                after = timedelta(seconds=group.idle.after_s)
                sleep = timedelta(seconds=group.idle.max_sleep_s) if group.idle.max_sleep_s else None
                if sleep is not None and quiet >= after + sleep:
                    why = f"idle: awake again after {int(sleep.total_seconds() // 60)} min asleep, to look for clients"
                elif quiet >= after:
                    enabled, why = False, f"idle: no clients for {int(quiet.total_seconds() // 60)} min"
        desired.append(Desired(target, enabled, why, who, request))
    return desired


def _ignored(group: Group, target: Target) -> bool:
    assert group.idle is not None
    return target.ap in group.idle.ignore or f"{target.ap}/{target.radio}" in group.idle.ignore
