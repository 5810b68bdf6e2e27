"""NETCONF collection over SSH: ncclient behind one asyncio boundary, host keys always verified.

``open_session(target)`` yields a ``NetconfSession`` (get with subtree/XPath filters, get-config,
custom RPCs, and the write operations configuration helpers need). Failures raise
``NetconfError`` whose ``error`` is a ``collectors.errors.CollectError`` naming the device.

The session and host-key parts load ncclient and paramiko (~13 MB): they are imported on first use
(PEP 562), so an agent without NETCONF devices never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from collectors.netconf.types import (
    DEFAULT_PORT,
    HostKeyCheck,
    NetconfAuth,
    NetconfError,
    NetconfTarget,
    RpcReply,
)

if TYPE_CHECKING:
    from collectors.netconf.hostkeys import PresentedKey, fetch_host_key, fingerprint, record_host_key
    from collectors.netconf.session import NetconfPool, NetconfSession, default_pool, open_session

_LAZY = {name: "collectors.netconf.hostkeys" for name in ("PresentedKey", "fetch_host_key", "fingerprint",
                                                          "record_host_key")}
_LAZY |= {name: "collectors.netconf.session" for name in ("NetconfPool", "NetconfSession", "default_pool",
                                                          "open_session")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_PORT",
    "HostKeyCheck",
    "NetconfAuth",
    "NetconfError",
    "NetconfPool",
    "NetconfSession",
    "NetconfTarget",
    "PresentedKey",
    "RpcReply",
    "default_pool",
    "fetch_host_key",
    "fingerprint",
    "open_session",
    "record_host_key",
]
