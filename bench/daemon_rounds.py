"""``netwatt run`` itself, round by round, against snmp_exporter on the same responder in the same run.

    sudo python3 bench/daemon_rounds.py --devices 1000 --rounds 4 --interval 20
    sudo python3 bench/daemon_rounds.py --devices 10000 --rounds 5 --interval 40 --once 2
    sudo python3 bench/daemon_rounds.py --devices 50000 --rounds 3 --interval 60 --no-exporter
    sudo python3 bench/daemon_rounds.py --devices 1000 --rounds 3 --interval 20 --py-spy prof.txt

The fleet is ``fleet.py``'s (one snmpd in a private namespace as N devices). The agent is
``python -m agent.cli run`` from a snapshot of the source (``run_fleet.snapshot_netwatt``), with the
profiles pinned to ``entity_sensor`` + ``power_ethernet``, timeout 1 s, retries 1, the gufo backend,
the SQLite store, ``round_interval: true`` (every round starts on a multiple of ``--interval``),
``flush_interval: 1s`` and its local ``/metrics`` endpoint, which this script reads every 0.1 s.

Per round: **wall** from the round's boundary until ``netwatt_polls_total`` reached N more polls;
**CPU** of the agent's process tree (utime+stime, children included) over the same span; **requests
per device** from snmpd's own snmpInPkts; skipped polls and timeouts from the agent's counters. Right
after each netwatt round (when it ended in time) snmp_exporter 0.21 scrapes the same N devices
(``peers.py scrape``, 200 in flight, same timeout and retries): its wall, CPU and requests. Ratios are
per round pair. ``--once K`` first runs ``run --once`` K times, each followed by an exporter round.
**RSS** is the sum of VmRSS over the agent's process tree (the config-parsing child included),
sampled every 0.05 s; its maximum is the peak.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_soak import fleet_config, inside_netns
from fleet import Fleet, cpu_seconds, device_address, exit_on_signals
from peers import exporter_config
from run_fleet import EXPORTER, EXPORTER_LISTEN, machine, machine_busy_s, snapshot_netwatt

BENCH_DIR = Path(__file__).resolve().parent
METRICS_PORT = 9469
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def agent_config(*, devices: int, interval_s: int, jitter_s: float, state_dir: Path, max_in_flight: int) -> str:
    lines = fleet_config([f"interval: {interval_s}s", "round_interval: true", f"collection_jitter: {jitter_s:g}s",
                          "flush_interval: 1s", f"max_in_flight: {max_in_flight}", "snmp_backend: gufo",
                          f'state_directory: "{state_dir}"', f'http: {{listen: "127.0.0.1:{METRICS_PORT}"}}',
                          "hostname: bench"],
                         devices=devices,
                         device_keys="profiles: [entity_sensor, power_ethernet], timeout: 1s, retries: 1")
    return "\n".join(lines) + "\n"


# --- the agent's process tree ------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_cpu_s(pid: int) -> float:
    """utime+stime of the tree, and of children already waited for (cutime+cstime)."""
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += sum(int(f) for f in fields[11:15]) / _CLK_TCK
    return total


@dataclass
class Metrics:
    t: float
    polls: int
    skipped: int
    timeouts: int
    poll_errors: int
    in_flight_limit: int
    cpu_s: float


@dataclass
class Watcher:
    """A thread sampling the agent tree's RSS (every 0.05 s) and, with ``netns``, its /metrics (every 0.1 s)."""

    pid: int
    netns: str | None = None
    peak_rss_kb: int = 0
    metrics: list[Metrics] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        ctx = inside_netns(self.netns) if self.netns else contextlib.nullcontext()
        with ctx:
            n = 0
            while not self._stop.is_set():
                self.peak_rss_kb = max(self.peak_rss_kb, sum(rss_kb(p) for p in tree(self.pid)))
                if self.netns and n % 2 == 0:
                    with contextlib.suppress(OSError, ValueError):
                        self.metrics.append(self._scrape())
                n += 1
                self._stop.wait(0.05)

    def _scrape(self) -> Metrics:
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=2) as reply:
            text = reply.read().decode()
        values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                  if line.startswith("netwatt_") and " " in line}
        return Metrics(time.time(), int(values["netwatt_polls_total"]), int(values["netwatt_polls_skipped_total"]),
                       int(values["netwatt_poll_timeouts_total"]), int(values["netwatt_poll_errors_total"]),
                       int(values["netwatt_snmp_in_flight_limit"]), tree_cpu_s(self.pid))


# --- rounds -----------------------------------------------------------------------------------------


@dataclass
class Round:
    poller: str            # "run" (the daemon), "run --once" or "exporter"
    number: int
    wall_s: float
    cpu_s: float
    req_per_device: float
    skipped: int = 0
    timeouts: int = 0
    failed: int = 0
    in_flight_limit: int = 0
    rss_mb: float = 0.0
    snmpd_cpu_s: float = 0.0
    other_load_cores: float = 0.0


class Bench:
    def __init__(self, fleet: Fleet, work: Path, args: argparse.Namespace, netwatt: dict[str, Any]) -> None:
        self.fleet, self.work, self.args = fleet, work, args
        self.env = dict(os.environ, **netwatt["env"], PYTHONDONTWRITEBYTECODE="1")
        self.cwd = netwatt["dir"]
        self.targets = work / "targets.txt"
        self.targets.write_text("\n".join(device_address(i) for i in range(args.devices)) + "\n")
        self.exporter: subprocess.Popen[bytes] | None = None
        self.rounds: list[Round] = []

    def in_pkts(self) -> int:
        return (self.fleet.snmp_counters() or {}).get("in_pkts", 0)

    def start_exporter(self) -> None:
        config = self.work / "snmp.yml"
        config.write_text(exporter_config(timeout_s=1.0, retries=1))
        self.exporter = subprocess.Popen(
            self.fleet.exec_argv([EXPORTER, f"--config.file={config}", f"--web.listen-address={EXPORTER_LISTEN}",
                                  "--log.level=warn"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.0)

    def stop_exporter(self) -> None:
        if self.exporter is not None and self.exporter.poll() is None:
            self.exporter.terminate()
            self.exporter.wait(timeout=10)

    def exporter_round(self, number: int, *, after: str = "run") -> Round:
        """snmp_exporter's round paired with netwatt's ``after`` round ``number`` (poller "exporter" after
        a daemon round, "exporter/once" after a `run --once`)."""
        assert self.exporter is not None
        before_pkts, before_cpu = self.in_pkts(), cpu_seconds(self.exporter.pid)
        snmpd, busy = self.fleet.snmpd_cpu_s(), machine_busy_s()
        started = time.perf_counter()
        out = subprocess.run(self.fleet.exec_argv([sys.executable, str(BENCH_DIR / "peers.py"), "scrape",
                                                   "--targets", str(self.targets), "--url",
                                                   f"http://{EXPORTER_LISTEN}", "--concurrency", "200"]),
                             capture_output=True, text=True, timeout=600, check=False)
        wall = time.perf_counter() - started
        cpu = cpu_seconds(self.exporter.pid) - before_cpu
        summary = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
        snmpd_cpu = self.fleet.snmpd_cpu_s() - snmpd
        other = machine_busy_s() - busy - cpu - snmpd_cpu
        r = Round("exporter" if after == "run" else "exporter/once", number, round(wall, 2), round(cpu, 2),
                  round((self.in_pkts() - before_pkts - 1) / self.args.devices, 2),
                  timeouts=int(summary.get("timeouts", -1)), failed=int(summary.get("failed", -1)),
                  snmpd_cpu_s=round(snmpd_cpu, 2), other_load_cores=round(max(0.0, other) / wall, 2))
        return self._add(r)

    def _add(self, r: Round) -> Round:
        self.rounds.append(r)
        print(f"  {r.poller:10} #{r.number}: wall {r.wall_s:6.2f} s  cpu {r.cpu_s:6.2f} s  "
              f"req/dev {r.req_per_device:4.2f}  skipped {r.skipped}  timeouts {r.timeouts}  "
              f"failed {r.failed}  limit {r.in_flight_limit}  rss {r.rss_mb:.0f} MB  snmpd {r.snmpd_cpu_s:.2f} s  "
              f"other load {r.other_load_cores:.2f}", flush=True)
        return r

    def config(self, name: str) -> Path:
        state = self.work / f"state-{name}"
        shutil.rmtree(state, ignore_errors=True)
        path = self.work / f"{name}.yaml"
        path.write_text(agent_config(devices=self.args.devices, interval_s=self.args.interval,
                                     jitter_s=self.args.jitter, state_dir=state,
                                     max_in_flight=self.args.max_in_flight))
        return path

    def agent_argv(self, kind: str, *argv: str) -> list[str]:
        command = [sys.executable, "-m", "agent.cli", *argv]
        if self.args.py_spy:
            out = self.args.py_spy.with_name(f"{self.args.py_spy.stem}-{kind}{self.args.py_spy.suffix}")
            command = ["py-spy", "record", "-r", "100", "-f", "raw", "-o", str(out), "--", *command]
        return self.fleet.exec_argv(command)

    def once_round(self, number: int) -> Round:
        config = self.config(f"once{number}")
        before_pkts, snmpd, busy = self.in_pkts(), self.fleet.snmpd_cpu_s(), machine_busy_s()
        started = time.perf_counter()
        proc = subprocess.Popen(self.agent_argv("once", "run", "--once", "-c", str(config)), env=self.env, cwd=self.cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        watcher = Watcher(proc.pid).start()
        _, stderr = proc.communicate(timeout=900)
        wall = time.perf_counter() - started
        watcher.stop()
        cpu = _children_cpu_delta()
        if proc.returncode not in (0, 1):        # 1: some device failed, counted below
            raise RuntimeError(f"run --once exited {proc.returncode}: {stderr.decode()[-1500:]}")
        snmpd_cpu = self.fleet.snmpd_cpu_s() - snmpd
        if proc.returncode == 1:
            _print_failure_causes(stderr.decode(errors="replace"))
        store = _store_summary(self.work / f"state-once{number}" / "netwatt.db")
        r = Round("run --once", number, round(wall, 2), round(cpu, 2),
                  round((self.in_pkts() - before_pkts - 1) / self.args.devices, 2),
                  failed=self.args.devices - store["devices_with_power"],
                  rss_mb=round(watcher.peak_rss_kb / 1024, 1), snmpd_cpu_s=round(snmpd_cpu, 2),
                  other_load_cores=round(max(0.0, machine_busy_s() - busy - cpu - snmpd_cpu) / wall, 2))
        return self._add(r)

    def daemon(self) -> dict[str, Any]:
        args, n = self.args, self.args.devices
        config = self.config("run")
        # start well before a boundary: the first round is the next multiple of the interval (a large
        # config takes its time to parse: ~1 s per 5,000 devices)
        if args.interval - time.time() % args.interval < 12 + args.devices / 5000:
            _sleep_until((time.time() // args.interval + 1) * args.interval + 0.2)
        launched = time.time()
        proc = subprocess.Popen(self.agent_argv("daemon", "run", "-c", str(config), "--log-format", "json"),
                                env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                stdout=(self.work / "agent.log").open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        watcher = Watcher(proc.pid, self.fleet.name).start()
        try:
            while not watcher.metrics:
                if proc.poll() is not None:
                    raise RuntimeError(f"netwatt run exited {proc.returncode}: "
                                       f"{(self.work / 'agent.log').read_text()[-1500:]}")
                time.sleep(0.1)
            started_s = watcher.metrics[0].t - launched
            start_rss = watcher.peak_rss_kb
            boundary = (time.time() // args.interval + 1) * args.interval
            print(f"  agent up in {started_s:.1f} s (peak tree RSS so far {start_rss / 1024:.0f} MB); "
                  f"round 1 at {dt.datetime.fromtimestamp(boundary, dt.UTC):%H:%M:%S}", flush=True)
            for k in range(1, args.rounds + 1):
                _sleep_until(boundary - 0.4)
                before = watcher.metrics[-1]
                pkts, snmpd, busy = self.in_pkts(), self.fleet.snmpd_cpu_s(), machine_busy_s()
                cpu0 = tree_cpu_s(proc.pid)
                target = before.polls + n
                deadline = boundary + args.interval - 0.5
                while time.time() < deadline and (not watcher.metrics or watcher.metrics[-1].polls < target):
                    time.sleep(0.05)
                end = next((m for m in watcher.metrics if m.polls >= target), watcher.metrics[-1])
                wall = end.t - boundary
                cpu = end.cpu_s - cpu0
                snmpd_cpu = self.fleet.snmpd_cpu_s() - snmpd
                span = max(time.time() - boundary, 0.1)
                limit = max((m.in_flight_limit for m in watcher.metrics if boundary <= m.t <= end.t), default=0)
                self._add(Round("run", k, round(wall, 2), round(cpu, 2),
                                round((self.in_pkts() - pkts - 1) / n, 2),
                                skipped=end.skipped - before.skipped, timeouts=end.timeouts - before.timeouts,
                                failed=(end.poll_errors - before.poll_errors) + max(0, target - end.polls),
                                in_flight_limit=limit, rss_mb=round(watcher.peak_rss_kb / 1024, 1),
                                snmpd_cpu_s=round(snmpd_cpu, 2),
                                other_load_cores=round(max(0.0, machine_busy_s() - busy - (tree_cpu_s(proc.pid) - cpu0)
                                                           - snmpd_cpu) / span, 2)))
                if self.exporter is not None and time.time() < boundary + args.interval * 0.6:
                    self.exporter_round(k)
                boundary += args.interval
            _sleep_until(boundary - 0.5)   # the last round's skipped polls (if any) are counted at its next start
            last = watcher.metrics[-1]
        finally:
            # under py-spy, stop the agent (py-spy's child) so that py-spy writes its profile
            agent_pid = next(iter(tree(proc.pid)[1:]), proc.pid) if self.args.py_spy else proc.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(agent_pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            watcher.stop()
        return {"startup_s": round(started_s, 2), "startup_peak_rss_mb": round(start_rss / 1024, 1),
                "peak_rss_mb": round(watcher.peak_rss_kb / 1024, 1), "skipped_total": last.skipped,
                "timeouts_total": last.timeouts, "polls_total": last.polls, "exit_code": proc.returncode}


def _children_cpu_delta() -> float:
    """CPU of children waited for since the last call (RUSAGE_CHILDREN grows as they are reaped)."""
    import resource  # noqa: PLC0415
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    previous = getattr(_children_cpu_delta, "last", 0.0)
    _children_cpu_delta.last = total  # type: ignore[attr-defined]
    return total - previous


def _store_summary(path: Path) -> dict[str, int]:
    import sqlite3  # noqa: PLC0415
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        devices = db.execute("SELECT COUNT(DISTINCT device) FROM points WHERE measurement = 'device_power'"
                             ).fetchone()[0]
    finally:
        db.close()
    return {"devices_with_power": int(devices)}


def _print_failure_causes(stderr: str) -> None:
    """Why devices of a ``run --once`` failed: its log lines counted by message, device names and numbers
    left out (the failed count alone does not say whether it was the responder, the host or netwatt)."""
    causes = collections.Counter(re.sub(r"\d+(\.\d+)?", "#", line.split(" ", 3)[-1])
                                 for line in stderr.splitlines() if "ERROR" in line or "WARNING" in line)
    for cause, count in causes.most_common(5):
        print(f"    {count:6d} x {cause[:160]}", flush=True)


def _sleep_until(when: float) -> None:
    while (left := when - time.time()) > 0:
        time.sleep(min(left, 0.5))


def table(rounds: Sequence[Round], devices: int) -> str:
    def med(poller: str, key: str, numbers: Sequence[int] | None = None) -> float | None:
        values = [getattr(r, key) for r in rounds if r.poller == poller and (numbers is None or r.number in numbers)]
        return statistics.median(values) if values else None

    def pair_ratio(poller: str, numbers: Sequence[int]) -> str:
        peer = "exporter/once" if poller == "run --once" else "exporter"
        ex = {r.number: r for r in rounds if r.poller == peer}
        ratios = [r.wall_s / ex[r.number].wall_s for r in rounds
                  if r.poller == poller and r.number in numbers and r.number in ex and ex[r.number].wall_s]
        return f"{statistics.median(ratios):.2f}x" if ratios else "-"

    out = [f"| {devices:,} devices | wall s | CPU s | req/device | skipped | timeouts | failed | peak RSS MB | "
           "netwatt / exporter (wall, per round pair) |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    runs = [r.number for r in rounds if r.poller == "run"]
    groups = [("run --once", "run --once", None), ("run, cold round 1", "run", [1]),
              ("run, warm rounds 2..", "run", [n for n in runs if n > 1])]
    for label, poller, numbers in groups:
        chosen = [r for r in rounds if r.poller == poller and (numbers is None or r.number in numbers)]
        if not chosen:
            continue
        nums = [r.number for r in chosen]
        out.append(f"| {label} | {med(poller, 'wall_s', nums):.2f} | {med(poller, 'cpu_s', nums):.2f} | "
                   f"{med(poller, 'req_per_device', nums):.2f} | {sum(r.skipped for r in chosen)} | "
                   f"{sum(r.timeouts for r in chosen)} | {sum(r.failed for r in chosen)} | "
                   f"{max(r.rss_mb for r in chosen):.0f} | {pair_ratio(poller, nums)} |")
    ex = [r for r in rounds if r.poller.startswith("exporter")]
    if ex:
        out.append(f"| snmp_exporter 0.21 (all rounds) | {statistics.median(r.wall_s for r in ex):.2f} | "
                   f"{statistics.median(r.cpu_s for r in ex):.2f} | "
                   f"{statistics.median(r.req_per_device for r in ex):.2f} | - | "
                   f"{sum(r.timeouts for r in ex)} | {sum(r.failed for r in ex)} | - | |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4, help="rounds of the daemon (round 1 is cold)")
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--jitter", type=float, default=0.0, help="collection_jitter (s)")
    parser.add_argument("--once", type=int, default=1, help="`run --once` rounds before the daemon")
    parser.add_argument("--max-in-flight", type=int, default=1000)
    parser.add_argument("--no-exporter", action="store_true")
    parser.add_argument("--py-spy", type=Path, default=None, help="profile the agent into this raw file")
    parser.add_argument("--netwatt-src", type=Path, default=BENCH_DIR.parent)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (ip netns)")
    now = dt.datetime.now(dt.UTC)
    info = machine()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"{now:%Y-%m-%d %H:%M} UTC, load average {' '.join(load)}, {info['cpus']} cores", flush=True)
    work = Path(tempfile.mkdtemp(prefix="netwatt-daemon-"))
    try:
        netwatt = snapshot_netwatt(args.netwatt_src.resolve(), work / "netwatt-src")
        print(f"netwatt {netwatt['commit']} ({len(netwatt['uncommitted'])} uncommitted)", flush=True)
        with exit_on_signals(), Fleet(work_dir=work / "fleet") as fleet:
            bench = Bench(fleet, work, args, netwatt)
            if not args.no_exporter:
                bench.start_exporter()
            try:
                _children_cpu_delta()
                for k in range(1, args.once + 1):
                    bench.once_round(k)
                    if bench.exporter is not None:
                        bench.exporter_round(k, after="run --once")
                daemon = bench.daemon() if args.rounds else {}
            finally:
                bench.stop_exporter()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(bench.rounds, args.devices)
    print(f"\n{text}\ndaemon: {daemon}")
    out = args.out or BENCH_DIR / "results" / f"daemon-rounds-{args.devices}-{now:%Y-%m-%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": {"date": f"{now:%Y-%m-%d %H:%M} UTC", "load_average_at_start": load,
                                        "argv": sys.argv, "machine": info,
                                        "netwatt": {k: v for k, v in netwatt.items() if k not in ("env", "dir")}},
                               "rounds": [asdict(r) for r in bench.rounds], "daemon": daemon,
                               "table_markdown": text}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
