"""How a reading is named and classified from its profile: shared by the SNMP and the YANG normaliser."""

from __future__ import annotations

from agent.power.profiles import Metric, Profile
from agent.power.readings import Kind, Quantity


def classify(metric: Metric, label: str, classes: set[int], quantity: Quantity) -> Kind:
    for rule in metric.classify:
        if rule.matches(label, classes, quantity):
            return rule.kind
    return Kind.OTHER


def dedupe_key(profile: Profile, label: str, kind: Kind) -> str:
    for rule in profile.dedupe:
        match = rule.pattern.search(label)
        if match:
            return f"{kind}:{match.expand(rule.key)}"
    return ""


def render_template(template: str, fields: dict[str, str]) -> str:
    if not template:
        return ""
    try:
        return template.format_map(fields).strip()
    except (KeyError, IndexError, ValueError):
        return template
