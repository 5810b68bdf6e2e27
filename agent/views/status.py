"""What the store knows, for people: ``netwatt status`` and the demo's progress and summary."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

from agent.clock import wall_clock
from agent.emissions.store import WITHOUT_FACTOR, FactorCache
from agent.power.readings import PollResult
from agent.store.problem import read_problem
from agent.store.sqlite import Store
from agent.views.tables import grid, number


def _age(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    seconds = max(0.0, wall_clock().timestamp() - epoch)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}m ago"


def status_json(store: Store) -> dict[str, Any]:
    return {
        "store_problem": read_problem(store.path.parent),
        "devices": [asdict(s) for s in store.device_statuses()],
        "outputs": [asdict(o) for o in store.output_statuses()],
        "counters": store.counters(),
        "points_stored": store.point_count(),
        "energy_intervals_without_factor": store.counters().get(WITHOUT_FACTOR, 0),
        "grid_factor_providers": [asdict(s) for s in FactorCache(store).statuses()],
    }


def status_table(store: Store) -> str:
    devices = [[s.device, _age(s.last_poll), number(s.power_w), s.method or "-", s.basis or "-",
                str(s.error_streak), str(s.skipped), s.last_error[:60]] for s in store.device_statuses()]
    outputs = [[o.output, str(o.pending), _age(o.oldest_pending), str(o.written), str(o.dropped),
                str(o.set_aside), o.last_error[:60]] for o in store.output_statuses()]
    counters = store.counters()
    problem = read_problem(store.path.parent)
    return "\n\n".join([
        *([f"STORE PROBLEM: {problem['problem']} ({problem.get('unsaved_polls', 0)} polls kept in memory)"]
          if problem else []),
        grid(["device", "last poll", "power W", "method", "basis", "error streak", "skipped", "last error"],
             devices),
        grid(["output", "unsent", "oldest unsent", "written", "dropped", "set aside", "last error"], outputs)
        if outputs else "outputs: none (points stay in the embedded store)",
        *_providers_table(store),
        *_without_factor(counters),
        f"store {store.path}: {store.point_count()} points; " + ", ".join(
            f"{name} {value}" for name, value in sorted(counters.items())),
    ])


def _without_factor(counters: dict[str, int]) -> list[str]:
    count = counters.get(WITHOUT_FACTOR, 0)
    return [f"emissions: {count} energy intervals had no usable grid factor: no CO2e was written for them "
            "(not 0 g); the log names the site, `netwatt report` shows their share"] if count else []


def _providers_table(store: Store) -> list[str]:
    rows = [[s.provider, s.zone, _age(s.last_attempt), _age(s.last_ok), s.last_error[:60] or "-"]
            for s in FactorCache(store).statuses()]
    return [grid(["grid factors", "zone", "last attempt", "last ok", "last error"], rows)] if rows else []


class DemoProgress:
    def __init__(self, devices: int, cycles: int) -> None:
        self.devices = devices
        self.cycles = cycles
        self.polls = 0

    def update(self, results: list[PollResult]) -> None:
        self.polls += len(results)
        power = sum(r.power.power_w or 0.0 for r in results)
        print(f"\r  polled {self.polls:4d} times ({self.polls / max(self.devices, 1):.1f} of {self.cycles} "
              f"cycles); last batch {power:8.1f} W", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        print(file=sys.stderr)


def demo_table(store: Store) -> str:
    energy: dict[str, float] = {}
    for device, interval in store.energy_intervals():
        energy[device] = energy.get(device, 0.0) + interval.wh
    for device, state in store.energy_states().items():
        energy[device] = energy.get(device, 0.0) + state.wh
    rows = [[s.device, number(s.power_w), s.method or "-", s.basis or "-", f"{energy.get(s.device, 0.0):.4f}",
             str(s.polls), s.last_error[:50] or "-"] for s in store.device_statuses()]
    total_w = sum(s.power_w or 0.0 for s in store.device_statuses())
    total_wh = sum(energy.values())
    return (grid(["device", "power W", "method", "basis", "energy Wh", "polls", "error"], rows)
            + f"\n\ntotal: {total_w:.2f} W now, {total_wh:.4f} Wh integrated during the demo "
            f"({store.point_count()} points in the embedded store {store.path.name})")
