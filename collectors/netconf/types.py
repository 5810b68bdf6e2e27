"""Plain data for NETCONF collection: who to reach, how to prove who they are, what went wrong."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from collectors.errors import CollectError, ErrorKind

DEFAULT_PORT = 830
DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024     # one reply larger than this ends the session
XPATH_CAPABILITY = "urn:ietf:params:netconf:capability:xpath:1.0"
CANDIDATE_CAPABILITY = "urn:ietf:params:netconf:capability:candidate:1.0"
CONFIRMED_COMMIT_CAPABILITY = "urn:ietf:params:netconf:capability:confirmed-commit:1.1"


@dataclass(frozen=True, slots=True)
class NetconfAuth:
    """SSH login: a password or an unencrypted private key file (or both: the key is tried first)."""

    username: str
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None


@dataclass(frozen=True, slots=True)
class HostKeyCheck:
    """How a device's SSH host key is verified; there is no way to switch verification off.

    ``pinned`` (an OpenSSH ``SHA256:...`` fingerprint) wins when set; otherwise the key must be in
    ``known_hosts`` under ``host`` or ``[host]:port`` (``netwatt trust`` records it there).
    """

    known_hosts: str = ""
    pinned: str = ""


@dataclass(frozen=True, slots=True)
class NetconfTarget:
    name: str                            # the device name every error carries
    host: str
    port: int
    auth: NetconfAuth
    host_keys: HostKeyCheck
    timeout_s: float = 30.0              # deadline of each operation (connect + hello is one)
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    credential_name: str = ""

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class NetconfError(Exception):
    """A failed NETCONF operation; ``error`` is the collector's plain description of it."""

    def __init__(self, error: CollectError) -> None:
        super().__init__(str(error))
        self.error = error

    @property
    def kind(self) -> ErrorKind:
        return self.error.kind


@dataclass(frozen=True, slots=True)
class RpcReply:
    """One reply: the whole ``<rpc-reply>`` as text (parse it with ``collectors.netconf.xmlsafe``)."""

    xml: str
    elapsed_s: float


def normalise_fingerprint(text: str) -> str:
    """Accept ``SHA256:xxx`` (padding optional); raise ValueError on anything else."""
    value = text.strip()
    if not value.startswith("SHA256:"):
        raise ValueError(f"{text!r} is not an OpenSSH SHA256 fingerprint (SHA256:..., see ssh-keygen -l)")
    body = value[len("SHA256:"):].rstrip("=")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except ValueError:
        raise ValueError(f"{text!r} is not valid base64 after 'SHA256:'") from None
    if len(raw) != 32:
        raise ValueError(f"{text!r} is not 32 bytes long (a SHA256 digest)")
    return "SHA256:" + body
