"""Turn a server that cannot start into a failed test: integration tests never skip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypeVar

import pytest

from .process import ServerStartError
from .server import Startable

T = TypeVar("T")
S = TypeVar("S", bound=Startable)


def require_server(start: Callable[[], T]) -> T:
    """Call `start`; if the server cannot start, fail the test with the reason and the server's log tail.

    Locally and in CI (CI=true) alike: a missing snmpd must show up as a red test, not a skip.
    """
    try:
        return start()
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)


class RequireServer(Protocol):
    def __call__(self, start: Callable[[], T]) -> T: ...


class StartedServers:
    """Owns the servers it started under ``work_root``: closing it closes them all, newest first."""

    def __init__(self, work_root: Path) -> None:
        self.work_root = work_root
        self._servers: list[Startable] = []

    def _start(self, server: S) -> S:
        self._servers.append(server)
        started: S = require_server(server.start)
        return started

    def close(self) -> None:
        servers, self._servers = self._servers, []
        for server in reversed(servers):
            server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
