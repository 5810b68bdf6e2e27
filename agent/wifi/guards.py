"""Guard rails, as pure checks over a proposed set of changes. A refused change says which rule refused it."""

from __future__ import annotations

from dataclasses import dataclass

from agent.wifi.model import Scope, Target
from agent.wifi.settings import Guards


@dataclass(frozen=True, slots=True)
class Change:
    target: Target
    group: str
    before: bool | None
    after: bool
    reason: str
    who: str = "policy"
    request: int | None = None     # the on-demand request behind the change, if any

    @property
    def action(self) -> str:
        return "enable" if self.after else "disable"


@dataclass(frozen=True, slots=True)
class Refusal:
    change: Change
    rule: str


def check_target(guards: Guards, target: Target) -> str | None:
    """Rules about the target itself (allowlists, critical, management SSID); None: allowed."""
    if guards.allow_controllers is not None and target.controller not in guards.allow_controllers:
        return f"controller {target.controller} is not in guards.allow_controllers"
    if target.scope is not Scope.SSID and guards.allow_aps is not None and target.ap not in guards.allow_aps:
        return f"access point {target.ap} is not in guards.allow_aps"
    if target.scope is Scope.SSID:
        if target.ssid in guards.management_ssids or target.key in guards.management_keys:
            return f"{target.ssid} is a management SSID"
        if guards.allow_ssids is not None and target.ssid not in guards.allow_ssids:
            return f"SSID {target.ssid} is not in guards.allow_ssids"
    return None


def apply_guards(changes: list[Change], *, guards: Guards, floors: dict[str, tuple[int, int]],
                 recent_changes: int) -> tuple[list[Change], list[Refusal]]:
    """Keep what the rails allow. ``floors``: group -> (coverage floor, targets enabled now);
    ``recent_changes``: actions taken in the last minute. Enables go first: coverage before savings."""
    allowed: list[Change] = []
    refused: list[Refusal] = []
    enabled = {group: now for group, (_floor, now) in floors.items()}
    for change in sorted(changes, key=lambda c: (not c.after, c.group, c.target.key)):
        rule = check_target(guards, change.target)
        if rule is None and not change.after and change.target.critical:
            rule = "critical radio/AP: never switched off"
        if rule is None and not change.after and change.group in floors:
            floor = floors[change.group][0]
            if enabled[change.group] - 1 < floor:
                rule = f"coverage floor: group {change.group} keeps at least {floor} enabled"
        if rule is None and len(allowed) >= guards.max_changes_per_run:
            rule = f"max_changes_per_run ({guards.max_changes_per_run}) reached; the rest waits for the next run"
        if rule is None and recent_changes + len(allowed) >= guards.max_changes_per_minute:
            rule = f"max_changes_per_minute ({guards.max_changes_per_minute}) reached; the rest waits"
        if rule is not None:
            refused.append(Refusal(change, rule))
            continue
        if change.group in enabled:
            enabled[change.group] += 1 if change.after else -1
        allowed.append(change)
    return allowed, refused
