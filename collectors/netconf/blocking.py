"""The blocking side: one ncclient session, guarded, and every failure turned into a CollectError.

Nothing here is called from the event loop; ``collectors.netconf.session`` runs it in a bounded
thread pool under an outer deadline. The guards live in the session's reader thread, before
ncclient parses anything: a message larger than the cap or carrying a DTD/entity declaration
ends the session with a clear error instead of being expanded or buffered without bound.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import paramiko
from lxml import etree
from ncclient import manager, operations, transport
from ncclient.manager import make_device_handler

from collectors.errors import CollectError, ErrorKind
from collectors.netconf.hostkeys import fingerprint, known_fingerprints
from collectors.netconf.types import NetconfError, NetconfTarget, RpcReply
from collectors.netconf.xmlsafe import UnsafeXml, check_message

T = TypeVar("T")
_CONFIG_LOCK = threading.Lock()


class _GuardedSession(transport.SSHSession):  # type: ignore[misc]
    """ncclient's SSH session with a size cap on buffered input and DTDs refused before parsing."""

    def __init__(self, device_handler: Any, max_reply_bytes: int) -> None:
        super().__init__(device_handler)
        self.max_reply_bytes = max_reply_bytes

    def _transport_read(self) -> bytes:
        data: bytes = super()._transport_read()
        buffered = self._buffer.seek(0, os.SEEK_END)
        if buffered + len(data) > self.max_reply_bytes:
            raise UnsafeXml(f"reply exceeds the {self.max_reply_bytes}-byte limit "
                            f"({buffered + len(data)} bytes buffered and still no end of message)")
        return data

    def _dispatch_message(self, raw: str) -> None:
        try:
            check_message(raw, max_bytes=self.max_reply_bytes)
        except UnsafeXml as exc:
            self._dispatch_error(exc)
            self._closing.set()
            self._transport.close()
            return
        super()._dispatch_message(raw)


@functools.cache
def _config_dir() -> str:
    path = tempfile.mkdtemp(prefix="netwatt-ssh-")
    atexit.register(shutil.rmtree, path, True)
    return path


def _ssh_config(known_hosts: str) -> str:
    """An ssh_config naming only our known_hosts, so ncclient never reads ~/.ssh (ncclient #51, #302)."""
    path = os.path.join(_config_dir(), f"config-{hashlib.sha256(known_hosts.encode()).hexdigest()[:16]}")
    with _CONFIG_LOCK:
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as out:
                out.write(f"Host *\n  UserKnownHostsFile {known_hosts}\n")
    return path


class Connection:
    """One NETCONF session. ``abort()`` may be called from any thread to unblock a hung call."""

    def __init__(self, target: NetconfTarget) -> None:
        self.target = target
        self._sock: socket.socket | None = None
        self._session: _GuardedSession | None = None
        self._manager: manager.Manager | None = None
        self._aborted = threading.Event()
        self.capabilities: tuple[str, ...] = ()
        self.session_id: str = ""

    # -- life cycle ---------------------------------------------------------------------------
    def connect(self) -> None:
        try:
            self._connect()
        except BaseException as exc:
            error = self._error(exc, where="connect")
            self.abort()
            raise error from None
        self.capabilities = tuple(str(c) for c in self._session.server_capabilities)   # type: ignore[union-attr]
        self.session_id = str(self._session.id)   # type: ignore[union-attr]

    def _connect(self) -> None:
        target = self.target
        handler = make_device_handler({"name": "default"})
        session = self._session = _GuardedSession(handler, target.max_reply_bytes)
        rejected: dict[str, str] = {}

        def check_host_key(host: str, _md5: str) -> bool:
            # Called by ncclient only when the key is not in our known_hosts (or a pin is set).
            presented = fingerprint(session.transport.get_remote_server_key())
            if target.host_keys.pinned:
                if presented == target.host_keys.pinned:
                    return True
                rejected.update(presented=presented, expected=f"pinned {target.host_keys.pinned}")
                return False
            known = known_fingerprints(target.host_keys.known_hosts, target.host, target.port)
            rejected.update(presented=presented,
                            expected=", ".join(f"{t} {f}" for t, f in sorted(known.items())))
            return False

        known_hosts = target.host_keys.known_hosts
        if target.host_keys.pinned or not known_hosts or not os.path.exists(known_hosts):
            known_hosts = os.devnull       # only the pin (or nothing) can vouch for the key
        self._sock = socket.create_connection((target.host, target.port), timeout=target.timeout_s)
        if self._aborted.is_set():
            raise TimeoutError("aborted")
        auth = target.auth
        try:
            session.connect(
                host=target.host, port=target.port, sock=self._sock, username=auth.username,
                password=auth.password, key_filename=auth.key_file, allow_agent=False, look_for_keys=False,
                hostkey_verify=True, unknown_host_cb=check_host_key, ssh_config=_ssh_config(known_hosts),
                timeout=target.timeout_s,
            )
        except transport.SSHUnknownHostError:
            raise _HostKeyRejected(rejected.get("presented", "?"), rejected.get("expected", "")) from None
        except paramiko.PasswordRequiredException:
            raise transport.AuthenticationError("the private key needs a passphrase") from None
        self._manager = manager.Manager(session, handler, timeout=target.timeout_s)

    def abort(self) -> None:
        """Close the transport now, from any thread: a call blocked on it fails at once."""
        self._aborted.set()
        session, sock = self._session, self._sock
        if session is not None:
            session._closing.set()
            ssh = getattr(session, "_transport", None)
            if ssh is not None:
                ssh.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """close-session, then the transport whatever happened (ncclient #668: it may not close itself)."""
        try:
            if (self._manager is not None and self._session is not None and self._session.connected
                    and not self._aborted.is_set()):
                self._manager.timeout = min(self.target.timeout_s, 5.0)
                self._manager.close_session()
        except Exception:
            pass
        finally:
            self.abort()

    # -- operations ---------------------------------------------------------------------------
    def call(self, operation: str, action: Callable[[manager.Manager], Any]) -> RpcReply:
        started = time.perf_counter()
        if self._manager is None:
            raise NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {self.target.name}: not connected",
                                            operation))
        try:
            reply = action(self._manager)
        except BaseException as exc:
            error = self._error(exc, where=operation)
            if error.kind is ErrorKind.TIMEOUT:
                self.abort()      # a late reply must not be taken for the next request's
            raise error from None
        xml = reply.xml if hasattr(reply, "xml") else etree.tostring(reply).decode()
        return RpcReply(str(xml), time.perf_counter() - started)

    # -- errors -------------------------------------------------------------------------------
    def _error(self, exc: BaseException, where: str = "") -> NetconfError:
        name = self.target.name
        at = self.target.address
        if isinstance(exc, NetconfError):
            return exc
        if isinstance(exc, _HostKeyRejected):
            if exc.expected:
                text = (f"device {name}: the SSH host key of {at} has CHANGED: it presents {exc.presented}, "
                        f"but {exc.expected} is recorded; if the device was replaced, check it and run "
                        f"`netwatt trust --device {name}`")
            else:
                text = (f"device {name}: unknown SSH host key {exc.presented} at {at}; nothing is recorded "
                        f"for it (run `netwatt trust --device {name}` or pin host_key)")
            return NetconfError(CollectError(ErrorKind.HOST_KEY, text, where))
        if self._aborted.is_set() and not isinstance(exc, UnsafeXml):
            return NetconfError(CollectError(ErrorKind.TIMEOUT, f"device {name}: no answer from {at} within "
                                             f"{self.target.timeout_s:g} s", where))
        if isinstance(exc, transport.AuthenticationError):
            return NetconfError(CollectError(
                ErrorKind.AUTH, f"device {name}: SSH authentication as {self.target.auth.username!r} "
                f"failed at {at}", where))
        if isinstance(exc, operations.RPCError):
            tag = getattr(exc, "tag", "") or "(no error-tag)"
            message = (getattr(exc, "message", "") or "").strip()
            path = (getattr(exc, "path", "") or "").strip()
            detail = "".join(f", {label} {value}" for label, value in (("path", path), ("message", message)) if value)
            return NetconfError(CollectError(ErrorKind.RPC_ERROR, f"device {name}: rpc-error {tag}{detail}", where))
        if isinstance(exc, UnsafeXml):
            return NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {name}: {exc}", where))
        if isinstance(exc, etree.XMLSyntaxError):
            return NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {name}: malformed XML: {exc}", where))
        if isinstance(exc, operations.TimeoutExpiredError | TimeoutError | socket.timeout):
            return NetconfError(CollectError(ErrorKind.TIMEOUT, f"device {name}: no answer from {at} within "
                                             f"{self.target.timeout_s:g} s", where))
        if isinstance(exc, operations.MissingCapabilityError):
            return NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {name}: {exc}", where))
        if isinstance(exc, transport.SessionCloseError | transport.TransportError | EOFError):
            return NetconfError(CollectError(ErrorKind.UNREACHABLE, f"device {name}: the NETCONF session to {at} "
                                             "was closed by the device", where))
        if isinstance(exc, OSError | transport.SSHError | paramiko.SSHException):
            return NetconfError(CollectError(ErrorKind.UNREACHABLE, f"device {name}: cannot reach {at}: {exc}",
                                             where))
        return NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {name}: {exc.__class__.__name__}: {exc}",
                                         where))


class _HostKeyRejected(Exception):
    def __init__(self, presented: str, expected: str) -> None:
        super().__init__(presented)
        self.presented = presented
        self.expected = expected
