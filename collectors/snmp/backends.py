"""Which SNMP client reads a device: gufo-snmp (Rust codec and sockets) or pysnmp (the reference).

``auto`` means gufo when it imports, pysnmp otherwise. A target asks for a backend by name
(``SnmpTarget.backend``, from the config's ``agent.snmp_backend`` or the device's own); a device
whose credential gufo cannot speak, or whose replies gufo cannot read (larger than its 4 KiB buffer,
tooBig), is read by pysnmp, and the log says so once per device. pysnmp
also stays the writer (SET) for the Wi-Fi code: that is not part of this read seam.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from collectors.snmp.limiter import AdaptiveLimit
from collectors.snmp.types import Oid, SnmpClient, SnmpTarget, WalkResult

if TYPE_CHECKING:
    from collectors.snmp.gufo_client import GufoClient
    from collectors.snmp.pysnmp_client import PysnmpClient

log = logging.getLogger(__name__)
BACKENDS = ("auto", "gufo", "pysnmp")


@functools.cache
def gufo_available() -> bool:
    """gufo-snmp imports here (its wheel has a Rust extension: not every platform has one)."""
    try:
        importlib.import_module("gufo.snmp._fast")
    except ImportError:
        return False
    return True


def resolve_backend(wanted: str) -> str:
    """'auto' -> the backend it means on this machine."""
    if wanted == "auto":
        return "gufo" if gufo_available() else "pysnmp"
    return wanted


class BackendRouter:
    """``SnmpClient`` that hands each target to the client of its backend; results say which answered."""

    def __init__(self, default: str = "auto", *, initial_in_flight: int = 32, max_in_flight: int = 2000) -> None:
        if default not in BACKENDS:
            raise ValueError(f"unknown SNMP backend {default!r} (one of {', '.join(BACKENDS)})")
        self.default = default
        self._sizes = {"initial_in_flight": initial_in_flight, "max_in_flight": max_in_flight}
        self._pysnmp: PysnmpClient | None = None
        self._gufo: GufoClient | None = None
        self._said: set[str] = set()          # devices whose fallback was logged

    @property
    def limit(self) -> AdaptiveLimit:
        """The in-flight limit of the default backend (for the agent's self-metrics)."""
        if resolve_backend(self.default) == "gufo" and gufo_available():
            return self.gufo.limit
        return self.pysnmp.limit

    @property
    def pysnmp(self) -> PysnmpClient:
        """Made on first use: pysnmp and pyasn1 cost ~0.3 s and several MB to import, which an agent
        whose devices all go to gufo never needs."""
        if self._pysnmp is None:
            from collectors.snmp.pysnmp_client import PysnmpClient  # noqa: PLC0415
            self._pysnmp = PysnmpClient(**self._sizes)
        return self._pysnmp

    @property
    def gufo(self) -> GufoClient:
        if self._gufo is None:
            from collectors.snmp.gufo_client import GufoClient  # noqa: PLC0415  (optional dependency)
            self._gufo = GufoClient(**self._sizes)
        return self._gufo

    def backend_for(self, target: SnmpTarget) -> str:
        wanted = resolve_backend(self.default if target.backend == "auto" else target.backend)
        if wanted != "gufo":
            return wanted
        if not gufo_available():
            self._say_once(target.name, "gufo-snmp is not installed")
            return "pysnmp"
        from collectors.snmp.gufo_client import unsupported  # noqa: PLC0415
        reason = unsupported(target)
        if reason is not None:
            self._say_once(target.name, f"gufo-snmp lacks {reason}")
            return "pysnmp"
        if self._gufo is not None and target.name in self._gufo.needs_pysnmp:
            return "pysnmp"
        return "gufo"

    def client(self, backend: str) -> SnmpClient:
        return self.gufo if backend == "gufo" else self.pysnmp

    async def walk(self, target: SnmpTarget, subtrees: Sequence[Oid]) -> WalkResult:
        return await self._ask(target, lambda client: client.walk(target, subtrees))

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> WalkResult:
        return await self._ask(target, lambda client: client.get(target, oids))

    async def _ask(self, target: SnmpTarget, request: Callable[[SnmpClient], Awaitable[WalkResult]]) -> WalkResult:
        """``request`` on the target's backend; asked again with pysnmp when gufo rerouted the device."""
        backend = self.backend_for(target)
        result = await request(self.client(backend))
        if backend == "gufo" and self._rerouted(target):
            backend, result = "pysnmp", await request(self.pysnmp)
        result.backend = backend
        return result

    def _rerouted(self, target: SnmpTarget) -> bool:
        """gufo met a reply it cannot read (larger than its buffer, tooBig): pysnmp reads this device
        from now on, starting with the request that failed."""
        why = self.gufo.needs_pysnmp.get(target.name)
        if why is not None:
            self._say_once(target.name, f"gufo-snmp cannot read {why}")
        return why is not None

    async def close(self) -> None:
        if self._pysnmp is not None:
            await self._pysnmp.close()
        if self._gufo is not None:
            await self._gufo.close()

    def _say_once(self, device: str, why: str) -> None:
        if device not in self._said:
            self._said.add(device)
            log.warning("device %s: %s; it is polled with pysnmp", device, why)
