"""The end of an on-demand request: what it changed goes back to the state before it.

A request that switched a group's radios off "for 45s" must not leave them off for good when the group's
own rules say "leave as it is" (unmanaged by default, no window in force). The executor records each
target a request changed, with its state before, ahead of sending the change; once no request of the group
is in force any more, such a target wants that state back. Where a rule of the group wants a definite state
at that moment (a default, an event, a window), the rule decides and the record is superseded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from agent.wifi.model import Desired
from agent.wifi.policy import Request
from agent.wifi.store import PendingRestore


@dataclass(slots=True)
class Restores:
    desired: dict[str, list[Desired]]
    wanted: dict[str, bool] = field(default_factory=dict)          # target -> the state it goes back to
    records: dict[str, list[PendingRestore]] = field(default_factory=dict)   # target -> the records behind it
    superseded: list[PendingRestore] = field(default_factory=list)


def with_restores(desired: dict[str, list[Desired]], pending: list[PendingRestore], requests: list[Request],
                  now: datetime) -> Restores:
    """``desired`` with the restores due now; ``requests``: the requests in force (any group)."""
    result = Restores({group: list(wants) for group, wants in desired.items()})
    in_force = {r.group for r in requests if r.active(now)}
    by_target: dict[tuple[str, str], list[PendingRestore]] = {}
    for record in pending:
        if record.group not in in_force:
            by_target.setdefault((record.group, record.target), []).append(record)
    for (group, key), records in sorted(by_target.items()):
        wants = result.desired.get(group, [])
        index = next((i for i, w in enumerate(wants) if w.target.key == key), None)
        if index is None or wants[index].enabled is not None:     # gone from the group, or a rule decides
            result.superseded.extend(records)
            continue
        first = min(records, key=lambda r: r.request)             # the state before the first request
        wants[index] = replace(wants[index], enabled=first.before, who="request-end", request=None,
                               reason=f"on-demand request {first.request} ended: back to the state before it")
        result.wanted[key] = first.before
        result.records.setdefault(key, []).extend(records)
    return result
