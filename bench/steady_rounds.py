"""Steady-state rounds, end to end: what `netwatt run` does every interval once it knows the devices.

    sudo python3 bench/steady_rounds.py --sizes 1000,10000 --rounds 4

`run_fleet.py` times a whole process (start, config load, a first poll that must walk). An agent
that runs polls the same devices again and again, and a backend may then work differently (gufo
GETs the instances its last walk found). Here one process per backend polls the fleet ``--rounds``
times, like the daemon's rounds: poll -> normalise -> device power -> records committed to the
SQLite store (one transaction per round), and reports each round: wall and CPU seconds, requests
per device (the poller's count and snmpd's), failures, timeouts, the fleet's total watts and RSS.
Backends alternate per size (gufo, pysnmp); the first round is the cold one (walks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


async def worker(config_path: Path, rounds: int, pause_s: float) -> None:
    sys.path.insert(0, str(ROOT))
    from agent.config.load import load_config  # noqa: PLC0415
    from agent.daemon import open_store  # noqa: PLC0415
    from agent.pipeline.record import Recorder  # noqa: PLC0415
    from agent.poll import Poller  # noqa: PLC0415
    from agent.power.readings import PollResult  # noqa: PLC0415
    from agent.snmp_client import snmp_client  # noqa: PLC0415

    config = load_config(config_path)
    store = open_store(config)
    recorder = Recorder(config, store.energy_states())
    client = snmp_client(config)
    poller = Poller(config, client)
    try:
        for number in range(1, rounds + 1):
            pending: list[PollResult] = []
            started, cpu = time.perf_counter(), time.process_time()
            await poller.poll_many(config.devices.values(), on_result=pending.append)
            polled = time.perf_counter() - started
            store.commit([recorder.record(result) for result in pending])
            print(json.dumps({
                "round": number, "wall_s": round(time.perf_counter() - started, 3), "poll_s": round(polled, 3),
                "cpu_s": round(time.process_time() - cpu, 3), "devices": len(pending),
                "failed": sum(1 for r in pending if r.errors),
                "timeouts": sum(1 for r in pending if any(e.startswith("timeout") for e in r.errors)),
                "requests": sum(r.requests for r in pending),
                "total_w": round(sum(r.power.power_w or 0.0 for r in pending), 1),
                "backends": sorted({r.backend for r in pending}), "rss_mb": rss_mb(os.getpid()),
                "in_flight_limit": client.limit.slots}), flush=True)
            await asyncio.sleep(pause_s)
    finally:
        await client.close()
        store.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between rounds")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker, args.rounds, args.pause))
        return 0
    sys.path.insert(0, str(BENCH_DIR))
    from fleet import EXPECTED_DEVICE_W, Fleet, device_address, exit_on_signals  # noqa: PLC0415
    from run_fleet import machine, netwatt_config  # noqa: PLC0415

    results: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="netwatt-steady-"))
    with exit_on_signals(), Fleet(work_dir=work / "fleet") as fleet:
        for size in (int(n) for n in args.sizes.split(",")):
            addresses = [device_address(i) for i in range(size)]
            for backend in ("gufo", "pysnmp"):
                config = work / f"{size}-{backend}.yaml"
                config.write_text(netwatt_config(addresses, backend=backend,
                                                 state_directory=work / f"s-{size}-{backend}"))
                snmpd_before, in_pkts = fleet.snmpd_cpu_s(), (fleet.snmp_counters() or {}).get("in_pkts", 0)
                load = os.getloadavg()
                run = subprocess.run(fleet.exec_argv([sys.executable, str(Path(__file__).resolve()), "--worker",
                                                      str(config), "--rounds", str(args.rounds),
                                                      "--pause", str(args.pause)]),
                                     capture_output=True, text=True, check=False, cwd=ROOT,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT)))
                rounds = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
                for r in rounds:
                    r |= {"size": size, "backend": backend, "expected_w": size * EXPECTED_DEVICE_W,
                          "loadavg_1m_before": load[0]}
                    print(json.dumps(r), flush=True)
                if not rounds:
                    print(run.stderr[-2000:], file=sys.stderr)
                results += rounds
                results.append({"size": size, "backend": backend, "snmpd_cpu_s": round(fleet.snmpd_cpu_s()
                                - snmpd_before, 2), "snmpd_requests": (fleet.snmp_counters() or {}).get(
                                "in_pkts", 0) - in_pkts})
                print(json.dumps(results[-1]), flush=True)
    out = args.out or BENCH_DIR / "results" / f"steady-rounds-{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps({"machine": machine(), "argv": sys.argv, "rounds": results}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
