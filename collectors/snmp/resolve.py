"""Device host names to socket addresses, resolved once per client without blocking the event loop
(a sendto() or connect() to a name would resolve inline)."""

from __future__ import annotations

import asyncio
import socket

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import SnmpTarget

Resolved = tuple[int, tuple[str, int]]      # address family, (ip, port)


class AddressBook:
    def __init__(self) -> None:
        self._addresses: dict[tuple[str, int], Resolved] = {}

    async def resolve(self, target: SnmpTarget) -> Resolved | CollectError:
        key = (target.host, target.port)
        cached = self._addresses.get(key)
        if cached is not None:
            return cached
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            return CollectError(ErrorKind.UNREACHABLE, f"cannot resolve {target.host!r}: {exc}")
        family, _, _, _, sockaddr = infos[0]
        resolved = (int(family), (str(sockaddr[0]), int(sockaddr[1])))
        self._addresses[key] = resolved
        return resolved
