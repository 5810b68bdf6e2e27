"""Device host names to socket addresses, resolved once per client without blocking the event loop
(a sendto() or connect() to a name would resolve inline)."""

from __future__ import annotations

import asyncio
import ipaddress
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
        literal = _ip_literal(target.host)
        if literal is not None:         # no resolver thread round trip for the usual IP address
            self._addresses[key] = (literal[0], (literal[1], target.port))
            return self._addresses[key]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            return CollectError(ErrorKind.UNREACHABLE, f"cannot resolve {target.host!r}: {exc}")
        family, _, _, _, sockaddr = infos[0]
        resolved = (int(family), (str(sockaddr[0]), int(sockaddr[1])))
        self._addresses[key] = resolved
        return resolved


def _ip_literal(host: str) -> tuple[int, str] | None:
    """(address family, the address as replies come from) for a plain IPv4/IPv6 address (not a name,
    no IPv6 zone), else None."""
    if "%" in host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return int(socket.AF_INET6 if address.version == 6 else socket.AF_INET), str(address)
