"""Base for servers run as a child process on a free 127.0.0.1 port (UDP unless a server says otherwise)."""

from __future__ import annotations

import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

from .ports import LOOPBACK, foreign_udp_holders, free_udp_port
from .process import ManagedProcess, ServerStartError

_ATTEMPTS = 3  # a free port can be taken between our pick and the server's bind: then pick again
# Log lines of a server whose bind failed and that exited: retry on another port.
_BIND_ERRORS = ("already in use", "Error opening specified endpoint")


class _PortTaken(Exception):
    pass


class Startable(ABC):
    """``with server:`` starts it and stops it, whatever kind of server it is."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SubprocessServer(Startable):
    name = "server"
    bind_errors: tuple[str, ...] = _BIND_ERRORS

    def __init__(self, work_dir: Path | None, ready_timeout: float) -> None:
        self._own_dir = work_dir is None
        self.work_dir = (
            Path(tempfile.mkdtemp(prefix=f"netwatt-{self.name}-")) if work_dir is None else work_dir
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.ready_timeout = ready_timeout
        self.host = LOOPBACK
        self.port = 0
        self._proc: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @abstractmethod
    def _process(self, port: int) -> ManagedProcess:
        """The (not yet started) child serving `port`; files go under self.work_dir."""

    @abstractmethod
    def _probe(self) -> bool:
        """One real SNMP request to self.port; True once the server answers."""

    def _free_port(self) -> int:
        return free_udp_port()

    def _ready(self) -> bool:
        """What start waits for: the probe, once no other process holds our port."""
        return self._checked_probe()

    def _checked_probe(self) -> bool:
        # snmpsim whose bind failed still logs "Listening" and hangs without a socket; snmpd may share a
        # SO_REUSEADDR port. Either way another process holds our port: move to a new one.
        pid = self.pid
        if pid is not None and foreign_udp_holders(pid, self.port):
            raise _PortTaken
        return self._probe()

    def start(self) -> Self:
        """Start and wait until the server answers; raises ServerStartError with the log tail."""
        if self._proc is not None:
            return self
        for attempt in range(1, _ATTEMPTS + 1):
            self.port = self._free_port()
            proc = self._proc = self._process(self.port)
            try:
                proc.start()
                proc.wait_ready(self._ready, self.ready_timeout)
                return self
            except _PortTaken:
                error = proc.fail(f"UDP port {self.port} was taken by another process")
            except ServerStartError as exc:
                error = exc
                if not any(marker in exc.log_tail for marker in self.bind_errors):
                    self.stop()
                    raise
            self.stop()
            if attempt == _ATTEMPTS:
                raise error
        raise AssertionError("unreachable")

    def log_tail(self, lines: int = 40) -> str:
        return self._proc.log_tail(lines) if self._proc else "(not started)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop()

    def close(self) -> None:
        """Stop, and remove the work dir when we made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

