"""Coverage of real recorded walks (../shared/corpus/librenms) as the acceptance suite measures it,
offline through ``netwatt discover --walk``:

- seen: LibreNMS power sensors (sensor_class power) that discover reports at all, any verdict;
- agree: of those netwatt accepts (status ok, a value), the same watts (1 % or 0.05 W);
- totals: devices with device-level power (``device_level`` says which) that get a device total.

    python -m tests.corpus_coverage        # prints the three ratios and the misses
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.discover import discover_recording
from agent.power.readings import Status
from tests.corpus import CORPUS


@dataclass
class Coverage:
    sensors: int = 0
    seen: int = 0
    accepted: int = 0
    agree: int = 0
    devices_with_power: int = 0
    devices_with_total: int = 0
    misses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"seen   {self.seen}/{self.sensors} ({_pct(self.seen, self.sensors)})",
                f"agree  {self.agree}/{self.accepted} ({_pct(self.agree, self.accepted)})",
                f"totals {self.devices_with_total}/{self.devices_with_power} "
                f"({_pct(self.devices_with_total, self.devices_with_power)})", *self.misses]


def same_watts(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= max(0.05, 0.01 * abs(theirs))


def coverage(walks: Iterable[Path], device_level: set[str]) -> Coverage:
    cov = Coverage()
    for walk in sorted(walks):
        result, _ = asyncio.run(discover_recording(walk))
        ours = {r.address: r for r in result.power.readings}
        expected = json.loads(walk.with_suffix(".expected.json").read_text(encoding="utf-8"))
        for sensor in expected["sensors"]:
            if sensor["sensor_class"] != "power":
                continue
            cov.sensors += 1
            reading = ours.get(sensor["sensor_oid"].lstrip("."))
            if reading is None:
                cov.misses.append(f"{walk.stem}: not seen {sensor['sensor_oid']} {sensor['sensor_descr']}")
                continue
            cov.seen += 1
            if reading.status is Status.OK and reading.value is not None:
                cov.accepted += 1
                if same_watts(reading.value, sensor["sensor_current"]):
                    cov.agree += 1
                else:
                    cov.misses.append(f"{walk.stem}: {reading.address} {reading.value} W vs "
                                      f"{sensor['sensor_current']} W")
        if walk.stem in device_level:
            cov.devices_with_power += 1
            if result.power.power_w is not None:
                cov.devices_with_total += 1
            else:
                cov.misses.append(f"{walk.stem}: no device total ({result.power.note})")
    return cov


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def main() -> int:
    from tests.test_corpus_interop import TRUTH  # noqa: PLC0415 - the truth table lives with its tests
    device_level = {walk for walk, truth in TRUTH.items() if truth[0] is not None}
    print("\n".join(coverage(CORPUS.glob("*.snmprec"), device_level).lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
