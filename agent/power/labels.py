"""How a reading is named and classified from its profile: shared by the SNMP and the YANG normaliser."""

from __future__ import annotations

import functools

from agent.power.profiles import ClassifyRule, DedupeRule, Metric, Profile
from agent.power.readings import Kind, Quantity


def classify(metric: Metric, label: str, classes: set[int], quantity: Quantity) -> Kind:
    return _first_kind(metric.classify, label, frozenset(classes), quantity)


# A fleet repeats the same few hundred labels: the regular expressions run once per distinct label,
# not once per reading of every poll (~5 % of a warm round's CPU).
@functools.lru_cache(maxsize=8192)
def _first_kind(rules: tuple[ClassifyRule, ...], label: str, classes: frozenset[int], quantity: Quantity) -> Kind:
    for rule in rules:
        if rule.matches(label, set(classes), quantity):
            return rule.kind
    return Kind.OTHER


def dedupe_key(profile: Profile, label: str, kind: Kind) -> str:
    return _first_dedupe_key(profile.dedupe, label, kind)


@functools.lru_cache(maxsize=8192)
def _first_dedupe_key(rules: tuple[DedupeRule, ...], label: str, kind: Kind) -> str:
    for rule in rules:
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
