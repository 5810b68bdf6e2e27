"""Does the agent's per-poll scheduling work grow with the fleet? APScheduler 3's job store and our
own bookkeeping, measured with the agent's real job options and no network.

    python3 bench/scheduler_cost.py --devices 1000,10000 --rate 1000 --seconds 20

What one APScheduler job per device costs: the agent had one until issue 17 (``netwatt run`` now starts
one job per interval and polls a round's devices as one batch, ``agent.daemon.round_job_options``).
For each fleet size N, N jobs are scheduled with ``poll_job_options`` below, the agent's former
per-device job options (fixed per-device offsets over the interval) at an interval of N / rate
seconds, so every size runs the same number of jobs per second. Each job does what the former
``Agent._poll_job`` did around the poll (task bookkeeping, a
result appended for the committer) with a no-op poll. Reported: CPU microseconds per job run, and
the job store's share (``MemoryJobStore.update_job`` + ``get_due_jobs``), from a py-spy-free timer
around those two methods. Flat numbers across N mean no per-poll work grows with the fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from agent.config.load import Config, load_config_text
from agent.daemon import device_offset_s
from agent.settings.config import Device


def poll_job_options(device: Device, config: Config, *, now: datetime) -> dict[str, Any]:
    """The per-device job the agent used before issue 17 (round_interval off, as configured here)."""
    interval = device.interval_s or config.agent.interval_s
    start = now + timedelta(seconds=0.1 + device_offset_s(device, config))
    return {"trigger": IntervalTrigger(seconds=interval, start_date=start, timezone=UTC), "id": f"poll:{device.name}",
            "max_instances": 1, "coalesce": True, "misfire_grace_time": max(1, int(interval)),
            "replace_existing": True}


class Timed:
    """Wall time spent inside the job store's per-run methods."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        setattr(cls, name, timed)


def config_for(devices: int, interval_s: float) -> Any:
    lines = ["version: 1", f"agent: {{interval: {interval_s:g}s, round_interval: false, "
             f"collection_jitter: {interval_s * 0.99:g}s}}",
             "credentials:", "  c: {version: 2c, community: 'plain:x'}", "devices:"]
    lines += [f"  - {{name: dev{i:05d}, address: 10.{i // 65536}.{i // 256 % 256}.{i % 256}, credential: c}}"
              for i in range(devices)]
    return load_config_text("\n".join(lines) + "\n", environ={})


async def measure(devices: int, rate: float, seconds: float, store_timer: Timed) -> dict[str, float]:
    interval = devices / rate
    config = config_for(devices, interval)
    pending: list[str] = []
    running: set[asyncio.Task[Any]] = set()
    runs = 0

    async def poll_job(name: str) -> None:           # Agent._poll_job without the network
        nonlocal runs
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            _ = config.devices[name]
            pending.append(name)
            runs += 1
        finally:
            running.discard(task)

    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for device in config.devices.values():
        scheduler.add_job(poll_job, args=[device.name], **poll_job_options(device, config, now=now))
    scheduler.start()
    await asyncio.sleep(interval + 1)        # every job has started once; the store is in steady state
    runs, store_timer.seconds, store_timer.calls = 0, 0.0, 0
    pending.clear()
    cpu_before = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu_before
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)     # shutdown cancels the running job
    scheduler.shutdown(wait=False)
    return {"devices": devices, "interval_s": round(interval, 2), "job_runs": runs,
            "runs_per_s": round(runs / seconds, 1), "cpu_us_per_run": round(1e6 * cpu / max(runs, 1), 1),
            "jobstore_us_per_run": round(1e6 * store_timer.seconds / max(runs, 1), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="1000,10000")
    parser.add_argument("--rate", type=float, default=1000.0, help="job runs per second at every size")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args()
    store_timer = Timed()
    store_timer.wrap(MemoryJobStore, "update_job")
    store_timer.wrap(MemoryJobStore, "get_due_jobs")
    rows = [asyncio.run(measure(int(n), args.rate, args.seconds, store_timer)) for n in args.devices.split(",")]
    for row in rows:
        print(json.dumps(row))
    if args.out:
        args.out.write_text(json.dumps({"argv": sys.argv, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
