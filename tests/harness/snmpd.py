"""Debian's Net-SNMP snmpd with a generated config: v2c communities, v3 users, fixed values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .probe import SYS_OBJECT_ID, net_snmp_env, snmpget, v2c_get
from .process import ManagedProcess, find_tool
from .server import SubprocessServer
from .v3 import V3User

__all__ = ["NetSnmpd", "V3User"]


class NetSnmpd(SubprocessServer):
    """`snmpd -f` on udp:127.0.0.1:PORT, read-only for 127.0.0.1.

    `extra_lines` go to snmpd.conf verbatim, e.g. "override 1.3.6.1.2.1.99.1.1.1.4.1 integer 250".
    """

    name = "snmpd"

    def __init__(
        self,
        communities: Sequence[str] = (),
        v3_users: Sequence[V3User] = (),
        extra_lines: Sequence[str] = (),
        *,
        work_dir: Path | None = None,
        ready_timeout: float = 30.0,
        writable: bool = False,
    ) -> None:
        if not communities and not v3_users:
            raise ValueError("snmpd needs a community or a v3 user, else nothing can read it")
        for community in communities:
            if not community or any(c.isspace() for c in community):
                raise ValueError(f"bad community {community!r}")
        for user in v3_users:
            user.validate()
        super().__init__(work_dir, ready_timeout)
        self.communities = list(communities)
        self.v3_users = list(v3_users)
        self.extra_lines = list(extra_lines)
        self.writable = writable        # rw communities/users: SETs reach pass/pass_persist tables
        self.conf_path = self.work_dir / "snmpd.conf"
        self.persist_dir = self.work_dir / "persist"
        self.client_dir = self.work_dir / "client"

    def config(self, port: int) -> str:
        lines = [
            f"agentAddress udp:{self.host}:{port}",
            "dontLogTCPWrappersConnects yes",
            *(f"{'rw' if self.writable else 'ro'}community {c} 127.0.0.1" for c in self.communities),
        ]
        for u in self.v3_users:
            priv = f" {u.priv_protocol} {u.priv_password}" if u.priv_protocol else ""
            lines.append(f"createUser {u.username} {u.auth_protocol} {u.auth_password}{priv}")
            access = "rwuser" if self.writable else "rouser"
            lines.append(f"{access} {u.username} {'authpriv' if u.priv_protocol else 'auth'}")
        return "\n".join([*lines, *self.extra_lines, ""])

    def _process(self, port: int) -> ManagedProcess:
        # Our own state dirs (engine boots, localized user keys), never /var/lib/snmp or ~/.snmp.
        for folder in (self.persist_dir, self.client_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config(port))
        log = self.work_dir / f"snmpd-{port}.log"  # one log per attempt: retries on a new port stay apart
        argv = [
            find_tool("snmpd", "/usr/sbin", "/usr/local/sbin"),
            "-f",  # foreground, so the PID we hold is the server
            "-C",  # only our config, not /etc/snmp
            "-c", str(self.conf_path),
            "-Lf", str(log),
            "-M", "/dev/null",  # no MIB files; MIBS= in env keeps it from warning about each one
            "-I", "-smux",  # smux would bind TCP 199 (taken by a system snmpd, privileged for non-root)
        ]  # fmt: skip
        env = net_snmp_env(self.persist_dir)
        logs = [log, self.work_dir / "probe.log"]
        return ManagedProcess(self.name, argv, self.work_dir / f"console-{port}.log", env, extra_logs=logs)

    def _probe(self) -> bool:
        if self.communities:
            return v2c_get(self.host, self.port, self.communities[0], timeout=1.0)
        result = snmpget(self.endpoint, SYS_OBJECT_ID, v3=self.v3_users[0], persist_dir=self.client_dir)
        # Keep the last v3 probe's complaint (e.g. "Authentication failure") for the failure message.
        (self.work_dir / "probe.log").write_text(f"last snmpget -v3 probe: {result.stderr.strip()}\n")
        return result.returncode == 0
