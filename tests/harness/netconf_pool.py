"""Factories for the NETCONF test servers: started on demand, all stopped at the end of the session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from .netconf_canned import CannedNetconfServer
from .netconfd import YANG_DIR, NetconfdServer
from .require import require_server


class NetconfServerPool:
    def __init__(self, work_root: Path) -> None:
        self.work_root = work_root
        self._servers: list[NetconfdServer | CannedNetconfServer] = []

    def netconfd(self, modules: Sequence[str | Path] = (YANG_DIR / "netwatt-test.yang",), *,
                 modpath: Sequence[str | Path] = (), extra_args: Sequence[str] = ()) -> NetconfdServer:
        """A fresh netconfd + sshd loading ``modules`` (YANG files or names found on ``modpath``)."""
        server = NetconfdServer(modules, modpath=modpath, extra_args=extra_args)
        self._servers.append(server)
        return require_server(server.start)

    def canned(self, case: Path, *, delay_s: float = 0.0, raw_reply: Path | None = None,
               huge_reply_bytes: int = 0) -> CannedNetconfServer:
        work = self.work_root / f"canned-{len(self._servers)}"
        server = CannedNetconfServer(case, work, delay_s=delay_s, raw_reply=raw_reply,
                                     huge_reply_bytes=huge_reply_bytes)
        self._servers.append(server)
        return require_server(server.start)

    def close(self) -> None:
        servers, self._servers = self._servers, []
        for server in reversed(servers):
            server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
