"""The machine-readable poll output (``netwatt poll --format json``): a contract other tools use."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from agent.power.readings import PollResult


def poll_json(result: PollResult) -> dict[str, Any]:
    return {
        "device": result.device,
        "site": result.site,
        "time": result.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "power_w": result.power.power_w,
        "method": str(result.power.method),
        "basis": result.power.basis,
        "vendor": result.info.vendor,
        "model": result.info.model,
        "sys_object_id": result.info.sys_object_id,
        "profiles": result.info.profiles,
        "note": result.power.note,
        "readings": [reading.to_json() for reading in result.power.readings],
        "errors": result.errors,
        "requests": result.requests,
        "elapsed_s": round(result.elapsed_s, 4),
    }


@dataclass(slots=True)
class PollSummary:
    """``poll --format summary``: counts over a fleet, accumulated as results arrive."""

    devices: int = 0
    ok: int = 0
    failed: int = 0
    timeouts: int = 0
    requests: int = 0
    with_power: int = 0
    total_w: float = 0.0

    def add(self, result: PollResult) -> None:
        self.devices += 1
        self.ok += result.ok
        self.failed += not result.ok
        self.timeouts += any(e.startswith("timeout") for e in result.errors)
        self.requests += result.requests
        self.with_power += result.power.power_w is not None
        self.total_w += result.power.power_w or 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"total_w": round(self.total_w, 3)}
