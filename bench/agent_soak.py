"""Soak: ``netwatt run`` on 1,000 simulated devices every 60 s for 10 minutes, store + InfluxDB output.

    sudo python3 bench/agent_soak.py --devices 1000 --minutes 10
    sudo python3 bench/agent_soak.py --devices 3 --minutes 1 --interval 10 --jitter 2   # a quick try

Needs root (``ip netns``), Debian ``snmpd snmp influxdb iproute2``. The devices are ``fleet.py``'s: one
snmpd in a private network namespace answering on every 127.X.Y.Z:16100. Inside the same namespace run a
real InfluxDB 1.6 (``tests.harness.influxd.InfluxServer``; this process enters the namespace with
setns(2) while it starts and queries influxd) and the agent, ``python -m agent.cli run -c CONFIG`` under
``ip netns exec``: the same ``main()`` as the ``netwatt`` command, run from a snapshot of the source
(``run_fleet.snapshot_netwatt``) so edits to the work tree during the run cannot change it.

Config: ``interval: 60s``, ``round_interval: true`` (polls start on the minute), ``collection_jitter:
10s``, ``flush_interval: 10s``, ``max_in_flight: 1000``; devices as ``run_fleet.py`` writes them
(v2c, ``profiles: auto``, ``timeout: 2s``, ``retries: 1``); outputs: the embedded SQLite store and
``influxdb_v1``, so every point also goes through the spool.

The agent is started so that its first poll round is the next minute boundary B1 and stopped (SIGTERM,
exit code 0 expected) 1 s before round ``minutes + 1`` would start: exactly ``minutes`` rounds. Every 5 s
(on the wall clock, so 60 s windows line up with rounds) the agent's VmRSS and utime+stime are sampled,
with the store's size, influxd's and snmpd's CPU and the machine's busy time. At the end:
``status -c CONFIG --format json``, the store itself (points per measurement and per round, the agent's
own ``agent`` self-metric lines: timeouts, skipped, spool_pending) and InfluxQL ``count(*)``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # tests.harness, as in the test suite

from fleet import Fleet, cpu_seconds, device_address, exit_on_signals
from run_fleet import machine, machine_busy_s, snapshot_netwatt

from tests.harness.influxd import InfluxServer

BENCH_DIR = Path(__file__).resolve().parent
CLONE_NEWNET = 0x40000000
DATABASE = "netwatt"
SHUTDOWN_TIMEOUT_S = 10.0


# --- the namespace, for this process ---------------------------------------------------------------


@contextlib.contextmanager
def inside_netns(name: str) -> Iterator[None]:
    """This thread (and what it starts) in the network namespace ``name``; back home on exit.

    Python 3.11 has no os.setns. Children forked meanwhile (influxd) stay in the namespace; sockets
    keep the namespace they were made in. Leave before ``Fleet.stop``: it kills every process inside.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/self/ns/net", "rb") as home, open(f"/run/netns/{name}", "rb") as target:
        if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
        try:
            yield
        finally:
            if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back home: {os.strerror(err)}")


# --- config -------------------------------------------------------------------------------------------


def fleet_config(agent_lines: Sequence[str], *, devices: int, device_keys: str, first_name: int = 0) -> list[str]:
    """The benches' config lines: ``agent:`` with ``agent_lines``, one v2c credential, the site, ``devices``
    devices at the fleet's addresses (named from dev{first_name:05d}, each with ``device_keys``), the
    SQLite output; a caller may append more outputs."""
    lines = ["version: 1", "agent:", *(f"  {line}" for line in agent_lines),
             "credentials:",
             '  bench: {version: 2c, community: "plain:public"}',
             "sites:",
             "  bench: {timezone: UTC, grid_zone: FR}",
             "devices:"]
    lines += [f'  - {{name: dev{i + first_name:05d}, address: "{device_address(i)}", site: bench, role: switch, '
              f"credential: bench, {device_keys}}}" for i in range(devices)]
    return [*lines, "outputs:", "  - {type: sqlite}"]


def agent_config(*, devices: int, interval_s: int, jitter_s: float, flush_s: float, state_dir: Path,
                 influx_url: str | None, max_in_flight: int) -> str:
    lines = fleet_config([f"interval: {interval_s}s", "round_interval: true", f"collection_jitter: {jitter_s:g}s",
                          f"flush_interval: {flush_s:g}s", f"max_in_flight: {max_in_flight}",
                          f"shutdown_timeout: {SHUTDOWN_TIMEOUT_S:g}s", f'state_directory: "{state_dir}"',
                          "hostname: soak"],
                         devices=devices, device_keys="profiles: auto, timeout: 2s, retries: 1", first_name=1)
    if influx_url:
        lines.append(f'  - {{type: influxdb_v1, url: "{influx_url}", database: {DATABASE}}}')
    return "\n".join(lines) + "\n"


# --- sampling -----------------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float                 # epoch seconds
    cpu_s: float             # the agent's utime + stime
    rss_kb: int
    hwm_kb: int
    threads: int
    store_bytes: int         # netwatt.db + -wal on disk
    store_logical_bytes: int  # page_count x page_size as a reader sees it (WAL included), -1 if unreadable
    store_max_id: int        # points.id of the newest point: points stored so far
    busy_s: float            # the whole machine's busy CPU time (all cores)
    influxd_cpu_s: float
    snmpd_cpu_s: float


def proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            values[key] = int(rest.split()[0])
    return values


def store_bytes(state_dir: Path) -> int:
    return sum(p.stat().st_size for p in (state_dir / "netwatt.db", state_dir / "netwatt.db-wal") if p.exists())


def store_logical(path: Path) -> tuple[int, int]:
    """(database bytes, newest point id) through a read-only connection; (-1, -1) if it cannot be read.

    The file sizes alone mislead in WAL mode (the -wal file grows and is checkpointed back).
    """
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return -1, -1
    try:
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        size = int(db.execute("PRAGMA page_size").fetchone()[0])
        newest = db.execute("SELECT MAX(id) FROM points").fetchone()[0]
        return pages * size, int(newest or 0)
    except sqlite3.Error:
        return -1, -1
    finally:
        db.close()


def take_sample(agent_pid: int, state_dir: Path, influxd_pid: int | None, snmpd_pid: int) -> Sample:
    status = proc_status(agent_pid)
    logical, newest = store_logical(state_dir / "netwatt.db")
    return Sample(t=round(time.time(), 3), cpu_s=cpu_seconds(agent_pid), rss_kb=status.get("VmRSS", 0),
                  hwm_kb=status.get("VmHWM", 0), threads=status.get("Threads", 0),
                  store_bytes=store_bytes(state_dir), store_logical_bytes=logical, store_max_id=newest,
                  busy_s=machine_busy_s(),
                  influxd_cpu_s=cpu_seconds(influxd_pid) if influxd_pid else 0.0,
                  snmpd_cpu_s=cpu_seconds(snmpd_pid))


def sleep_until(when: float) -> None:
    while (left := when - time.time()) > 0:
        time.sleep(min(left, 1.0))


def log_messages(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    entries.append(json.loads(line))
            elif line.strip():
                entries.append({"level": "raw", "message": line[:300]})
    return entries


def wait_started(proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> float:
    """Epoch seconds when the agent said it started (its scheduler runs); RuntimeError otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the agent exited with {proc.returncode} at start: {tail(log)}")
        if any(str(e.get("message", "")).startswith("netwatt started") for e in log_messages(log)):
            return time.time()
        time.sleep(0.2)
    raise RuntimeError(f"the agent did not start within {timeout_s:g} s: {tail(log)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- the store after the run ---------------------------------------------------------------------------


def parse_fields(line: str) -> dict[str, float]:
    """Fields of one ``agent,host=... k=1i,... TIME`` line (numbers only; tags have no spaces)."""
    fields: dict[str, float] = {}
    for part in line.split(" ")[1].split(","):
        key, _, value = part.partition("=")
        with contextlib.suppress(ValueError):
            fields[key] = float(value.rstrip("i"))
    return fields


def read_store(path: Path, *, interval_s: int) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        by_measurement = dict(db.execute("SELECT measurement, COUNT(*) FROM points GROUP BY measurement"))
        per_round = [{"round_start": int(start), "device_power_points": count, "devices": devices,
                      "first_s": int(first - start), "last_s": int(last - start)}
                     for start, count, devices, first, last in db.execute(
                         "SELECT (time / ?) * ?, COUNT(*), COUNT(DISTINCT device), MIN(time), MAX(time) "
                         "FROM points WHERE measurement = 'device_power' GROUP BY 1 ORDER BY 1",
                         (interval_s, interval_s))]
        # seconds between a device's successive polls (its device_power points): the real interval
        gaps = db.execute(
            "SELECT COUNT(gap), AVG(gap), MIN(gap), MAX(gap) FROM (SELECT time - LAG(time) OVER "
            "(PARTITION BY device ORDER BY time) AS gap FROM points WHERE measurement = 'device_power') "
            "WHERE gap IS NOT NULL").fetchone()
        agent_lines = [parse_fields(line) for (line,) in
                       db.execute("SELECT line FROM points WHERE measurement = 'agent' ORDER BY id")]
    finally:
        db.close()
    return {"by_measurement": by_measurement, "per_round": per_round,
            "poll_gap_s": {"count": gaps[0], "mean": round(gaps[1] or 0.0, 2), "min": gaps[2], "max": gaps[3]},
            "agent_last": agent_lines[-1] if agent_lines else {},
            "agent_lines": len(agent_lines),
            "spool_pending_max": max((a.get("spool_pending", 0) for a in agent_lines), default=0),
            "in_flight_limit_min": min((a.get("in_flight_limit", 0) for a in agent_lines), default=0)}


def influx_counts(server: InfluxServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in server.query("SELECT count(*) FROM /.*/", DATABASE):
        values = [int(v) for k, v in row.items() if k.startswith("count_") and v is not None]
        counts[str(row["name"])] = max(values, default=0)
    return counts


# --- analysis -------------------------------------------------------------------------------------------


def analyse(samples: Sequence[Sample], *, b1: float, rounds: int, interval_s: int, launched: float
            ) -> dict[str, Any]:
    """60 s windows aligned to the rounds: [B1 + k*interval, B1 + (k+1)*interval], the last ends at stop."""
    def at(t: float) -> Sample:
        return min(samples, key=lambda s: abs(s.t - t))

    windows: list[dict[str, Any]] = []
    for k in range(rounds):
        a, b = at(b1 + k * interval_s), at(b1 + (k + 1) * interval_s)
        span = b.t - a.t
        if span <= 0:
            continue
        agent = b.cpu_s - a.cpu_s
        other = (b.busy_s - a.busy_s) - agent - (b.influxd_cpu_s - a.influxd_cpu_s) - (b.snmpd_cpu_s - a.snmpd_cpu_s)
        windows.append({"round": k + 1, "seconds": round(span, 1), "agent_cpu_s": round(agent, 3),
                        "agent_core_share": round(agent / span, 4),
                        "influxd_cpu_s": round(b.influxd_cpu_s - a.influxd_cpu_s, 3),
                        "snmpd_cpu_s": round(b.snmpd_cpu_s - a.snmpd_cpu_s, 3),
                        "other_load_cores": round(max(0.0, other) / span, 3),
                        "rss_mb_end": round(b.rss_kb / 1024, 1)})
    start, first_round_end, end = at(b1), at(b1 + interval_s), samples[-1]
    steady = [s for s in samples if s.t >= first_round_end.t - 0.5]
    rss_mb = [s.rss_kb / 1024 for s in samples if s.t >= b1 - 0.5]
    slope_mb_h = 0.0
    if len(steady) >= 3:
        fit = statistics.linear_regression([s.t for s in steady], [s.rss_kb / 1024 for s in steady])
        slope_mb_h = fit.slope * 3600
    shares = [w["agent_core_share"] for w in windows]
    return {
        "windows": windows,
        "startup": {"seconds": round(start.t - launched, 1), "agent_cpu_s": round(start.cpu_s, 2),
                    "rss_mb": round(start.rss_kb / 1024, 1)},
        "cpu_share_mean": round(statistics.fmean(shares), 4) if shares else 0.0,
        "cpu_share_max": round(max(shares), 4) if shares else 0.0,
        "agent_cpu_s_rounds": round(end.cpu_s - start.cpu_s, 2),
        "rss_mb_min": round(min(rss_mb), 1), "rss_mb_median": round(statistics.median(rss_mb), 1),
        "rss_mb_max": round(max(rss_mb), 1), "rss_mb_at_b1": round(start.rss_kb / 1024, 1),
        "rss_mb_after_round1": round(first_round_end.rss_kb / 1024, 1), "rss_mb_end": round(end.rss_kb / 1024, 1),
        "rss_growth_mb": round((end.rss_kb - first_round_end.rss_kb) / 1024, 1),
        "rss_slope_mb_per_h": round(slope_mb_h, 1), "hwm_mb": round(end.hwm_kb / 1024, 1),
        "threads_max": max(s.threads for s in samples),
        "store_logical": {"at_b1": start.store_logical_bytes, "after_round1": first_round_end.store_logical_bytes,
                          "end": end.store_logical_bytes, "points_after_round1": first_round_end.store_max_id,
                          "points_end": end.store_max_id},
        "other_load_cores_max": max(
            (w["other_load_cores"] for w in windows), default=0.0),
    }


def markdown(r: dict[str, Any], meta: dict[str, Any]) -> str:
    a, s = r["analysis"], r["store"]
    devices, rounds = meta["devices"], meta["rounds"]
    polls = r["polls"]
    rows = [
        ("devices x rounds (interval, jitter)", f"{devices:,} x {rounds} ({meta['interval_s']} s, "
                                                 f"{meta['jitter_s']:g} s), outputs: sqlite + influxdb_v1"),
        ("polls done / expected", f"{polls['done']:,} / {polls['expected']:,} (per device min {polls['min']}, "
                                  f"max {polls['max']})"),
        ("seconds between a device's polls", f"mean {s['poll_gap_s']['mean']:.1f} (min {s['poll_gap_s']['min']}, "
                                             f"max {s['poll_gap_s']['max']}), configured {meta['interval_s']}"),
        ("skipped polls", f"{polls['skipped']}"),
        ("timeouts / poll errors", f"{polls['timeouts']} / {polls['poll_errors']}"),
        ("devices with an error streak > 0 at the end", f"{polls['error_streaks']}"),
        ("agent CPU, share of one core (60 s windows)", f"mean {100 * a['cpu_share_mean']:.1f} %, "
                                                        f"max {100 * a['cpu_share_max']:.1f} %"),
        ("agent CPU per poll", f"{1000 * a['agent_cpu_s_rounds'] / max(polls['done'], 1):.1f} ms "
                               f"(startup {a['startup']['agent_cpu_s']:.1f} s)"),
        ("RSS MB min / median / max", f"{a['rss_mb_min']:.1f} / {a['rss_mb_median']:.1f} / {a['rss_mb_max']:.1f}"),
        ("RSS MB before round 1 / after round 1 / end", f"{a['rss_mb_at_b1']:.1f} / {a['rss_mb_after_round1']:.1f} "
                                                        f"/ {a['rss_mb_end']:.1f} (growth {a['rss_growth_mb']:+.1f} "
                                                        f"MB, trend {a['rss_slope_mb_per_h']:+.1f} MB/h)"),
        ("points stored (per minute)", f"{s['points_stored']:,} ({s['points_per_min']:,.0f}/min: "
                                       + ", ".join(f"{k} {v:,}" for k, v in sorted(s['by_measurement'].items()))
                                       + ")"),
        ("store file at the end", f"{s['db_bytes'] / 2**20:.1f} MB; growth {s['bytes_per_point']:.0f} B/point, "
                                  f"{s['growth_mb_per_h']:.1f} MB/h extrapolated; the 5M-point bound is reached "
                                  f"in {s['days_to_max_points']:.1f} days"),
        ("spool pending at the end (max during the run)", f"{s['pending_end']} ({s['spool_pending_max']:.0f})"),
        ("InfluxDB count(*) / points written", f"{r['influx']['count']:,} / {r['influx']['written']:,}"),
        ("SIGTERM to exit", f"{r['shutdown']['seconds']:.1f} s, exit code {r['shutdown']['exit_code']}"),
        ("log lines warning / error", f"{r['log']['warning']} / {r['log']['error']}"),
        ("other load on the machine (max window)", f"{a['other_load_cores_max']:.2f} cores"),
    ]
    out = [f"Agent soak, {meta['date']}, {meta['machine']}", "", "| measure | value |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in rows]
    minutes = {row["round_start"]: row for row in s["per_round"]}
    b1 = r["timing"]["b1"]
    out += ["", "| round (window) | polls in it | poll times, s after its start | agent CPU s | share of a core "
            "| RSS MB at end | influxd CPU s | snmpd CPU s | other load |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for w in a["windows"]:
        row = minutes.get(int(b1) + (w["round"] - 1) * meta["interval_s"], {})
        out.append(f"| {w['round']} | {row.get('device_power_points', 0):,} | {row.get('first_s', '-')}-"
                   f"{row.get('last_s', '-')} | {w['agent_cpu_s']:.2f} | {100 * w['agent_core_share']:.1f} % | "
                   f"{w['rss_mb_end']:.1f} | {w['influxd_cpu_s']:.2f} | {w['snmpd_cpu_s']:.2f} | "
                   f"{w['other_load_cores']:.2f} |")
    out += ["", "Windows are the configured rounds, [B1 + k x interval, B1 + (k + 1) x interval]; polls in it: "
            "device_power points stamped in that window."]
    return "\n".join(out) + "\n"


# --- the run ----------------------------------------------------------------------------------------------


def stop_agent(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int | None, float]:
    started = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return None, time.monotonic() - started
    return proc.returncode, time.monotonic() - started


def soak(args: argparse.Namespace, fleet: Fleet, work: Path, netwatt: dict[str, Any]) -> dict[str, Any]:
    interval = args.interval
    rounds = max(1, round(args.minutes * 60 / interval))
    state_dir = work / "state"
    config = work / "netwatt.yaml"
    log = work / "agent.log"
    env = dict(os.environ, **netwatt["env"], PYTHONDONTWRITEBYTECODE="1")
    proc: subprocess.Popen[bytes] | None = None
    influx: InfluxServer | None = None
    with inside_netns(fleet.name):
        try:
            if not args.no_influx:
                influx = InfluxServer(work_dir=work / "influxd").start()
                influx.create_database(DATABASE)
            config.write_text(agent_config(devices=args.devices, interval_s=interval, jitter_s=args.jitter,
                                           flush_s=args.flush, state_dir=state_dir,
                                           influx_url=influx.url if influx else None,
                                           max_in_flight=args.max_in_flight))
            # The first round is the next interval boundary B1: start well before it, so that the agent
            # schedules its jobs before B1 and B1 is the boundary we think it is.
            margin = min(15.0, interval / 2)
            if interval - time.time() % interval < margin:
                sleep_until((time.time() // interval + 1) * interval + 0.5)
            launched = time.time()
            b1 = (launched // interval + 1) * interval
            stop_at = b1 + rounds * interval - 1.0
            udp_before = fleet.udp_counters()
            with log.open("wb") as log_file:
                proc = subprocess.Popen(
                    fleet.exec_argv([sys.executable, "-m", "agent.cli", "run", "-c", str(config),
                                     "--log-format", "json"]),
                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                    cwd=netwatt["dir"], start_new_session=True)
            started = wait_started(proc, log, timeout_s=max(5.0, b1 - launched - 1))
            print(f"agent pid {proc.pid} started {started - launched:.1f} s after launch; first round at "
                  f"{dt.datetime.fromtimestamp(b1, dt.UTC):%H:%M:%S}, {rounds} rounds, stop at "
                  f"{dt.datetime.fromtimestamp(stop_at, dt.UTC):%H:%M:%S}", flush=True)
            influxd_pid = influx.pid if influx else None
            samples: list[Sample] = []
            next_t = math.floor(time.time() / args.sample) * args.sample + args.sample
            while next_t < stop_at:
                sleep_until(next_t)
                if proc.poll() is not None:
                    raise RuntimeError(f"the agent exited with {proc.returncode} during the run: {tail(log)}")
                samples.append(take_sample(proc.pid, state_dir, influxd_pid, fleet.snmpd_pid))
                if len(samples) % max(1, round(interval / args.sample)) == 0:
                    s = samples[-1]
                    print(f"  {dt.datetime.fromtimestamp(s.t, dt.UTC):%H:%M:%S} cpu {s.cpu_s:7.2f} s  "
                          f"rss {s.rss_kb / 1024:6.1f} MB  store {s.store_bytes / 2**20:6.1f} MB", flush=True)
                next_t += args.sample
            sleep_until(stop_at)
            samples.append(take_sample(proc.pid, state_dir, influxd_pid, fleet.snmpd_pid))
            exit_code, shutdown_s = stop_agent(proc, SHUTDOWN_TIMEOUT_S + 30)
            udp_after = fleet.udp_counters()
            influx_by = influx_counts(influx) if influx else {}
            influxd_end = proc_status(influxd_pid) if influxd_pid else {}
        finally:
            if proc is not None and proc.poll() is None:
                stop_agent(proc, 15)
            if influx is not None:
                influx.close()
    status_run = subprocess.run([sys.executable, "-m", "agent.cli", "status", "-c", str(config), "--format", "json"],
                                capture_output=True, text=True, env=env, cwd=netwatt["dir"], timeout=120,
                                check=False)
    if status_run.returncode != 0:
        raise RuntimeError(f"netwatt status failed ({status_run.returncode}): {status_run.stderr[-1500:]}")
    status = json.loads(status_run.stdout)
    store = read_store(state_dir / "netwatt.db", interval_s=interval)
    db_bytes = store_bytes(state_dir)

    analysis = analyse(samples, b1=b1, rounds=rounds, interval_s=interval, launched=launched)
    devices = status["devices"]
    per_device = [d["polls"] for d in devices]
    counters = status["counters"]
    agent_last = store["agent_last"]
    outputs = {o["output"]: o for o in status["outputs"]}
    influx_out = next((o for name, o in outputs.items() if name.startswith("influxdb_v1")), None)
    points_stored = int(status["points_stored"])
    per_hour = 3600 / interval
    # steady growth: from the end of round 1 (device rows, energy state: made once) to the end
    logical = analysis["store_logical"]
    grown = logical["end"] - logical["after_round1"]
    grown_points = logical["points_end"] - logical["points_after_round1"]
    steady_rounds = max(rounds - 1, 1)
    points_per_day = points_stored / rounds * per_hour * 24
    entries = log_messages(log)
    levels = [str(e.get("level")) for e in entries]
    notable = sorted({str(e.get("message", ""))[:160] for e in entries if e.get("level") in ("warning", "error")})
    return {
        "polls": {"done": sum(per_device), "expected": args.devices * rounds,
                  "min": min(per_device, default=0), "max": max(per_device, default=0),
                  "devices_seen": len(devices),
                  "skipped": int(counters.get("polls_skipped", 0)),
                  "skipped_by_device": sum(d["skipped"] for d in devices),
                  "timeouts": int(agent_last.get("timeouts", -1)),
                  "poll_errors": int(agent_last.get("poll_errors", -1)),
                  "error_streaks": sum(1 for d in devices if d["error_streak"] > 0),
                  "max_error_streak": max((d["error_streak"] for d in devices), default=0),
                  "last_errors": sorted({d["last_error"][:120] for d in devices if d["last_error"]})[:10]},
        "analysis": analysis,
        "store": {"points_stored": points_stored, "points_per_min": points_stored / (rounds * interval / 60),
                  "by_measurement": store["by_measurement"], "per_round": store["per_round"],
                  "poll_gap_s": store["poll_gap_s"],
                  "db_bytes": db_bytes, "bytes_per_point": grown / max(grown_points, 1),
                  "growth_mb_per_h": grown / steady_rounds * per_hour / 2**20,
                  "days_to_max_points": 5_000_000 / points_per_day if points_per_day else math.inf,
                  "pending_end": sum(o["pending"] for o in status["outputs"]),
                  "spool_pending_max": store["spool_pending_max"],
                  "in_flight_limit_min": store["in_flight_limit_min"], "agent_lines": store["agent_lines"],
                  "counters": counters, "outputs": status["outputs"]},
        "influx": {"count": sum(influx_by.values()), "by_measurement": influx_by,
                   "written": int(influx_out["written"]) if influx_out else 0,
                   "influxd_rss_mb_end": round(influxd_end.get("VmRSS", 0) / 1024, 1)},
        "shutdown": {"exit_code": exit_code, "seconds": round(shutdown_s, 2)},
        "udp_rcvbuf_errors": udp_after.get("RcvbufErrors", 0) - udp_before.get("RcvbufErrors", 0),
        "log": {"lines": len(entries), "warning": levels.count("warning"), "error": levels.count("error"),
                "raw": levels.count("raw"), "notable": notable[:20]},
        "timing": {"launched": launched, "b1": b1, "stop_at": stop_at, "rounds": rounds},
        "samples": [asdict(s) for s in samples],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0, help="run length: minutes*60/interval rounds")
    parser.add_argument("--interval", type=int, default=60, help="poll interval (s)")
    parser.add_argument("--jitter", type=float, default=10.0, help="collection_jitter (s)")
    parser.add_argument("--flush", type=float, default=10.0, help="flush_interval (s)")
    parser.add_argument("--sample", type=float, default=5.0, help="sampling period (s)")
    parser.add_argument("--max-in-flight", type=int, default=1000)
    parser.add_argument("--no-influx", action="store_true", help="the embedded store only")
    parser.add_argument("--netwatt-src", type=Path, default=BENCH_DIR.parent)
    parser.add_argument("--out", type=Path, default=None, help="JSON (default bench/results/agent-soak-DATE.json)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (ip netns); run with sudo")
    if args.interval < 2 * args.sample or args.jitter >= args.interval:
        parser.error("--interval must be at least two samples and longer than --jitter")
    now = dt.datetime.now(dt.UTC)
    out = args.out or BENCH_DIR / "results" / f"agent-soak-{now:%Y-%m-%d}.json"
    info = machine()
    rounds = max(1, round(args.minutes * 60 / args.interval))
    meta: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"), "devices": args.devices, "rounds": rounds,
        "interval_s": args.interval, "jitter_s": args.jitter, "flush_s": args.flush,
        "influx": not args.no_influx,
        "machine": f"{info['cpus']} cores ({info['cpu_model']}), {info['memory_gb']} GB, Linux {info['kernel']}, "
                   f"Python {info['python']}"}
    print(f"{meta['date']} {meta['machine']}", flush=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="netwatt-soak-"))
    try:
        netwatt = snapshot_netwatt(args.netwatt_src.resolve(), work / "netwatt-src")
        print(f"netwatt snapshot: commit {netwatt['commit']}, {len(netwatt['uncommitted'])} uncommitted file(s), "
              f"sha256 {netwatt['sha256']}", flush=True)
        with exit_on_signals(), Fleet(work_dir=work / "fleet") as fleet:
            print(f"namespace {fleet.name}, snmpd pid {fleet.snmpd_pid}", flush=True)
            result = soak(args, fleet, work, netwatt)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = markdown(result, meta)
    print()
    print(table)
    payload = {"meta": meta | {"machine_detail": info, "argv": sys.argv,
                               "elapsed_s": round(time.monotonic() - started, 1),
                               "netwatt": {k: v for k, v in netwatt.items() if k not in ("env", "dir")}},
               **result, "table_markdown": table}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {out} ({time.monotonic() - started:.0f} s)")
    ok = (result["shutdown"]["exit_code"] == 0 and result["polls"]["done"] == result["polls"]["expected"]
          and result["polls"]["skipped"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
