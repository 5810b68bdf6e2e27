"""What can go wrong while collecting, as data: a collector returns these, it does not raise them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    TIMEOUT = "timeout"                  # no answer within timeout x (retries + 1)
    AUTH = "auth"                        # SNMPv3 report: unknown user, wrong digest, decryption error
    UNREACHABLE = "unreachable"          # ICMP port/host unreachable, DNS failure
    PROTOCOL = "protocol"                # undecodable reply, wrong types, error-status in the PDU
    NON_INCREASING = "non_increasing"    # the agent went backwards or repeated an OID during a walk
    WALK_LIMIT = "walk_limit"            # stopped a walk at the request cap (a runaway agent)
    HOST_KEY = "host_key"                # SSH host key unknown or changed: never connected past it
    RPC_ERROR = "rpc_error"              # the device answered a NETCONF request with <rpc-error>


@dataclass(frozen=True, slots=True)
class CollectError:
    kind: ErrorKind
    message: str
    where: str = ""          # the OID, subtree or YANG path the error is about, if any

    def __str__(self) -> str:
        suffix = f" ({self.where})" if self.where else ""
        return f"{self.kind}: {self.message}{suffix}"
