"""NETCONF collection over SSH: ncclient behind one asyncio boundary, host keys always verified.

``open_session(target)`` yields a ``NetconfSession`` (get with subtree/XPath filters, get-config,
custom RPCs, and the write operations configuration helpers need). Failures raise
``NetconfError`` whose ``error`` is a ``collectors.errors.CollectError`` naming the device.
"""

from collectors.netconf.hostkeys import PresentedKey, fetch_host_key, fingerprint, record_host_key
from collectors.netconf.session import NetconfPool, NetconfSession, default_pool, open_session
from collectors.netconf.types import (
    DEFAULT_PORT,
    HostKeyCheck,
    NetconfAuth,
    NetconfError,
    NetconfTarget,
    RpcReply,
)

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
