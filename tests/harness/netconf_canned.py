"""The canned NETCONF server (``canned_netconf_server.py``) as a harness server on a free 127.0.0.1 port."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Self

from .netconfd import ssh_banner, ssh_keygen
from .ports import LOOPBACK, free_tcp_port
from .process import ManagedProcess, ServerStartError
from .server import Startable

SCRIPT = Path(__file__).resolve().parent / "canned_netconf_server.py"
CANNED_USER = "netwatt"
CANNED_PASSWORD = "canned-pass"


class CannedNetconfServer(Startable):
    """Serves one case folder (capabilities.txt, data.xml, rpc/*.xml) over real SSH."""

    name = "canned-netconf"

    def __init__(self, case: Path, work_dir: Path, *, delay_s: float = 0.0, raw_reply: Path | None = None,
                 huge_reply_bytes: int = 0, ready_timeout: float = 15.0) -> None:
        self.case = case
        self.work_dir = work_dir
        self.delay_s = delay_s
        self.raw_reply = raw_reply
        self.huge_reply_bytes = huge_reply_bytes
        self.ready_timeout = ready_timeout
        self.host = LOOPBACK
        self.port = 0
        self.username = CANNED_USER
        self.password = CANNED_PASSWORD
        self.host_key_file = work_dir / "ssh_host_ed25519_key"
        self.known_hosts = work_dir / "known_hosts"
        self._proc: ManagedProcess | None = None

    def start(self) -> Self:
        if self._proc is not None:
            return self
        self.work_dir.mkdir(parents=True, exist_ok=True)
        ssh_keygen(self.host_key_file, "netwatt-canned-host")
        for attempt in range(1, 4):
            self.port = free_tcp_port()
            argv = [sys.executable, str(SCRIPT), "--port", str(self.port), "--host-key", str(self.host_key_file),
                    "--user", self.username, "--password", self.password, "--case", str(self.case),
                    "--delay", str(self.delay_s), "--huge", str(self.huge_reply_bytes)]
            if self.raw_reply is not None:
                argv += ["--raw", str(self.raw_reply)]
            proc = self._proc = ManagedProcess(self.name, argv, self.work_dir / f"server-{self.port}.log")
            proc.start()
            try:
                proc.wait_ready(lambda: ssh_banner(self.host, self.port), self.ready_timeout, interval=0.05)
                break
            except ServerStartError as exc:
                self.stop()
                if "in use" not in exc.log_tail or attempt == 3:
                    raise
        key_type, key = self.host_key_file.with_suffix(".pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {key_type} {key}\n")
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop(grace=2.0)
