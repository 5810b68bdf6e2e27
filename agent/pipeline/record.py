"""Poll results -> what the store commits: points, the device's energy state and its status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.energy import EnergyState, Sample, integrate
from agent.points.schema import energy_points, poll_points
from agent.power.readings import PollResult
from agent.settings.config import Inventory
from agent.store.sqlite import PollRecord, Write, stored

if TYPE_CHECKING:
    from agent.emissions.engine import EmissionsEngine


def max_gap_for(config: Inventory, device_name: str) -> float:
    """The longest silence bridged for a device (``max_gap``, else three of its poll intervals): beyond it
    energy is not integrated, and the device's Prometheus samples go stale."""
    device = config.devices.get(device_name)
    interval_s = device.interval_s if device and device.interval_s else config.agent.interval_s
    return config.agent.max_gap_s or 3 * interval_s


class Recorder:
    """Keeps each device's energy state in memory, mirrored to the store by every commit."""

    def __init__(self, config: Inventory, energy_states: dict[str, EnergyState],
                 emissions: EmissionsEngine | None = None) -> None:
        self.config = config
        self.energy_states = energy_states
        self.emissions = emissions

    def record(self, result: PollResult) -> PollRecord:
        if self.emissions is not None:
            self.emissions.estimate(result)     # a labelled estimate where the device reports no power
        max_gap_s = max_gap_for(self.config, result.device)
        state = self.energy_states.get(result.device, EnergyState())
        sample = Sample(result.time.timestamp(), result.power.power_w, result.power.method)
        state, intervals = integrate(state, sample, interval_s=self.config.agent.energy_interval_s,
                                     max_gap_s=max_gap_s)
        self.energy_states[result.device] = state
        points = poll_points(result) + energy_points(result.site, result.device, intervals)
        writes: list[Write] = []
        if self.emissions is not None:
            more, writes = self.emissions.record(result, intervals)
            points += more
        return PollRecord(
            device=result.device, time_s=result.time.timestamp(), points=stored(points, result.device),
            energy=state, power_w=result.power.power_w, method=str(result.power.method),
            basis=result.power.basis, error="; ".join(result.errors), site=result.site, intervals=intervals,
            writes=writes,
        )
