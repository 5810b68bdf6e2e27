"""A real NETCONF server over real SSH: Debian's yuma123 ``netconfd`` behind a private OpenSSH ``sshd``.

The recipe of ``shared/netconf-peer`` in Python: sshd listens on 127.0.0.1 only with its own config
(``/etc/ssh`` is never read), every session is forced into ``netconf-subsystem``, and netconfd's
``--port`` equals the SSH port (it refuses sessions whose port it does not know). Needs root (sshd
password logins) and a system user of our own, created once with a marker in its GECOS field.

    with NetconfdServer(modules=[YANG_DIR / "netwatt-test.yang"]) as server:
        server.port, server.username, server.password, server.key_file, server.known_hosts
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from .ports import LOOPBACK, free_tcp_port
from .process import ManagedProcess, ServerStartError
from .server import Startable

NETCONFD = "/usr/sbin/netconfd"
SUBSYSTEM = "/usr/sbin/netconf-subsystem"
SSHD = "/usr/sbin/sshd"
YANG_DIR = Path(__file__).resolve().parent / "yang"
TEST_USER = "netwatt-nc"
TEST_PASSWORD = "netwatt-nc-pass"        # one user shared by every instance, so one password
_GECOS = "netwatt NETCONF test user"
_ATTEMPTS = 3


def ensure_test_user(user: str = TEST_USER, password: str = TEST_PASSWORD) -> None:
    """Create the SSH login user once (system user, real shell for the subsystem, no home)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh",
              "--comment", _GECOS, user], "useradd")
        entry = pwd.getpwnam(user)
    if entry.pw_gecos != _GECOS:
        raise ServerStartError("netconfd", f"user {user} exists but was not made by the test harness")
    _run(["chpasswd"], "chpasswd", stdin=f"{user}:{password}\n")


def _run(argv: list[str], name: str, stdin: str | None = None) -> None:
    try:
        subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ServerStartError("netconfd", f"{name} failed: {detail}") from None


def ssh_keygen(path: Path, comment: str) -> None:
    if not path.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], "ssh-keygen")


class NetconfdServer(Startable):
    """netconfd + sshd on a free 127.0.0.1 port; ``modules`` are YANG files or module names."""

    name = "netconfd"

    def __init__(self, modules: Sequence[str | Path] = (YANG_DIR / "netwatt-test.yang",), *,
                 modpath: Sequence[str | Path] = (), extra_args: Sequence[str] = (),
                 startup_xml: str | None = None, ready_timeout: float = 15.0) -> None:
        self.modules = [str(m) for m in modules]
        self.modpath = [str(p) for p in modpath]
        self.extra_args = list(extra_args)
        self.startup_xml = startup_xml
        self.ready_timeout = ready_timeout
        # Short, world-traversable path: the socket path must fit sun_path, and sshd reads
        # authorized_keys as the test user (a 0700 parent such as pytest's tmp dir breaks key login).
        self.run_dir = Path(tempfile.mkdtemp(prefix="nwnc-", dir="/tmp"))
        os.chmod(self.run_dir, 0o755)
        self.host = LOOPBACK
        self.port = 0
        self.username = TEST_USER
        self.password = TEST_PASSWORD
        self.key_file = self.run_dir / "client_ed25519"
        self.host_key_file = self.run_dir / "ssh_host_ed25519_key"
        self.known_hosts = self.run_dir / "known_hosts"
        self._netconfd: ManagedProcess | None = None
        self._sshd: ManagedProcess | None = None

    @property
    def host_key_b64(self) -> str:
        return self.host_key_file.with_suffix(".pub").read_text().split()[1]

    @property
    def host_key_line(self) -> str:
        key_type, key = self.host_key_file.with_suffix(".pub").read_text().split()[:2]
        return f"{key_type} {key}"

    def start(self) -> Self:
        if self._sshd is not None:
            return self
        for binary in (NETCONFD, SUBSYSTEM, SSHD):
            if not os.access(binary, os.X_OK):
                raise ServerStartError(self.name, f"{binary} is missing (apt-get install netconfd openssh-server)")
        if os.geteuid() != 0:
            raise ServerStartError(self.name, "must run as root (sshd password logins, the test user)")
        ensure_test_user()
        ssh_keygen(self.host_key_file, "netwatt-test-host")
        ssh_keygen(self.key_file, "netwatt-test-client")
        shutil.copy(self.key_file.with_suffix(".pub"), self.run_dir / "authorized_keys")
        os.chmod(self.run_dir / "authorized_keys", 0o644)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for attempt in range(1, _ATTEMPTS + 1):
            self.port = free_tcp_port()
            try:
                self._start_netconfd()
                self._start_sshd()
                break
            except ServerStartError as exc:
                self.stop()
                if "already in use" not in exc.log_tail or attempt == _ATTEMPTS:
                    raise
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {self.host_key_line}\n")
        return self

    def _start_netconfd(self) -> None:
        run = self.run_dir
        startup = run / "startup-cfg.xml"
        startup.write_text(self.startup_xml or '<?xml version="1.0" encoding="UTF-8"?>\n'
                           '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>\n')
        txid = run / "startup-cfg-txid.txt"
        if not txid.exists():
            txid.write_text("0\n")
        (run / "ncxserver.sock").unlink(missing_ok=True)
        log = run / "netconfd.log"
        log.unlink(missing_ok=True)
        args = [f"--ncxserver-sockname={run}/ncxserver.sock", f"--port={self.port}", f"--startup={startup}",
                f"--superuser={self.username}", f"--log={log}", "--log-level=info", "--with-url=false"]
        if self.modpath:
            args.append("--modpath=" + ":".join([*self.modpath, "/usr/share/yuma/modules"]))
        args += [f"--module={m}" for m in self.modules] + self.extra_args
        # HOME unset and cwd = run dir: netconfd writes its scratch and backup files there, not in /root.
        proc = self._netconfd = ManagedProcess(
            "netconfd", ["env", "-u", "HOME", "-C", str(run), NETCONFD, *args], run / "netconfd.out",
            extra_logs=[log])
        proc.start()

        def ready() -> bool:
            return (run / "ncxserver.sock").exists() and "Running netconfd server" in _read(log)

        proc.wait_ready(ready, self.ready_timeout, interval=0.05)

    def _start_sshd(self) -> None:
        run = self.run_dir
        subsystem = f"{SUBSYSTEM} --ncxserver-sockname={self.port}@{run}/ncxserver.sock"
        config = run / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.host}", "AddressFamily inet",
            f"HostKey {self.host_key_file}", "PidFile none", "UsePAM no", "PasswordAuthentication yes",
            "PermitEmptyPasswords no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            f"AuthorizedKeysFile {run}/authorized_keys", "StrictModes no", "PermitRootLogin no",
            f"AllowUsers {self.username}", "X11Forwarding no", "AllowTcpForwarding no",
            "AllowAgentForwarding no", "AllowStreamLocalForwarding no", "PermitTunnel no", "PermitTTY no",
            "PermitUserRC no", "PrintMotd no", "PrintLastLog no", "UseDNS no", "MaxStartups 64:30:128",
            "MaxSessions 32", "LogLevel VERBOSE", f"Subsystem netconf {subsystem}", f"ForceCommand {subsystem}",
        ]) + "\n")
        proc = self._sshd = ManagedProcess("sshd", [SSHD, "-D", "-f", str(config), "-E", str(run / "sshd.log")],
                                           run / "sshd.out", extra_logs=[run / "sshd.log"])
        proc.start()
        proc.wait_ready(lambda: ssh_banner(self.host, self.port), self.ready_timeout, interval=0.05)

    def log_tail(self, lines: int = 40) -> str:
        parts = [p.log_tail(lines) for p in (self._netconfd, self._sshd) if p is not None]
        return "\n".join(parts) or "(not started)"

    def stop_netconfd(self) -> None:
        """The NETCONF server goes away; sshd stays (open sessions see their channel close)."""
        proc, self._netconfd = self._netconfd, None
        if proc is not None:
            proc.stop()

    def stop(self) -> None:
        for name in ("_sshd", "_netconfd"):
            proc = getattr(self, name)
            setattr(self, name, None)
            if proc is not None:
                proc.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def ssh_banner(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something on host:port answers with an SSH identification string."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            deadline = time.monotonic() + timeout
            data = b""
            while time.monotonic() < deadline and b"\n" not in data:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"SSH-")
    except OSError:
        return False
