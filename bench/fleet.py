"""A fleet of SNMP "devices" on one machine: one Net-SNMP snmpd in a private network namespace.

The namespace has only ``lo``; snmpd listens on ``udp:0.0.0.0:16100`` there, so every
127.X.Y.Z:16100 inside it is a device that answers, and no packet touches the host's own loopback.
Every device serves the same switch (``override`` lines): a chassis, two PSUs with an "Input Power"
sensor each (ENTITY-MIB + ENTITY-SENSOR-MIB), two temperature sensors and one PoE PSE group
(POWER-ETHERNET-MIB). snmpd only shows the system group and those three MIBs (a VACM view), so a
GETBULK that runs past the last table ends on endOfMibView instead of walking snmpd's own MIBs.

Dead devices: addresses 127.200.B.C:16101 where a UDP socket is bound and never read, so requests
are accepted by the kernel and replies never come (a closed port would answer ICMP unreachable at
once and hide timeout behaviour). They use port 16101 because Linux refuses to bind
127.200.0.1:16100 while snmpd holds 0.0.0.0:16100 (EADDRINUSE without SO_REUSEADDR on both).

Needs root (``ip netns``). Run ``python3 bench/fleet.py serve --devices 5 --dead 2`` to try it by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

SNMPD = "/usr/sbin/snmpd"
DEVICE_PORT = 16100
DEAD_PORT = 16101
COMMUNITY = "public"
STATS_COMMUNITY = "benchstats"       # reads snmpd's own SNMPv2-MIB counters, from 127.0.0.1 only
_CLK_TCK = os.sysconf("SC_CLK_TCK")

# OIDs served (numeric: snmpd runs with -M /dev/null, no MIB files parsed).
ENT_PHYSICAL_ENTRY = "1.3.6.1.2.1.47.1.1.1.1"
ENT_PHY_SENSOR_ENTRY = "1.3.6.1.2.1.99.1.1.1"
PETH_MAIN_PSE_ENTRY = "1.3.6.1.2.1.105.1.3.1.1"
# The three tables every poller walks (snmp_exporter and the Net-SNMP CLI walk them whole).
WALK_SUBTREES = ("1.3.6.1.2.1.47.1.1.1", "1.3.6.1.2.1.99.1.1.1", "1.3.6.1.2.1.105.1.3.1")
SNMP_IN_PKTS = "1.3.6.1.2.1.11.1.0"
SNMP_IN_TOTAL_REQ_VARS = "1.3.6.1.2.1.11.13.0"
SNMP_SILENT_DROPS = "1.3.6.1.2.1.11.31.0"

ENTITY_CLASS = {"chassis": 3, "powerSupply": 6, "sensor": 8}
SENSOR_TYPE = {"watts": 6, "celsius": 8}
SCALE_UNITS = 9


@dataclass(frozen=True, slots=True)
class Entity:
    index: int
    descr: str
    contained_in: int
    cls: str
    name: str
    model: str = ""


@dataclass(frozen=True, slots=True)
class Sensor:
    index: int                 # the entPhysicalIndex of a sensor entity
    type: str
    value: int
    precision: int = 0
    status: int = 1            # ok


# One 48-port PoE access switch; every device in the fleet serves exactly this.
ENTITIES = (
    Entity(1, "Bench 48x1G PoE+ access switch", 0, "chassis", "Chassis", model="BENCH-48P"),
    Entity(2, "Power Supply 1, 715W AC", 1, "powerSupply", "Power Supply 1"),
    Entity(3, "Power Supply 2, 715W AC", 1, "powerSupply", "Power Supply 2"),
    Entity(4, "Power Supply 1 Input Power Sensor", 2, "sensor", "Power Supply 1 Input Power"),
    Entity(5, "Power Supply 2 Input Power Sensor", 3, "sensor", "Power Supply 2 Input Power"),
    Entity(6, "Chassis Inlet Temperature Sensor", 1, "sensor", "Chassis Inlet Temperature"),
    Entity(7, "Chassis Outlet Temperature Sensor", 1, "sensor", "Chassis Outlet Temperature"),
)
SENSORS = (
    Sensor(4, "watts", 212),
    Sensor(5, "watts", 198),
    Sensor(6, "celsius", 31),
    Sensor(7, "celsius", 38),
)
PSE_POWER_W, PSE_OPER_STATUS, PSE_CONSUMPTION_W = 740, 1, 96
# What a correct poller reports for one device: the sum of the PSU inputs (PoE is inside it).
EXPECTED_DEVICE_W = float(sum(s.value for s in SENSORS if s.type == "watts"))


def override_lines() -> list[str]:
    """snmpd.conf ``override`` lines for one switch (types: integer, octet_str; see README)."""
    lines: list[str] = []

    def add(oid: str, kind: str, value: str | int) -> None:
        text = f'"{value}"' if kind == "octet_str" else str(value)
        lines.append(f"override .{oid} {kind} {text}")

    for e in ENTITIES:
        add(f"{ENT_PHYSICAL_ENTRY}.2.{e.index}", "octet_str", e.descr)
        add(f"{ENT_PHYSICAL_ENTRY}.4.{e.index}", "integer", e.contained_in)
        add(f"{ENT_PHYSICAL_ENTRY}.5.{e.index}", "integer", ENTITY_CLASS[e.cls])
        add(f"{ENT_PHYSICAL_ENTRY}.7.{e.index}", "octet_str", e.name)
        if e.model:
            add(f"{ENT_PHYSICAL_ENTRY}.13.{e.index}", "octet_str", e.model)
    for s in SENSORS:
        add(f"{ENT_PHY_SENSOR_ENTRY}.1.{s.index}", "integer", SENSOR_TYPE[s.type])
        add(f"{ENT_PHY_SENSOR_ENTRY}.2.{s.index}", "integer", SCALE_UNITS)
        add(f"{ENT_PHY_SENSOR_ENTRY}.3.{s.index}", "integer", s.precision)
        add(f"{ENT_PHY_SENSOR_ENTRY}.4.{s.index}", "integer", s.value)
        add(f"{ENT_PHY_SENSOR_ENTRY}.5.{s.index}", "integer", s.status)
    add(f"{PETH_MAIN_PSE_ENTRY}.2.1", "uinteger", PSE_POWER_W)        # Gauge32
    add(f"{PETH_MAIN_PSE_ENTRY}.3.1", "integer", PSE_OPER_STATUS)
    add(f"{PETH_MAIN_PSE_ENTRY}.4.1", "uinteger", PSE_CONSUMPTION_W)  # Gauge32
    return lines


VARBINDS_PER_DEVICE = len(override_lines())


def snmpd_conf() -> str:
    lines = [
        f"agentAddress udp:0.0.0.0:{DEVICE_PORT}",
        "dontLogTCPWrappersConnects yes",
        "sysName bench-switch",
        "sysDescr Bench 48x1G PoE+ access switch (Net-SNMP snmpd with fixed values)",
        "view benchview included .1.3.6.1.2.1.1",
        "view benchview included .1.3.6.1.2.1.47",
        "view benchview included .1.3.6.1.2.1.99",
        "view benchview included .1.3.6.1.2.1.105",
        "view statsview included .1.3.6.1.2.1.11",
        f"rocommunity {COMMUNITY} default -V benchview",
        f"rocommunity {STATS_COMMUNITY} 127.0.0.1 -V statsview",
        *override_lines(),
    ]
    return "\n".join(lines) + "\n"


def device_address(i: int) -> str:
    """Device i (0-based): 127.A.B.C:16100, 250 per /24, spread from 127.1.0.1 (never 127.0.0.x)."""
    block, host = divmod(i, 250)
    a, b = divmod(block, 250)
    return f"127.{1 + a}.{b}.{1 + host}:{DEVICE_PORT}"


def dead_address(i: int) -> str:
    b, c = divmod(i, 250)
    return f"127.200.{b}.{1 + c}:{DEAD_PORT}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process from /proc/PID/stat, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM (``echo 5 > /proc/PID/clear_refs``) so the next peak is this round's."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


class FleetError(RuntimeError):
    pass


class Fleet:
    """The namespace, snmpd and the dead responder; ``with Fleet(...) as fleet:`` always cleans up."""

    def __init__(self, *, dead: int = 0, name: str | None = None, work_dir: Path | None = None) -> None:
        self.name = name or f"nwbench{os.getpid()}"
        self.dead = dead
        self._own_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="netwatt-fleet-"))
        self.snmpd: subprocess.Popen[bytes] | None = None
        self.dead_proc: subprocess.Popen[bytes] | None = None
        self._netns_created = False

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        if os.geteuid() != 0:
            raise FleetError("the fleet needs root (ip netns add)")
        if not Path(SNMPD).exists():
            raise FleetError(f"{SNMPD} is missing: apt-get install snmpd snmp")
        _run(["ip", "netns", "add", self.name])
        self._netns_created = True
        _run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"])
        persist = self.work_dir / "snmpd-persist"
        persist.mkdir(parents=True, exist_ok=True)
        conf = self.work_dir / "snmpd.conf"
        conf.write_text(snmpd_conf())
        log = self.work_dir / "snmpd.log"
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist), MIBS="", MIBDIRS="/dev/null")
        # `ip netns exec` execs snmpd in place: the PID we hold is snmpd's.
        self.snmpd = subprocess.Popen(
            ["ip", "netns", "exec", self.name, SNMPD, "-f", "-C", "-c", str(conf), "-Lf", str(log),
             "-M", "/dev/null", "-I", "-smux"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready(log)
        if self.dead:
            self._start_dead()

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.snmpd is not None and self.snmpd.poll() is not None:
                raise FleetError(f"snmpd exited with {self.snmpd.returncode}: {_tail(log)}")
            if self.snmp_counters() is not None:
                return
            time.sleep(0.1)
        raise FleetError(f"snmpd did not answer within 15 s: {_tail(log)}")

    def _start_dead(self) -> None:
        addresses = [dead_address(i) for i in range(self.dead)]
        self.dead_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, str(Path(__file__).resolve()),
             "dead-responder", *addresses],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.dead_proc.stdout is not None
        line = self.dead_proc.stdout.readline().decode().strip()     # "ready N" once all are bound
        if not line.startswith("ready"):
            raise FleetError(f"dead responder did not start (said {line!r})")

    def stop(self) -> None:
        for proc in (self.dead_proc, self.snmpd):
            if proc is not None:
                stop_process(proc)
        self.dead_proc = self.snmpd = None
        if self._netns_created:
            # Anything else still inside was started by us (a poller that outlived its timeout).
            pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True,
                                  check=False, timeout=10).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", self.name], check=False, timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._netns_created = False
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # -- use --------------------------------------------------------------------------------

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    @property
    def snmpd_pid(self) -> int:
        assert self.snmpd is not None
        return self.snmpd.pid

    def snmpd_cpu_s(self) -> float:
        return cpu_seconds(self.snmpd_pid)

    def snmp_counters(self) -> dict[str, int] | None:
        """snmpd's own SNMPv2-MIB counters, read in one GET (one request) inside the namespace."""
        oids = {"in_pkts": SNMP_IN_PKTS, "in_total_req_vars": SNMP_IN_TOTAL_REQ_VARS,
                "silent_drops": SNMP_SILENT_DROPS}
        result = subprocess.run(
            self.exec_argv(["snmpget", "-v2c", "-c", STATS_COMMUNITY, "-M", "/dev/null", "-On", "-Oqv",
                            "-t", "1", "-r", "2", f"127.0.0.1:{DEVICE_PORT}", *oids.values()]),
            capture_output=True, text=True, check=False, timeout=10,
        )
        values = result.stdout.split()
        if result.returncode != 0 or len(values) != len(oids) or not all(v.isdigit() for v in values):
            return None
        return {key: int(v) for key, v in zip(oids, values, strict=True)}

    def udp_counters(self) -> dict[str, int]:
        """The namespace's /proc/net/snmp Udp line (InDatagrams, RcvbufErrors, ...)."""
        result = subprocess.run(self.exec_argv(["cat", "/proc/net/snmp"]), capture_output=True, text=True,
                                check=True, timeout=10)
        rows = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("Udp:")]
        return {key: int(value) for key, value in zip(rows[0], rows[1], strict=True)}


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise FleetError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, SIGKILL after 5 s; reaps it and closes its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP raise SystemExit (like SIGINT's KeyboardInterrupt), so ``finally`` cleans up."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def dead_responder(addresses: Sequence[str]) -> None:
    """Bind one UDP socket per address, never read them, sleep until killed (runs in the namespace)."""
    sockets: list[socket.socket] = []
    for address in addresses:
        host, port = address.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, int(port)))
        sockets.append(sock)
    print(f"ready {len(sockets)}", flush=True)
    while True:
        time.sleep(3600)


def _serve(args: argparse.Namespace) -> int:
    with exit_on_signals(), Fleet(dead=args.dead) as fleet:
        print(f"namespace {fleet.name}, snmpd pid {fleet.snmpd_pid}, {VARBINDS_PER_DEVICE} varbinds "
              f"a device, work dir {fleet.work_dir}")
        for i in range(args.devices):
            print(f"  live {device_address(i)}")
        for i in range(args.dead):
            print(f"  dead {dead_address(i)}")
        print(f"try: ip netns exec {fleet.name} snmpbulkwalk -v2c -c public -On 127.0.0.5:{DEVICE_PORT} "
              "1.3.6.1.2.1.99", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start a fleet and keep it up until Ctrl-C or --seconds")
    serve.add_argument("--devices", type=int, default=5, help="live addresses to list")
    serve.add_argument("--dead", type=int, default=0, help="dead devices (bound, never read)")
    serve.add_argument("--seconds", type=float, default=600.0)
    dead = sub.add_parser("dead-responder", help="internal: bind ADDRESS... and never read")
    dead.add_argument("addresses", nargs="+")
    sub.add_parser("conf", help="print the generated snmpd.conf")
    args = parser.parse_args(argv)
    if args.command == "dead-responder":
        dead_responder(args.addresses)
        return 0
    if args.command == "conf":
        sys.stdout.write(snmpd_conf())
        return 0
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
