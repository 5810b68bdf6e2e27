"""Factories behind the conftest fixtures: start servers on demand, stop them all at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from .misbehaving import MisbehavingAgent, Mode
from .require import StartedServers
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


class ServerPool(StartedServers):
    """Owns every server it started; closing the pool stops them all, newest first."""

    def __init__(self, work_root: Path) -> None:
        super().__init__(work_root)
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
        return self._start(NetSnmpd(communities, v3_users, extra_lines, work_dir=self._dir("snmpd"), writable=writable))

    def snmpsim(self, data_dir: Path, cache_dir: Path | None = None) -> SnmpsimServer:
        """One server per (data_dir, cache_dir): a folder of big walks is indexed and started once."""
        cache = (cache_dir or self.work_root / "snmpsim-cache").resolve()
        key = (data_dir.resolve(), cache)
        if key not in self._snmpsim:
            self._snmpsim[key] = self._start(SnmpsimServer(data_dir, cache, work_dir=self._dir("snmpsim")))
        return self._snmpsim[key]

    def misbehaving(
        self, mode: Mode, table: Mapping[str, object] | None = None, *, delay_s: float = 3.0
    ) -> MisbehavingAgent:
        agent = MisbehavingAgent(mode, table, delay_s=delay_s)
        self._servers.append(agent)
        return agent.start()

    def close(self) -> None:
        self._snmpsim.clear()
        super().close()
