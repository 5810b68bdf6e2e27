"""The bundled lab: recorded devices served by a real SNMP agent (snmpsim) on 127.0.0.1.

``netwatt demo`` and the tests use it: every ``config/lab/*.snmprec`` becomes a device whose
community is the file name, and a generated config points netwatt at them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from agent.errors import NetwattError
from collectors.snmp.types import SnmpTarget, SnmpV2cAuth, parse_oid

RESPONDER = "snmpsim-command-responder"


class LabError(NetwattError):
    pass


def lab_dir() -> Path:
    candidates = []
    if env := os.environ.get("NETWATT_LAB"):
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parent.parent / "config" / "lab")
    candidates.append(Path(sys.prefix) / "share" / "netwatt" / "lab")
    for candidate in candidates:
        if any(candidate.glob("*.snmprec")):
            return candidate
    raise LabError("no recorded devices found (config/lab/*.snmprec); set NETWATT_LAB")


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def responder_command() -> str:
    beside_python = Path(sys.executable).parent / RESPONDER
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(RESPONDER)
    if found is None:
        raise LabError(f"{RESPONDER} not found: install the lab extra (pip install 'netwatt[lab]')")
    return found


class SnmpsimProcess:
    """A real snmpsim command responder serving a folder of walks on 127.0.0.1."""

    def __init__(self, data_dir: Path, *, port: int | None = None, cache_dir: Path | None = None,
                 start_timeout_s: float = 120.0) -> None:
        self.data_dir = data_dir
        self.host = "127.0.0.1"
        self.port = port or free_udp_port()
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / f"netwatt-snmpsim-{os.getuid()}"
        self.start_timeout_s = start_timeout_s
        self.communities = sorted(p.stem for p in data_dir.glob("*.snmprec"))
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process

    def __enter__(self) -> SnmpsimProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        if not self.communities:
            raise LabError(f"no .snmprec walks in {self.data_dir}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # As root, snmpsim insists on dropping privileges, which breaks its lazy imports.
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        self._process = subprocess.Popen(
            [responder_command(), f"--data-dir={self.data_dir}", f"--cache-dir={self.cache_dir}",
             f"--agent-udpv4-endpoint={self.host}:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LabError(f"snmpsim exited with {self._process.returncode}:\n{self.log_tail()}")
            if asyncio.run(self._answers()):
                return
            time.sleep(0.2)
        self.stop()
        raise LabError(f"snmpsim did not answer on {self.host}:{self.port} within "
                       f"{self.start_timeout_s:g} s:\n{self.log_tail()}")

    async def _answers(self) -> bool:
        # imported here: `netwatt` imports this module for `demo`, and an agent polling with gufo never needs pysnmp
        from collectors.snmp.pysnmp_client import PysnmpClient  # noqa: PLC0415
        client = PysnmpClient()
        try:
            target = SnmpTarget("probe", self.host, self.port, SnmpV2cAuth(self.communities[0]),
                                timeout_s=0.5, retries=0)
            reply = await client.get(target, [parse_oid("1.3.6.1.2.1.1.2.0")])
            return not reply.errors
        finally:
            await client.close()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def log_tail(self, lines: int = 30) -> str:
        self._log.seek(0)
        return "\n".join(self._log.read().decode("utf-8", "replace").splitlines()[-lines:])


def lab_config_text(server: SnmpsimProcess, *, state_directory: Path, interval_s: float = 10) -> str:
    """A netwatt config for every walk the lab serves (communities are not secret here)."""
    lines = [
        "version: 1",
        "agent:",
        f"  interval: {interval_s:g}s",
        "  round_interval: false",
        f"  energy_interval: {max(interval_s * 5, 1):g}s",
        f"  flush_interval: {interval_s:g}s",
        f"  state_directory: {state_directory}",
        "credentials:",
    ]
    lines += [f"  lab-{name}: {{version: 2c, community: 'plain:{name}'}}" for name in server.communities]
    lines += ["sites:", "  lab: {timezone: Europe/Paris, grid_zone: FR}", "devices:"]
    lines += [f"  - {{name: '{name}', address: '{server.host}:{server.port}', site: lab, "
              f"credential: 'lab-{name}', timeout: 3s, retries: 1}}" for name in server.communities]
    return "\n".join(lines) + "\n"
