"""Plain data shared by every SNMP backend: OIDs, decoded values, credentials, targets, results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Protocol

from collectors.errors import CollectError

Oid = tuple[int, ...]


class _Exception(Enum):
    """SNMPv2 varbind exceptions (RFC 3416): a row that is not there, not a value."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


NoSuchObject = _Exception.NO_SUCH_OBJECT
NoSuchInstance = _Exception.NO_SUCH_INSTANCE
EndOfMibView = _Exception.END_OF_MIB_VIEW

# Integers (Integer32, Gauge32, Counter*, TimeTicks) are int, OCTET STRING is bytes,
# OBJECT IDENTIFIER is an Oid, IpAddress is its dotted text.
SnmpValue = int | bytes | Oid | str | _Exception


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2.1' or '.1.3.6.1.2.1' -> (1, 3, 6, 1, 2, 1); raises ValueError on anything else."""
    stripped = text.strip().lstrip(".")
    if not stripped:
        raise ValueError("empty OID")
    try:
        parts = tuple(int(p) for p in stripped.split("."))
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    if any(p < 0 for p in parts):
        raise ValueError(f"not a numeric OID: {text!r}")
    return parts


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))


AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "3DES", "AES", "AES128", "AES192", "AES256", "AES192C", "AES256C"]


@dataclass(frozen=True, slots=True)
class SnmpV2cAuth:
    community: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SnmpV3Auth:
    username: str
    auth_protocol: AuthProtocol | None = None
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_password: str | None = field(default=None, repr=False)
    context_name: str = ""


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """One device as the SNMP layer sees it."""

    name: str
    host: str
    port: int
    auth: SnmpV2cAuth | SnmpV3Auth
    credential_name: str = ""       # v3 engines are shared per credential, see PysnmpClient
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    max_requests: int = 200         # hard stop for a runaway walk
    backend: str = "auto"           # auto | gufo | pysnmp: which client reads it (see backends.py)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(slots=True)
class WalkResult:
    """Every varbind found under the requested subtrees, in wire order, plus what it cost."""

    varbinds: dict[Oid, SnmpValue] = field(default_factory=dict)
    errors: list[CollectError] = field(default_factory=list)
    requests: int = 0
    elapsed_s: float = 0.0
    backend: str = ""               # the client that answered, set by backends.BackendRouter

    @property
    def ok(self) -> bool:
        return not self.errors


class SnmpClient(Protocol):
    """The seam between collection logic and the wire. A faster backend implements this."""

    async def walk(self, target: SnmpTarget, subtrees: Sequence[Oid]) -> WalkResult: ...

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> WalkResult: ...

    async def close(self) -> None: ...
