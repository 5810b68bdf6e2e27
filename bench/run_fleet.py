"""Fleet benchmark: netwatt against snmp_exporter and the Net-SNMP CLI, same devices, same run.

    sudo python3 bench/run_fleet.py --sizes 100,1000,10000 --rounds 5,5,3 --out bench/results/fleet-DATE.json

One snmpd in a private network namespace serves every 127.X.Y.Z:16100 (see ``fleet.py``). For each
fleet size the pollers run in turn, netwatt, snmp_exporter, CLI, netwatt, ... (alternating rounds on
the same machine state), and the table quotes medians and the median of the per-round ratios.

Measured per round:
- wall seconds of the round and device-polls/s;
- CPU seconds (user+sys) of the poller per 1,000 polls. netwatt and the CLI run under
  ``/usr/bin/time`` (children included: every snmpbulkwalk); snmp_exporter is a daemon: its CPU is read
  from /proc/PID/stat before/after, and the stdlib scrape client's CPU is reported apart;
- peak RSS of the poller: ``/usr/bin/time``'s %M for netwatt (a small C launcher, so no big parent's
  pages are counted); VmHWM of the exporter, reset before each round through /proc/PID/clear_refs;
  none for the CLI (one short process per walk);
- failed devices and timeouts as the poller reports them, requests per device as snmpd counts them
  (snmpInPkts; the poller's own count too where it has one), varbinds per device (snmpInTotalReqVars);
- snmpd's CPU seconds in the same interval, and UDP receive-buffer drops in the namespace.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fleet import (
    EXPECTED_DEVICE_W,
    VARBINDS_PER_DEVICE,
    Fleet,
    cpu_seconds,
    dead_address,
    device_address,
    exit_on_signals,
    peak_rss_mb,
    reset_peak_rss,
    stop_process,
)
from peers import exporter_config

BENCH_DIR = Path(__file__).resolve().parent
EXPORTER = "/usr/bin/prometheus-snmp-exporter"
EXPORTER_LISTEN = "127.0.0.1:9116"
GNU_TIME = "/usr/bin/time"
POLLERS = ("netwatt", "netwatt-pysnmp", "netwatt-e2e", "netwatt-e2e-pysnmp", "exporter", "cli")
PEER_NAMES = {"netwatt": "netwatt poll, gufo backend", "netwatt-pysnmp": "netwatt poll, pysnmp backend",
              "netwatt-e2e": "netwatt run --once (to SQLite), gufo",
              "netwatt-e2e-pysnmp": "netwatt run --once (to SQLite), pysnmp",
              "exporter": "snmp_exporter 0.21", "cli": "Net-SNMP CLI"}
# `run --once`: poll, normalise, device power, committed to the SQLite store; the store's view afterwards
STORE_SUMMARY = """
import json, sys
from agent.store.sqlite import Store
store = Store(sys.argv[1])
s = store.device_statuses()
print(json.dumps({"devices": len(s), "ok": sum(1 for d in s if not d.error_streak),
                  "failed": sum(1 for d in s if d.error_streak),
                  "timeouts": sum(1 for d in s if d.last_error.startswith("timeout")),
                  "with_power": sum(1 for d in s if d.power_w is not None),
                  "total_w": sum(d.power_w or 0.0 for d in s)}))
"""


def baseline(poller: str) -> str:
    """Ratios compare like with like: a poll with the gufo poll, an end-to-end run with the gufo run."""
    return "netwatt-e2e" if poller.startswith("netwatt-e2e") else "netwatt"


def backend_of(poller: str) -> str:
    return "pysnmp" if poller.endswith("pysnmp") else "gufo"
GOAL_DEVICES = 10_000
GOAL_INTERVAL_S = 60.0
GOAL_RSS_MB = 150.0


@dataclass
class Round:
    scenario: str                 # "fleet" or "dead"
    size: int                     # live devices
    dead: int
    poller: str
    round: int
    wall_s: float
    cpu_s: float                  # the poller's user+sys (exporter: the daemon's)
    client_cpu_s: float | None    # exporter only: the scrape client's user+sys
    rss_mb: float | None
    exit_code: int
    devices: int = 0
    ok: int = 0
    failed: int = 0
    timeouts: int = 0
    with_power: int = 0
    total_w: float = 0.0
    expected_w: float = 0.0
    poller_requests: int | None = None
    snmpd_requests: int = 0
    snmpd_varbinds: int = 0
    snmpd_silent_drops: int = 0
    snmpd_cpu_s: float = 0.0
    other_cpu_s: float = 0.0      # the machine's busy CPU time less the poller's and snmpd's: noise
    udp_rcvbuf_errors: int = 0
    errors: dict[str, Any] = field(default_factory=dict)

    @property
    def polls_per_s(self) -> float:
        return self.devices / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_1k(self) -> float:
        return 1000 * self.cpu_s / self.devices if self.devices else 0.0


@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    rss_kb: int | None
    exit_code: int
    stdout: str
    stderr: str


def timed(argv: Sequence[str], *, timeout_s: float, work_dir: Path,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """``argv`` under GNU time; the whole process group is killed if it runs over ``timeout_s``."""
    time_file = work_dir / "time.out"
    time_file.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen([GNU_TIME, "-f", "%e %U %S %M", "-o", str(time_file), *argv],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env, cwd=cwd or work_dir)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
        stderr += f"\nrun_fleet: killed after {timeout_s:g} s"
    wall = time.perf_counter() - started
    cpu, rss = 0.0, None
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = time_file.read_text().strip().splitlines()[-1].split()
        cpu, rss = float(fields[1]) + float(fields[2]), int(fields[3])
    return Sample(wall, cpu, rss, proc.returncode, stdout, stderr)


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat, all cores, not idle/iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                data: dict[str, Any] = json.loads(line)
                return data
    return {}


def netwatt_config(addresses: Sequence[str], *, max_in_flight: int = 1000, backend: str = "auto",
                   state_directory: Path | None = None) -> str:
    state = f", state_directory: '{state_directory}'" if state_directory else ""
    lines = [
        "version: 1",
        f"agent: {{interval: 60s, max_in_flight: {max_in_flight}, snmp_backend: {backend}{state}}}",
        "credentials:",
        '  bench: {version: 2c, community: "plain:public"}',
        "sites:",
        "  bench: {timezone: UTC, grid_zone: FR}",
        "devices:",
    ]
    lines += [f'  - {{name: dev{i:05d}, address: "{address}", site: bench, credential: bench, '
              "profiles: auto, timeout: 2s, retries: 1}"
              for i, address in enumerate(addresses, 1)]
    return "\n".join(lines) + "\n"


def snapshot_netwatt(source: Path, dest: Path) -> dict[str, Any]:
    """Copy netwatt's source and shipped data (agent, collectors, config) so edits during the run don't change it.

    The editable install follows the work tree, which others edit while a 10-minute run goes on: a
    half-written tree makes rounds fail with ImportError. The copy is byte-compiled like an install.
    """
    for part in ("agent", "collectors", "config"):
        shutil.copytree(source / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "lab"))
    digest = hashlib.sha256()
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(dest)).encode() + b"\0" + path.read_bytes())
    compileall.compile_dir(dest, quiet=1)

    def git(*argv: str) -> str:
        result = subprocess.run(["git", "-C", str(source), *argv], capture_output=True, text=True,
                                timeout=30, check=False)
        return result.stdout.strip()

    env = dict(os.environ, PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE="1")
    # `python -m`/`-c` put the current directory first on sys.path: run from the snapshot itself.
    check = subprocess.run([sys.executable, "-c", "import agent, agent.cli; print(agent.__file__)"],
                           capture_output=True, text=True, env=env, timeout=60, check=False, cwd=dest)
    if check.returncode != 0 or not check.stdout.strip().startswith(str(dest)):
        raise RuntimeError(f"the netwatt snapshot does not import from {dest}: "
                           f"{check.stderr.strip()[-1500:]}")
    return {"source": str(source), "commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": git("status", "--porcelain", "--", "agent", "collectors", "config").splitlines(),
            "sha256": digest.hexdigest()[:16], "env": {"PYTHONPATH": str(dest)}, "dir": str(dest)}


class Bench:
    def __init__(self, fleet: Fleet, work_dir: Path, args: argparse.Namespace,
                 netwatt: dict[str, Any]) -> None:
        self.fleet = fleet
        self.work_dir = work_dir
        self.args = args
        self.netwatt_env = dict(os.environ, **netwatt["env"], PYTHONDONTWRITEBYTECODE="1")
        self.netwatt_dir = Path(netwatt["dir"])
        self.exporter: subprocess.Popen[bytes] | None = None
        self.rounds: list[Round] = []

    # -- the exporter daemon ---------------------------------------------------------------

    def start_exporter(self) -> None:
        config = self.work_dir / "snmp.yml"
        config.write_text(exporter_config())
        log = (self.work_dir / "exporter.log").open("wb")
        self.exporter = subprocess.Popen(
            self.fleet.exec_argv([EXPORTER, f"--config.file={config}",
                                  f"--web.listen-address={EXPORTER_LISTEN}", "--log.level=warn"]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        one = self._targets("ready", [device_address(0)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.exporter.poll() is not None:
                log_text = (self.work_dir / "exporter.log").read_text()[-2000:]
                raise RuntimeError(f"snmp_exporter exited: {log_text}")
            result = subprocess.run(self.fleet.exec_argv(self._scrape_argv(one, 1)), capture_output=True,
                                    text=True, timeout=30, check=False)
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("snmp_exporter did not answer a scrape within 15 s")

    def stop_exporter(self) -> None:
        if self.exporter is not None:
            stop_process(self.exporter)
        self.exporter = None

    # -- one round -------------------------------------------------------------------------

    def _targets(self, tag: str, addresses: Sequence[str]) -> Path:
        path = self.work_dir / f"targets-{tag}.txt"
        path.write_text("\n".join(addresses) + "\n")
        return path

    def _scrape_argv(self, targets: Path, concurrency: int) -> list[str]:
        return [sys.executable, str(BENCH_DIR / "peers.py"), "scrape", "--targets", str(targets),
                "--url", f"http://{EXPORTER_LISTEN}", "--concurrency", str(concurrency)]

    def prepare(self, tag: str, live: int, dead: int) -> tuple[Path, Path]:
        addresses = [device_address(i) for i in range(live)] + [dead_address(i) for i in range(dead)]
        config = self.work_dir / f"netwatt-{tag}.yaml"
        for backend in ("gufo", "pysnmp"):
            (self.work_dir / f"netwatt-{tag}-{backend}.yaml").write_text(netwatt_config(
                addresses, max_in_flight=self.args.max_in_flight, backend=backend,
                state_directory=self.work_dir / f"state-{tag}-{backend}"))
        return config, self._targets(tag, addresses)

    def run(self, poller: str, *, scenario: str, live: int, dead: int, number: int, config: Path,
            targets: Path) -> Round:
        devices = live + dead
        limit = max(60.0, devices * self.args.timeout_per_device)
        is_netwatt = poller.startswith("netwatt")
        netwatt_config_file = config.with_name(f"{config.stem}-{backend_of(poller)}.yaml")
        state = self.work_dir / f"state-{config.stem.removeprefix('netwatt-')}-{backend_of(poller)}"
        if poller.startswith("netwatt-e2e"):
            shutil.rmtree(state, ignore_errors=True)        # every round starts from an empty store
            argv = [sys.executable, "-m", "agent.cli", "run", "--once", "--config", str(netwatt_config_file)]
        elif is_netwatt:
            # `netwatt poll` from the snapshot: the same main() as the console script.
            argv = [sys.executable, "-m", "agent.cli", "poll", "--config", str(netwatt_config_file), "--all",
                    "--format", "summary"]
        elif poller == "exporter":
            argv = self._scrape_argv(targets, self.args.exporter_concurrency)
        else:
            argv = [sys.executable, str(BENCH_DIR / "peers.py"), "cli", "--targets", str(targets),
                    "--parallel", str(self.args.cli_parallel)]
        counters_before = self.fleet.snmp_counters() or {}
        udp_before = self.fleet.udp_counters()
        snmpd_before = self.fleet.snmpd_cpu_s()
        exporter_before = 0.0
        if poller == "exporter":
            assert self.exporter is not None
            reset_peak_rss(self.exporter.pid)
            exporter_before = cpu_seconds(self.exporter.pid)
        busy_before = machine_busy_s()
        sample = timed(self.fleet.exec_argv(argv), timeout_s=limit, work_dir=self.work_dir,
                       env=self.netwatt_env if is_netwatt else None,
                       cwd=self.netwatt_dir if is_netwatt else None)
        busy = machine_busy_s() - busy_before
        snmpd_cpu = self.fleet.snmpd_cpu_s() - snmpd_before
        udp_after = self.fleet.udp_counters()
        counters_after = self.fleet.snmp_counters() or {}
        summary = last_json(sample.stdout)
        if poller.startswith("netwatt-e2e"):
            summary = last_json(subprocess.run(
                [sys.executable, "-c", STORE_SUMMARY, str(state)], capture_output=True, text=True, check=False,
                env=self.netwatt_env, cwd=self.netwatt_dir).stdout)
        cpu, client_cpu, rss = sample.cpu_s, None, (sample.rss_kb / 1024 if sample.rss_kb else None)
        if poller == "exporter":
            assert self.exporter is not None
            cpu, client_cpu = cpu_seconds(self.exporter.pid) - exporter_before, sample.cpu_s
            rss = peak_rss_mb(self.exporter.pid)
        elif poller == "cli":
            rss = None

        def delta(key: str) -> int:
            return counters_after.get(key, 0) - counters_before.get(key, 0)

        errors = dict(summary.get("errors") or {})
        if not summary:
            errors["no summary"] = (sample.stderr.strip() or sample.stdout.strip())[-500:]
        result = Round(
            scenario=scenario, size=live, dead=dead, poller=poller, round=number,
            wall_s=round(sample.wall_s, 3), cpu_s=round(cpu, 3),
            client_cpu_s=round(client_cpu, 3) if client_cpu is not None else None,
            rss_mb=round(rss, 1) if rss is not None else None, exit_code=sample.exit_code,
            devices=int(summary.get("devices", devices)), ok=int(summary.get("ok", 0)),
            failed=int(summary.get("failed", devices)), timeouts=int(summary.get("timeouts", 0)),
            with_power=int(summary.get("with_power", 0)), total_w=float(summary.get("total_w", 0.0)),
            expected_w=live * EXPECTED_DEVICE_W,
            poller_requests=int(summary["requests"]) if summary.get("requests") else None,
            snmpd_requests=delta("in_pkts") - 1,          # less our own counter read
            snmpd_varbinds=delta("in_total_req_vars"), snmpd_silent_drops=delta("silent_drops"),
            snmpd_cpu_s=round(snmpd_cpu, 3),
            other_cpu_s=round(max(0.0, busy - snmpd_cpu - sample.cpu_s
                                  - (cpu if poller == "exporter" else 0.0)), 3),
            udp_rcvbuf_errors=udp_after.get("RcvbufErrors", 0) - udp_before.get("RcvbufErrors", 0),
            errors=errors,
        )
        self.rounds.append(result)
        _progress(result)
        time.sleep(self.args.settle)       # let snmpd drain anything late before the next poller
        return result


def _progress(r: Round) -> None:
    rss = f"{r.rss_mb:.0f} MB" if r.rss_mb is not None else "-"
    print(f"  {r.scenario} n={r.size}+{r.dead} #{r.round} {r.poller:8} {r.wall_s:8.2f} s  "
          f"cpu {r.cpu_s:7.2f} s  rss {rss:>7}  ok {r.ok}/{r.devices} timeouts {r.timeouts}  "
          f"snmpd {r.snmpd_cpu_s:.2f} s  "
          f"req/dev {r.snmpd_requests / max(r.devices - r.dead, 1):.2f}  rcvbuf drops {r.udp_rcvbuf_errors}  "
          f"other load {r.other_cpu_s / max(r.wall_s, 1e-9):.2f} cores",
          flush=True)


# -- report ----------------------------------------------------------------------------------------

def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sizes = sorted({r.size for r in rounds if r.scenario == "fleet"})
    for size in sizes:
        by_poller = {p: [r for r in rounds if r.scenario == "fleet" and r.size == size and r.poller == p]
                     for p in POLLERS}
        for poller, mine in by_poller.items():
            if not mine:
                continue
            walls = [r.wall_s for r in mine]
            row: dict[str, Any] = {
                "size": size, "poller": poller, "rounds": len(mine),
                "wall_s": _median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
                "polls_per_s": size / _median(walls),
                "cpu_per_1k_s": _median([r.cpu_per_1k for r in mine]),
                "client_cpu_per_1k_s": (_median([1000 * (r.client_cpu_s or 0.0) / size for r in mine])
                                        if poller == "exporter" else None),
                "rss_mb": (_median([r.rss_mb for r in mine if r.rss_mb is not None])
                           if any(r.rss_mb is not None for r in mine) else None),
                "rss_max_mb": max((r.rss_mb for r in mine if r.rss_mb is not None), default=None),
                "failed_median": _median([r.failed for r in mine]), "failed_max": max(r.failed for r in mine),
                "timeouts_median": _median([r.timeouts for r in mine]),
                "timeouts_max": max(r.timeouts for r in mine),
                "power_ok": all(abs(r.total_w - r.expected_w) < 0.5 for r in mine),
                "requests_per_device": _median([r.snmpd_requests / size for r in mine]),
                "poller_requests_per_device": (_median([r.poller_requests / size for r in mine
                                                        if r.poller_requests is not None])
                                               if any(r.poller_requests is not None for r in mine) else None),
                "varbinds_per_device": _median([r.snmpd_varbinds / size for r in mine]),
                "snmpd_cpu_s": _median([r.snmpd_cpu_s for r in mine]),
                "snmpd_core_pct": _median([100 * r.snmpd_cpu_s / r.wall_s for r in mine if r.wall_s]),
                "udp_rcvbuf_errors": sum(r.udp_rcvbuf_errors for r in mine),
                "other_load_cores": _median([r.other_cpu_s / r.wall_s for r in mine if r.wall_s]),
                "ratio_wall": None, "ratio_rounds": 0,
            }
            if poller != baseline(poller) and by_poller[baseline(poller)]:
                pairs = list(zip(by_poller[baseline(poller)], mine, strict=False))
                row["ratio_wall"] = _median([a.wall_s / b.wall_s for a, b in pairs if b.wall_s])
                row["ratio_cpu"] = _median([a.cpu_s / b.cpu_s for a, b in pairs if b.cpu_s])
                row["ratio_rounds"] = len(pairs)
            rows.append(row)
    return rows


def goals(rows: Sequence[dict[str, Any]], rounds: Sequence[Round]) -> list[dict[str, Any]]:
    mine = [r for r in rows if r["poller"] == "netwatt"]
    at_goal = next((r for r in mine if r["size"] == GOAL_DEVICES), None)
    out: list[dict[str, Any]] = []
    if at_goal is None:
        out.append({"goal": f"{GOAL_DEVICES:,} devices within a {GOAL_INTERVAL_S:g} s interval",
                    "measured": "not measured (size not in --sizes)", "pass": None})
        out.append({"goal": f"RSS under {GOAL_RSS_MB:g} MB at {GOAL_DEVICES:,} devices",
                    "measured": "not measured", "pass": None})
    else:
        complete = at_goal["failed_max"] == 0
        out.append({
            "goal": f"{GOAL_DEVICES:,} devices within a {GOAL_INTERVAL_S:g} s interval",
            "measured": (f"median round {at_goal['wall_s']:.1f} s (max {at_goal['wall_max_s']:.1f} s), "
                         f"failed devices median {at_goal['failed_median']:g}"),
            "pass": at_goal["wall_max_s"] <= GOAL_INTERVAL_S and complete,
        })
        rss = at_goal["rss_max_mb"]
        out.append({"goal": f"RSS under {GOAL_RSS_MB:g} MB at {GOAL_DEVICES:,} devices",
                    "measured": f"peak {rss:.0f} MB (max over rounds)" if rss is not None else "n/a",
                    "pass": rss is not None and rss < GOAL_RSS_MB})
    fleet_rounds = [r for r in rounds if r.scenario == "fleet" and r.poller == "netwatt"]
    timeouts = sum(r.timeouts for r in fleet_rounds)
    drops = sum(r.udp_rcvbuf_errors for r in fleet_rounds)
    worst = max(fleet_rounds, key=lambda r: r.timeouts, default=None)
    detail = f"{timeouts} timeouts over {len(fleet_rounds)} netwatt rounds (no dead devices)"
    if worst is not None and worst.timeouts:
        detail += (f"; worst: {worst.timeouts}/{worst.devices} at n={worst.size}, snmpd at "
                   f"{100 * worst.snmpd_cpu_s / worst.wall_s:.0f} % of a core, "
                   f"{drops} UDP receive-buffer drops")
    out.append({"goal": "zero timeouts caused by our own CPU saturation", "measured": detail,
                "pass": timeouts == 0})
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(rows: Sequence[dict[str, Any]], goal_rows: Sequence[dict[str, Any]], rounds: Sequence[Round],
             meta: dict[str, Any]) -> str:
    out = [f"Fleet benchmark, {meta['date']}, {meta['machine']}", ""]
    out.append("| devices | poller | rounds | wall s (median) | polls/s | CPU s / 1k polls | peak RSS MB | "
               "failed / timeouts (median, max) | req/device | varbinds/device | snmpd CPU s (% core) "
               "| UDP drops | other load (cores) | netwatt / peer (wall, CPU) |")
    out.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: "
               "| --- |")
    for r in rows:
        cpu = _fmt(r["cpu_per_1k_s"])
        if r["client_cpu_per_1k_s"] is not None:
            cpu += f" (+{r['client_cpu_per_1k_s']:.2f} client)"
        ratio = (f"{r['ratio_wall']:.2f}x, {r['ratio_cpu']:.2f}x" if r.get("ratio_wall") is not None else "")
        failed = (f"{r['failed_median']:g} / {r['timeouts_median']:g} "
                  f"({r['failed_max']} / {r['timeouts_max']})")
        if not r["power_ok"]:
            failed += " (power total wrong)"
        requests = _fmt(r["requests_per_device"])
        if r["poller_requests_per_device"] is not None:
            requests += f" ({r['poller_requests_per_device']:.2f})"
        out.append(
            f"| {r['size']:,} | {PEER_NAMES[r['poller']]} | {r['rounds']} | {r['wall_s']:.2f} "
            f"({r['wall_min_s']:.2f}-{r['wall_max_s']:.2f}) | {r['polls_per_s']:,.0f} | {cpu} | "
            f"{_fmt(r['rss_mb'], 0)} | {failed} | {requests} | {r['varbinds_per_device']:.0f} | "
            f"{r['snmpd_cpu_s']:.2f} ({r['snmpd_core_pct']:.0f} %) | {r['udp_rcvbuf_errors']} | "
            f"{r['other_load_cores']:.2f} | {ratio} |")
    out += ["", "| goal (netwatt) | measured | met |", "| --- | --- | --- |"]
    for g in goal_rows:
        met = "n/a" if g["pass"] is None else ("yes" if g["pass"] else "**NO**")
        out.append(f"| {g['goal']} | {g['measured']} | {met} |")
    dead = [r for r in rounds if r.scenario == "dead"]
    if dead:
        out += ["", f"Dead devices ({dead[0].dead} addresses that never answer, timeout 2 s, 1 retry, "
                f"among {dead[0].size:,} live):", "",
                "| poller | wall s | live devices ok | failed | timeouts |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for d in dead:
            out.append(f"| {PEER_NAMES[d.poller]} | {d.wall_s:.2f} | {d.ok}/{d.size} | {d.failed} "
                       f"| {d.timeouts} |")
    out += ["", "req/device: requests snmpd received per device (snmpInPkts), the poller's own count in "
            "brackets; varbinds/device: snmpInTotalReqVars. CPU: the poller process with its children "
            "(the CLI's snmpbulkwalk processes); for snmp_exporter the daemon, the Python scrape client "
            "apart. Other load: CPU the rest of the machine used during the round (other users' work), in "
            "cores; the machine has 2. Ratios: median over round pairs (netwatt round i / peer round i)."]
    return "\n".join(out) + "\n"


def first_line(argv: list[str]) -> str:
    """The first output line of a command (a version string), or "?"."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        lines = [line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()]
        return lines[0] if lines else "?"
    return "?"


FLEET_TOOLS = {"netwatt": ["netwatt", "version"], "snmpd": ["/usr/sbin/snmpd", "-v"],
               "snmp_exporter": [EXPORTER, "--version"]}


def machine(tools: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The machine and the versions of ``tools`` (name -> command printing its version)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
        "python": platform.python_version(), "memory_gb": round(os.sysconf("SC_PHYS_PAGES")
                                                                 * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
        **{name: first_line(argv) for name, argv in (FLEET_TOOLS if tools is None else tools).items()},
    }


def raise_fd_limit() -> dict[str, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return {"soft_before": soft, "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0], "hard": hard}


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_ints, default=[100, 1000, 10000])
    parser.add_argument("--rounds", type=_ints, default=[5, 5, 3],
                        help="rounds per size: one number for all, or one per size (default 5,5,3)")
    parser.add_argument("--pollers", default=",".join(POLLERS), help="subset of " + ",".join(POLLERS))
    parser.add_argument("--dead", type=int, default=10,
                        help="dead devices in the extra dead-device round (0: none)")
    parser.add_argument("--dead-live", type=int, default=100, help="live devices beside the dead ones")
    parser.add_argument("--max-in-flight", type=int, default=1000, help="netwatt's agent.max_in_flight")
    parser.add_argument("--netwatt-src", type=Path, default=BENCH_DIR.parent,
                        help="netwatt source tree to snapshot (default: this checkout)")
    parser.add_argument("--exporter-concurrency", type=int, default=200)
    parser.add_argument("--cli-parallel", type=int, default=50)
    parser.add_argument("--timeout-per-device", type=float, default=0.03,
                        help="bound on a round: this many seconds per device, at least 60 s")
    parser.add_argument("--settle", type=float, default=1.0, help="pause after each round (s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results (default bench/results/fleet-DATE.json)")
    args = parser.parse_args(argv)
    pollers = [p for p in args.pollers.split(",") if p]
    if unknown := set(pollers) - set(POLLERS):
        parser.error(f"unknown pollers: {', '.join(sorted(unknown))}")
    if len(args.rounds) == 1:
        rounds_per_size = args.rounds * len(args.sizes)
    elif len(args.rounds) == len(args.sizes):
        rounds_per_size = list(args.rounds)
    else:
        parser.error("--rounds: one number, or one per size")
    if os.geteuid() != 0:
        parser.error("needs root (ip netns); run with sudo")
    if not Path(GNU_TIME).exists():
        parser.error(f"{GNU_TIME} is missing: apt-get install time")
    now = dt.datetime.now(dt.UTC)
    out = args.out or BENCH_DIR / "results" / f"fleet-{now:%Y-%m-%d}.json"
    fd = raise_fd_limit()
    info = machine()
    meta = {"date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{info['cpus']} cores ({info['cpu_model']}), {info['memory_gb']} GB, "
                       f"Linux {info['kernel']}, Python {info['python']}"}
    print(f"{meta['date']} {meta['machine']}\nfile descriptors: soft {fd['soft_before']} -> {fd['soft']} "
          f"(hard {fd['hard']}); {VARBINDS_PER_DEVICE} varbinds a device, {EXPECTED_DEVICE_W:g} W a device",
          flush=True)
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="netwatt-bench-"))
    bench: Bench | None = None
    try:
        netwatt = snapshot_netwatt(args.netwatt_src.resolve(), work_dir / "netwatt-src")
        print(f"netwatt snapshot: commit {netwatt['commit']}, {len(netwatt['uncommitted'])} uncommitted "
              f"file(s) in agent/collectors/config, sha256 {netwatt['sha256']}", flush=True)
        with exit_on_signals(), Fleet(dead=args.dead, work_dir=work_dir / "fleet") as fleet:
            bench = Bench(fleet, work_dir, args, netwatt)
            print(f"namespace {fleet.name}, snmpd pid {fleet.snmpd_pid}", flush=True)
            if "exporter" in pollers:
                bench.start_exporter()
            # Warm-up: caches, the exporter's first connections; not recorded.
            config, targets = bench.prepare("warmup", min(args.sizes), 0)
            for poller in pollers:
                bench.run(poller, scenario="warmup", live=min(args.sizes), dead=0, number=0, config=config,
                          targets=targets)
            for size, count in zip(args.sizes, rounds_per_size, strict=True):
                config, targets = bench.prepare(f"n{size}", size, 0)
                for number in range(1, count + 1):
                    for poller in pollers:
                        bench.run(poller, scenario="fleet", live=size, dead=0, number=number, config=config,
                                  targets=targets)
            if args.dead:
                config, targets = bench.prepare("dead", args.dead_live, args.dead)
                for poller in pollers:
                    bench.run(poller, scenario="dead", live=args.dead_live, dead=args.dead, number=1,
                              config=config, targets=targets)
            bench.stop_exporter()
    finally:
        if bench is not None:
            bench.stop_exporter()
        shutil.rmtree(work_dir, ignore_errors=True)
    assert bench is not None
    rounds = [r for r in bench.rounds if r.scenario != "warmup"]
    rows = summarise(rounds)
    goal_rows = goals(rows, rounds)
    table = markdown(rows, goal_rows, rounds, meta)
    print()
    print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta | {"machine_detail": info, "fd_limit": fd,
                        "elapsed_s": round(time.monotonic() - started, 1), "argv": sys.argv,
                        "varbinds_per_device": VARBINDS_PER_DEVICE, "expected_device_w": EXPECTED_DEVICE_W,
                        "netwatt": {k: v for k, v in netwatt.items() if k not in ("env", "dir")}},
        "summary": rows, "goals": goal_rows,
        "rounds": [asdict(r) | {"polls_per_s": round(r.polls_per_s, 1),
                                "cpu_per_1k_s": round(r.cpu_per_1k, 3)} for r in bench.rounds],
        "table_markdown": table,
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
