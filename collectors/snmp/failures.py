"""The errors every SNMP backend reports the same way (same kind, same words), whatever the library."""

from __future__ import annotations

import errno as errnos
import os
from collections.abc import Sequence

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.types import Oid, SnmpTarget, format_oid

_STATUS_NAMES = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
    16: "authorizationError",
}


def status_error(status: int, oids: Sequence[Oid]) -> CollectError:
    name = _STATUS_NAMES.get(status, f"error-status {status}")
    kind = ErrorKind.AUTH if status in (6, 16) else ErrorKind.PROTOCOL
    return CollectError(kind, f"agent answered {name}", ", ".join(format_oid(o) for o in oids[:3]))


def timeout_error(target: SnmpTarget) -> CollectError:
    return CollectError(
        ErrorKind.TIMEOUT,
        f"no reply from {target.address} after {target.retries + 1} attempt(s) of "
        f"{target.timeout_s:g} s (wrong community, ACL, or device down)",
    )


def v3_rejected_error(target: SnmpTarget, indication: str) -> CollectError:
    return CollectError(ErrorKind.AUTH, f"SNMPv3 rejected by {target.address}: {indication} "
                        "(check username, auth/priv protocols and passphrases)")


def indication_error(target: SnmpTarget, indication: str) -> CollectError:
    """pysnmp's v3arch ``errorIndication`` (a timeout, a USM refusal, anything else) as our error."""
    lowered = indication.lower()
    if "timeout" in lowered or "no snmp response" in lowered:
        return timeout_error(target)
    if any(word in lowered for word in ("unknownusername", "wrongdigest", "decryption", "unknown user",
                                        "digest", "unsupportedsecuritylevel", "notintimewindow")):
        return v3_rejected_error(target, indication)
    return CollectError(ErrorKind.PROTOCOL, f"{target.address}: {indication}")


def unreachable_error(address: str, errno: int = errnos.ECONNREFUSED) -> CollectError:
    """An ICMP error for a request: at once, never a timeout."""
    if errno == errnos.ECONNREFUSED:
        return CollectError(ErrorKind.UNREACHABLE, "port unreachable (ICMP): no SNMP agent listens", address)
    return CollectError(ErrorKind.UNREACHABLE, f"{os.strerror(errno)} (ICMP)", address)
