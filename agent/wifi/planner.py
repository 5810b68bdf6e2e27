"""From what the policies want and what the controllers report to a plan: changes, and why not others.

Restoring the prior state: netwatt remembers a target's admin state before it first switched it off
(the baseline). "on" re-enables only what netwatt disabled; a radio an admin had switched off stays off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.wifi.guards import Change, Refusal, apply_guards
from agent.wifi.model import Desired, Observed
from agent.wifi.settings import WifiConfig


@dataclass(slots=True)
class PlanItem:
    key: str
    group: str
    observed: bool | None
    desired: bool | None
    reason: str
    verdict: str          # "change", "ok" (already so), "hold" (left as is and why), "refused", "unknown"


@dataclass(slots=True)
class Plan:
    changes: list[Change] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    items: list[PlanItem] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "changes": [{"target": c.target.key, "group": c.group, "action": c.action, "before": c.before,
                         "reason": c.reason, "who": c.who} for c in self.changes],
            "refused": [{"target": r.change.target.key, "group": r.change.group, "action": r.change.action,
                         "rule": r.rule, "reason": r.change.reason} for r in self.refused],
            "targets": [{"target": i.key, "group": i.group, "observed": i.observed, "desired": i.desired,
                         "verdict": i.verdict, "reason": i.reason} for i in self.items],
        }


def make_plan(config: WifiConfig, desired: dict[str, list[Desired]], observed: dict[str, Observed],
              baselines: dict[str, bool], *, recent_changes: int) -> Plan:
    plan = Plan()
    proposed: list[Change] = []
    merged = _merge(desired)
    for key, (group, want) in sorted(merged.items()):
        seen = observed.get(key)
        now = seen.enabled if seen is not None else None
        item = PlanItem(key, group, now, want.enabled, want.reason, "ok")
        plan.items.append(item)
        if seen is None or seen.enabled is None:
            item.verdict, item.reason = "unknown", f"state unknown: {seen.error if seen else 'not read'}"
            continue
        if want.enabled is None or want.enabled == now:
            continue
        if want.enabled and key not in baselines:
            item.verdict = "hold"
            item.reason = "off before netwatt switched anything: the prior admin state is kept"
            continue
        item.verdict = "change"
        proposed.append(Change(want.target, group, now, want.enabled, want.reason, want.who, want.request))
    floors = {}
    for spec in config.groups.values():
        states = [observed[t.key].enabled for t in spec.targets if t.key in observed]
        floors[spec.name] = (spec.coverage_floor, sum(1 for s in states if s))
    plan.changes, plan.refused = apply_guards(proposed, guards=config.guards, floors=floors,
                                              recent_changes=recent_changes)
    refused = {r.change.target.key: r.rule for r in plan.refused}
    for item in plan.items:
        if item.key in refused:
            item.verdict, item.reason = "refused", f"{item.reason}; refused: {refused[item.key]}"
    return plan


def _merge(desired: dict[str, list[Desired]]) -> dict[str, tuple[str, Desired]]:
    """A target in several groups: on wins over off wins over leave-as-is (coverage first)."""
    rank = {True: 2, False: 1, None: 0}
    merged: dict[str, tuple[str, Desired]] = {}
    for group, wants in desired.items():
        for want in wants:
            key = want.target.key
            if key not in merged or rank[want.enabled] > rank[merged[key][1].enabled]:
                merged[key] = (group, want)
    return merged
