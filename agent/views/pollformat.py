"""The machine-readable poll output (``netwatt poll --format json``): a contract other tools use."""

from __future__ import annotations

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
