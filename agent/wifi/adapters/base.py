"""The adapter contract. ``apply`` returns an ``Applied``: the executor reads the state back and then
confirms it (NETCONF: the confirming commit) or rolls it back (cancel-commit, or the previous value)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agent.wifi.model import Observed, Scope, Target


class Applied(Protocol):
    async def confirm(self) -> None: ...

    async def rollback(self) -> None: ...


class Controller(Protocol):
    name: str
    scopes: frozenset[Scope]

    async def read(self, targets: Sequence[Target]) -> dict[str, Observed]: ...

    async def apply(self, target: Target, enabled: bool) -> Applied: ...

    async def close(self) -> None: ...


class Immediate:
    """A change that took effect at once (SNMP SET, 9800 RPC): confirming is a no-op, rolling back sets
    the previous value again."""

    def __init__(self, controller: Controller, target: Target, previous: bool) -> None:
        self.controller = controller
        self.target = target
        self.previous = previous

    async def confirm(self) -> None:
        return None

    async def rollback(self) -> None:
        await self.controller.apply(self.target, self.previous)
