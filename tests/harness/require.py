"""Turn a server that cannot start into a failed test: integration tests never skip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import pytest

from .process import ServerStartError

T = TypeVar("T")


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
