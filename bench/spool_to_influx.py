"""Spool -> InfluxDB 1.x: how fast netwatt drains its SQLite spool into a real influxd on this machine.

    sudo python3 bench/spool_to_influx.py                       # 200,000 points, 3 rounds (~3 minutes)
    python3 bench/spool_to_influx.py --points 5000 --rounds 1   # a quick try

Root is not needed (influxd runs as the caller on free loopback ports). What runs is netwatt's own code:

- a ``agent.store.sqlite.Store`` in a temporary state directory, filled with N points shaped like
  the agent's (``device_power``, ``component_power``, ``energy``; tags sorted, precision seconds,
  timestamps in the last hour, encoded by ``agent.points.lineprotocol.Point``);
- a real InfluxDB 1.6 ``influxd`` (``tests.harness.influxd.InfluxServer``: own config and data dir);
- the real output, ``agent.outputs.influxdb.build_output(OutputSpec("influxdb_v1", ...))``, and the
  real forwarder, ``agent.pipeline.forward.Forwarder(store, [output]).flush()``, called until nothing is
  pending.

Each drain writes to a new database (a new output name, so a new spool cursor that starts at the first
point: one filled store serves every drain). After the drain ``SELECT count(*)`` must find exactly N
points; then the database is dropped. Measured per drain: wall seconds from the first ``flush()`` to an
empty spool, points/s, CPU seconds of this process (``getrusage``: the event loop, SQLite reads, line
joining, gzip and the urllib3 worker threads) and of influxd (``/proc/PID/stat``).

Configurations: gzip (netwatt's default) and identity, metric_batch_size 5000 (the default) and 1000.
Rounds run the four in alternating order (forward, then backward, ...) after one unrecorded warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # tests.harness, as in the test suite

from fleet import cpu_seconds
from run_fleet import first_line, machine, machine_busy_s

from agent.outputs.base import Output
from agent.outputs.http import encode_lines
from agent.outputs.influxdb import build_output
from agent.pipeline.forward import Forwarder
from agent.points.lineprotocol import Point
from agent.settings.config import AgentSettings, OutputSpec
from agent.store.sqlite import Store, StoredPoint
from tests.harness.influxd import InfluxServer

BENCH_DIR = Path(__file__).resolve().parent
ENCODINGS = ("gzip", "identity")
BATCH_SIZES = (5000, 1000)
POLLS = 40                  # polls per device in the hour, 60 s apart
POINTS_PER_POLL = 5         # device_power + 2 PSU inputs + PoE total and budget, as a fleet.py device gives
ENERGY_INTERVAL_S = 900


# --- the points -------------------------------------------------------------------------------------


def make_points(n: int, now: int) -> tuple[list[StoredPoint], dict[str, int]]:
    """N points as the agent stores them, oldest first, every (measurement, tags, time) distinct.

    One device per 200 points: 40 polls a minute apart, each with the 5 points `netwatt poll --format lp`
    gives for a fleet.py switch, and one energy point a device per 15-minute interval that ended.
    """
    devices = max(1, math.ceil(n / (POLLS * POINTS_PER_POLL)))
    first = now - 2700
    points: list[StoredPoint] = []
    per_measurement: dict[str, int] = {}

    def add(point: Point, device: str) -> bool:
        if len(points) >= n:
            return False
        points.append(StoredPoint(int(point.time.timestamp()), point.measurement, device, point.line()))
        per_measurement[point.measurement] = per_measurement.get(point.measurement, 0) + 1
        return True

    last_energy: dict[int, int] = {}
    for k in range(POLLS):
        for d in range(devices):
            t = first + 60 * k + d % 10
            when = dt.datetime.fromtimestamp(t, dt.UTC)
            device = f"sw{d:05d}"
            # readings vary like real sensors (1,000 values a step of 0.01 W), so gzip is not flattered
            wiggle = ((d * 7919 + k * 104729) % 1000) / 100
            psu1, psu2 = round(207.0 + wiggle, 2), round(203.0 - wiggle / 2, 2)
            site = f"site{d % 20:02d}"
            poll = [
                Point("device_power", {"site": site, "device": device, "role": "switch", "vendor": "bench",
                                       "model": "BENCH-48P", "method": "measured", "basis": "psu_input"},
                      {"watts": round(psu1 + psu2, 3)}, when),
                Point("component_power", {"site": site, "device": device, "component": "Power Supply 1",
                                          "kind": "psu_input", "method": "measured", "source": "snmp"},
                      {"watts": psu1}, when),
                Point("component_power", {"site": site, "device": device, "component": "Power Supply 2",
                                          "kind": "psu_input", "method": "measured", "source": "snmp"},
                      {"watts": psu2}, when),
                Point("component_power", {"site": site, "device": device, "component": "PoE group 1",
                                          "kind": "poe_total", "method": "measured", "source": "snmp"},
                      {"watts": round(91.0 + wiggle, 2)}, when),
                Point("component_power", {"site": site, "device": device, "component": "PoE group 1",
                                          "kind": "poe_budget", "method": "measured", "source": "snmp"},
                      {"watts": 740.0}, when),
            ]
            start = t - t % ENERGY_INTERVAL_S - ENERGY_INTERVAL_S      # the interval that ended before t
            if k > 0 and start >= first and last_energy.get(d) != start:
                last_energy[d] = start
                poll.append(Point("energy", {"site": site, "device": device, "method": "measured"},
                                  {"wh": round((psu1 + psu2) * ENERGY_INTERVAL_S / 3600, 4),
                                   "seconds": float(ENERGY_INTERVAL_S)},
                                  dt.datetime.fromtimestamp(start, dt.UTC)))
            for point in poll:
                if not add(point, device):
                    return points, per_measurement
    if len(points) < n:
        raise AssertionError(f"generated {len(points)} points, wanted {n}")
    return points, per_measurement


def fill_store(state_dir: Path, points: Sequence[StoredPoint]) -> Store:
    store = Store(state_dir, max_points=max(5_000_000, 2 * len(points)), buffer_limit=max(1_000_000, len(points)))
    for start in range(0, len(points), 10_000):
        store.commit([], points[start:start + 10_000])
    if store.point_count() != len(points):
        raise AssertionError(f"the store holds {store.point_count()} points, wanted {len(points)}")
    return store


# --- one drain --------------------------------------------------------------------------------------


@dataclass
class Drain:
    encoding: str
    batch_size: int
    round: int
    database: str
    points: int
    wall_s: float = 0.0
    cpu_self_s: float = 0.0
    cpu_influxd_s: float = 0.0
    cpu_influxd_after_s: float = 0.0      # influxd's CPU in the settle pause after the drain (deferred work)
    other_load_cores: float = 0.0         # the machine's busy CPU less ours and influxd's, per wall second
    flush_calls: int = 0
    batches: int = 0
    influx_count: int = 0
    influx_by_measurement: dict[str, int] = field(default_factory=dict)
    written: int = 0
    dropped: int = 0
    set_aside: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def points_per_s(self) -> float:
        return self.points / self.wall_s if self.wall_s else 0.0

    @property
    def ok(self) -> bool:
        return (self.influx_count == self.points and self.written == self.points and not self.dropped
                and not self.set_aside)


class WarningCounter(logging.Handler):
    """Keeps the forwarder's warnings (retries, rejections) of the current drain."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drain(store: Store, output: Output, *, limit_s: float) -> tuple[float, float, int]:
    """Flush until the spool is empty: (wall s, our CPU s, flush calls). RuntimeError past `limit_s`."""
    forwarder = Forwarder(store, [output])
    backoff = forwarder.backoff[output.name]
    calls = 0
    cpu0, t0 = _cpu_self(), time.perf_counter()
    while forwarder.pending():
        if time.perf_counter() - t0 > limit_s:
            raise RuntimeError(f"{output.name}: spool not drained within {limit_s:g} s")
        await forwarder.flush()
        calls += 1
        wait = backoff.not_before - time.monotonic()
        if wait > 0:                     # a retry is due later: wait for it, as the agent would
            await asyncio.sleep(min(wait, 5.0))
    return time.perf_counter() - t0, _cpu_self() - cpu0, calls


def influx_counts(server: InfluxServer, database: str) -> dict[str, int]:
    """Points per measurement: the largest count(field) of each (every point has all its fields)."""
    counts: dict[str, int] = {}
    for row in server.query("SELECT count(*) FROM /.*/", database):
        values = [int(v) for k, v in row.items() if k.startswith("count_") and v is not None]
        counts[str(row["name"])] = max(values, default=0)
    return counts


def run_drain(server: InfluxServer, store: Store, *, encoding: str, batch_size: int, number: int,
              database: str, settle_s: float, limit_s: float, handler: WarningCounter) -> Drain:
    assert server.pid is not None
    points = store.point_count()
    server.create_database(database)
    spec = OutputSpec("influxdb_v1", {"url": server.url, "database": database, "content_encoding": encoding})
    output = build_output(spec, AgentSettings(metric_batch_size=batch_size))
    handler.messages.clear()
    influxd0, busy0 = cpu_seconds(server.pid), machine_busy_s()
    try:
        wall, cpu, calls = asyncio.run(_drain(store, output, limit_s=limit_s))
    finally:
        asyncio.run(output.close())
    influxd1, busy1 = cpu_seconds(server.pid), machine_busy_s()
    time.sleep(settle_s)
    influxd2 = cpu_seconds(server.pid)
    [status] = [s for s in store.output_statuses() if s.output == output.name]
    by_measurement = influx_counts(server, database)
    server.drop_database(database)
    return Drain(encoding=encoding, batch_size=batch_size, round=number, database=database, points=points,
                 wall_s=round(wall, 3), cpu_self_s=round(cpu, 3), cpu_influxd_s=round(influxd1 - influxd0, 3),
                 cpu_influxd_after_s=round(influxd2 - influxd1, 3),
                 other_load_cores=round(max(0.0, busy1 - busy0 - cpu - (influxd1 - influxd0)) / wall, 3),
                 flush_calls=calls,
                 batches=math.ceil(points / batch_size), influx_count=sum(by_measurement.values()),
                 influx_by_measurement=by_measurement, written=status.written, dropped=status.dropped,
                 set_aside=status.set_aside, warnings=list(handler.messages))


def wire_bytes(lines: Sequence[str], batch_size: int, *, compress: bool) -> int:
    """Bytes of the request bodies, as the output builds them (not timed)."""
    return sum(len(encode_lines(list(lines[i:i + batch_size]), compress=compress))
               for i in range(0, len(lines), batch_size))


# --- summary ----------------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarise(drains: Sequence[Drain], wire: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for batch in BATCH_SIZES:
        for encoding in ENCODINGS:
            runs = [d for d in drains if d.encoding == encoding and d.batch_size == batch]
            if not runs:
                continue
            n = runs[0].points
            rows.append({
                "encoding": encoding, "batch_size": batch, "rounds": len(runs), "points": n,
                "wall_s": round(_median([r.wall_s for r in runs]), 3),
                "wall_s_min": min(r.wall_s for r in runs), "wall_s_max": max(r.wall_s for r in runs),
                "points_per_s": round(_median([r.points_per_s for r in runs])),
                "cpu_self_s": round(_median([r.cpu_self_s for r in runs]), 3),
                "cpu_self_us_per_point": round(1e6 * _median([r.cpu_self_s for r in runs]) / n, 2),
                "cpu_influxd_s": round(_median([r.cpu_influxd_s for r in runs]), 3),
                "cpu_influxd_after_s": round(_median([r.cpu_influxd_after_s for r in runs]), 3),
                "wire_bytes_per_point": round(wire[f"{encoding}-{batch}"] / n, 1),
                "other_load_cores_max": max(r.other_load_cores for r in runs),
                "all_counts_exact": all(r.ok for r in runs),
                "counts": sorted({r.influx_count for r in runs}),
            })
    ratios: list[dict[str, Any]] = []
    for batch in BATCH_SIZES:
        gz = {d.round: d for d in drains if d.encoding == "gzip" and d.batch_size == batch}
        ident = {d.round: d for d in drains if d.encoding == "identity" and d.batch_size == batch}
        pairs = [(gz[r], ident[r]) for r in sorted(gz) if r in ident]
        if not pairs:
            continue

        def ratio(a: float, b: float) -> float:
            return a / b if b else math.nan

        ratios.append({
            "batch_size": batch, "pairs": len(pairs),
            "points_per_s": round(_median([ratio(g.points_per_s, i.points_per_s) for g, i in pairs]), 3),
            "wall_s": round(_median([ratio(g.wall_s, i.wall_s) for g, i in pairs]), 3),
            "cpu_self_s": round(_median([ratio(g.cpu_self_s, i.cpu_self_s) for g, i in pairs]), 3),
            "cpu_influxd_s": round(_median([ratio(g.cpu_influxd_s, i.cpu_influxd_s) for g, i in pairs]), 3),
            "wire_bytes": round(ratio(wire[f"gzip-{batch}"], wire[f"identity-{batch}"]), 3),
        })
    return rows, ratios


def markdown(rows: Sequence[dict[str, Any]], ratios: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    out = [f"Spool -> InfluxDB 1.6.7, {meta['points']:,} points, {meta['date']}, {meta['machine']}", "",
           "| content encoding | batch | rounds | wall s (median, min-max) | points/s | our CPU s (us/point) "
           "| influxd CPU s (+ after) | wire bytes/point | count = N | other load (max) |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in rows:
        out.append(f"| {r['encoding']} | {r['batch_size']:,} | {r['rounds']} | {r['wall_s']:.2f} "
                   f"({r['wall_s_min']:.2f}-{r['wall_s_max']:.2f}) | {r['points_per_s']:,} | "
                   f"{r['cpu_self_s']:.2f} ({r['cpu_self_us_per_point']:.1f}) | "
                   f"{r['cpu_influxd_s']:.2f} (+{r['cpu_influxd_after_s']:.2f}) | {r['wire_bytes_per_point']:.1f} | "
                   f"{'yes' if r['all_counts_exact'] else 'NO ' + str(r['counts'])} | "
                   f"{r['other_load_cores_max']:.2f} |")
    out += ["", "| batch | gzip / identity: points/s | wall | our CPU | influxd CPU | wire bytes |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in ratios:
        out.append(f"| {r['batch_size']:,} | {r['points_per_s']:.2f}x | {r['wall_s']:.2f}x | {r['cpu_self_s']:.2f}x "
                   f"| {r['cpu_influxd_s']:.2f}x | {r['wire_bytes']:.3f}x |")
    out += ["", "Medians over rounds; ratios are medians of per-round ratios. Our CPU: this process (SQLite "
            "reads, joining, gzip, urllib3 threads); influxd CPU during the drain, (+ after): in the "
            f"{meta['settle_s']:g} s pause that follows it. count = N: InfluxQL count(*) found exactly N points "
            "after every drain. Other load: CPU the rest of the machine used during a drain, in cores (2 here)."]
    return "\n".join(out) + "\n"


def machine_info() -> dict[str, Any]:
    return machine({"influxd": ["influxd", "version"]}) | {
        "sqlite": sqlite3.sqlite_version,
        "netwatt_commit": first_line(["git", "-C", str(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"]),
        "netwatt_uncommitted": subprocess.run(
            ["git", "-C", str(BENCH_DIR.parent), "status", "--porcelain", "--", "agent"],
            capture_output=True, text=True, timeout=30, check=False).stdout.splitlines()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.0, help="pause after each drain (s)")
    parser.add_argument("--limit", type=float, default=600.0, help="bound on one drain (s)")
    parser.add_argument("--out", type=Path, default=None, help="JSON (default bench/results/spool-to-influx-DATE.json)")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    out = args.out or BENCH_DIR / "results" / f"spool-to-influx-{now:%Y-%m-%d}.json"
    info = machine_info()
    meta: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"), "points": args.points, "rounds": args.rounds,
        "settle_s": args.settle,
        "machine": f"{info['cpus']} cores ({info['cpu_model']}), {info['memory_gb']} GB, Linux {info['kernel']}, "
                   f"Python {info['python']}"}
    print(f"{meta['date']} {meta['machine']}; {info['influxd']}; netwatt {info['netwatt_commit']}", flush=True)
    started = time.monotonic()
    handler = WarningCounter()
    logging.getLogger("agent").addHandler(handler)
    logging.getLogger("agent").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="netwatt-spool-bench-"))
    drains: list[Drain] = []
    stores: list[Store] = []
    server = InfluxServer(work_dir=work / "influxd")
    try:
        t = time.perf_counter()
        points, per_measurement = make_points(args.points, int(time.time()))
        store = fill_store(work / "state", points)
        stores.append(store)
        warm_store = fill_store(work / "warmup", points[: min(len(points), 20_000)])
        stores.append(warm_store)
        db_bytes = store.path.stat().st_size + Path(f"{store.path}-wal").stat().st_size
        print(f"filled the store: {len(points):,} points {per_measurement} in {time.perf_counter() - t:.1f} s, "
              f"{db_bytes / 2**20:.1f} MB", flush=True)
        server.start()
        print(f"influxd pid {server.pid} at {server.url}", flush=True)
        run_drain(server, warm_store, encoding="gzip", batch_size=5000, number=0, database="warmup",
                  settle_s=args.settle, limit_s=args.limit, handler=handler)
        configs = [(e, b) for b in BATCH_SIZES for e in ENCODINGS]
        for number in range(1, args.rounds + 1):
            for encoding, batch in (configs if number % 2 else configs[::-1]):
                drain = run_drain(server, store, encoding=encoding, batch_size=batch, number=number,
                                  database=f"spool_{encoding}_{batch}_r{number}", settle_s=args.settle,
                                  limit_s=args.limit, handler=handler)
                drains.append(drain)
                print(f"  #{number} {encoding:8} batch {batch:5}  {drain.wall_s:7.2f} s  "
                      f"{drain.points_per_s:9,.0f} points/s  cpu {drain.cpu_self_s:6.2f} s  "
                      f"influxd {drain.cpu_influxd_s:6.2f} s (+{drain.cpu_influxd_after_s:.2f})  "
                      f"count {drain.influx_count}{'' if drain.ok else ' MISMATCH'}  "
                      f"other load {drain.other_load_cores:.2f} cores  "
                      f"warnings {len(drain.warnings)}", flush=True)
        lines = [p.line for p in points]
        wire = {f"{e}-{b}": wire_bytes(lines, b, compress=e == "gzip") for e, b in configs}
    finally:
        for s in stores:
            s.close()
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    rows, ratios = summarise(drains, wire)
    table = markdown(rows, ratios, meta)
    print()
    print(table)
    payload = {"meta": meta | {"machine_detail": info, "argv": sys.argv, "per_measurement": per_measurement,
                               "store_mb": round(db_bytes / 2**20, 2), "wire_bytes": wire,
                               "elapsed_s": round(time.monotonic() - started, 1)},
               "summary": rows, "ratios": ratios,
               "drains": [asdict(d) | {"points_per_s": round(d.points_per_s), "ok": d.ok} for d in drains],
               "table_markdown": table}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {out} ({time.monotonic() - started:.0f} s)")
    return 0 if all(d.ok for d in drains) else 1


if __name__ == "__main__":
    sys.exit(main())
