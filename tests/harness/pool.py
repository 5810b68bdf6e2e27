"""Factories behind the conftest fixtures: start servers on demand, stop them all at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from .misbehaving import MisbehavingAgent, Mode
from .require import require_server
from .snmpd import NetSnmpd
from .snmpsim import SnmpsimServer
from .v3 import V3User


class SnmpdFactory(Protocol):
    def __call__(
        self,
        communities: Sequence[str] = (),
        v3_users: Sequence[V3User] = (),
        extra_lines: Sequence[str] = (),
        writable: bool = False,
    ) -> NetSnmpd: ...


class SnmpsimFactory(Protocol):
    def __call__(self, data_dir: Path, cache_dir: Path | None = None) -> SnmpsimServer: ...


class MisbehavingFactory(Protocol):
    def __call__(
        self, mode: Mode, table: Mapping[str, object] | None = None, *, delay_s: float = 3.0
    ) -> MisbehavingAgent: ...


class ServerPool:
    """Owns every server it started; closing the pool stops them all, newest first."""

    def __init__(self, work_root: Path) -> None:
        self.work_root = work_root
        self._servers: list[NetSnmpd | SnmpsimServer | MisbehavingAgent] = []
        self._snmpsim: dict[tuple[Path, Path], SnmpsimServer] = {}
        self._count = 0

    def _dir(self, kind: str) -> Path:
        self._count += 1
        return self.work_root / f"{kind}-{self._count}"

    def snmpd(
        self,
        communities: Sequence[str] = (),
        v3_users: Sequence[V3User] = (),
        extra_lines: Sequence[str] = (),
        writable: bool = False,
    ) -> NetSnmpd:
        server = NetSnmpd(communities, v3_users, extra_lines, work_dir=self._dir("snmpd"), writable=writable)
        self._servers.append(server)
        return require_server(server.start)

    def snmpsim(self, data_dir: Path, cache_dir: Path | None = None) -> SnmpsimServer:
        """One server per (data_dir, cache_dir): a folder of big walks is indexed and started once."""
        cache = (cache_dir or self.work_root / "snmpsim-cache").resolve()
        key = (data_dir.resolve(), cache)
        if key not in self._snmpsim:
            server = SnmpsimServer(data_dir, cache, work_dir=self._dir("snmpsim"))
            self._servers.append(server)
            self._snmpsim[key] = require_server(server.start)
        return self._snmpsim[key]

    def misbehaving(
        self, mode: Mode, table: Mapping[str, object] | None = None, *, delay_s: float = 3.0
    ) -> MisbehavingAgent:
        agent = MisbehavingAgent(mode, table, delay_s=delay_s)
        self._servers.append(agent)
        return agent.start()

    def close(self) -> None:
        servers, self._servers = self._servers, []
        self._snmpsim.clear()
        for server in reversed(servers):
            server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
