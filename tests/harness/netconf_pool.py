"""Factories for the NETCONF test servers: started on demand, all stopped at the end of the session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .netconf_canned import CannedNetconfServer
from .netconfd import YANG_DIR, NetconfdServer
from .require import StartedServers


class NetconfServerPool(StartedServers):
    def netconfd(self, modules: Sequence[str | Path] = (YANG_DIR / "netwatt-test.yang",), *,
                 modpath: Sequence[str | Path] = (), extra_args: Sequence[str] = ()) -> NetconfdServer:
        """A fresh netconfd + sshd loading ``modules`` (YANG files or names found on ``modpath``)."""
        return self._start(NetconfdServer(modules, modpath=modpath, extra_args=extra_args))

    def canned(self, case: Path, *, delay_s: float = 0.0, raw_reply: Path | None = None,
               huge_reply_bytes: int = 0) -> CannedNetconfServer:
        work = self.work_root / f"canned-{len(self._servers)}"
        return self._start(CannedNetconfServer(case, work, delay_s=delay_s, raw_reply=raw_reply,
                                               huge_reply_bytes=huge_reply_bytes))
