"""The asyncio face of NETCONF: ncclient (blocking) behind one boundary.

Every operation runs in a bounded thread pool under an outer ``asyncio`` deadline; past it the
transport is torn down from another thread so the worker is freed, and the caller gets a TIMEOUT
naming the device. The transport is always closed in ``finally``. One hanging device therefore
never blocks the event loop or the other devices (beyond the pool slot it holds until its
deadline).

    async with open_session(target) as nc:
        reply = await nc.get(subtree='<components xmlns="http://openconfig.net/yang/platform"/>')
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

from lxml import etree

from collectors.errors import CollectError, ErrorKind
from collectors.netconf.blocking import Connection
from collectors.netconf.types import XPATH_CAPABILITY, NetconfError, NetconfTarget, RpcReply
from collectors.netconf.xmlsafe import UnsafeXml
from collectors.netconf.xmlsafe import parse as parse_xml

T = TypeVar("T")
Datastore = Literal["running", "candidate", "startup"]
DEFAULT_WORKERS = 16


class NetconfPool:
    """The bounded set of threads all blocking NETCONF work runs on."""

    def __init__(self, max_workers: int = DEFAULT_WORKERS) -> None:
        self.max_workers = max_workers
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="netconf")

    async def run(self, call: Callable[[], T], *, deadline_s: float, on_timeout: Callable[[], None]) -> T:
        """Run ``call`` on a pool thread; the deadline counts from when a thread takes it up, so
        waiting behind other devices' work (our own saturation) is never the device's timeout."""
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def timed() -> T:
            loop.call_soon_threadsafe(started.set)
            return call()

        future: asyncio.Future[Any] = loop.run_in_executor(self._executor, timed)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(started.wait())
        try:
            try:
                await asyncio.wait({future, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            return await asyncio.wait_for(asyncio.shield(future), deadline_s)
        except (TimeoutError, asyncio.CancelledError):
            # Past the deadline, or the poll was cancelled (shutdown): unblock the worker from a
            # thread of its own (closing a transport may itself wait); a call not yet started
            # finds the connection aborted.
            threading.Thread(target=on_timeout, name="netconf-abort", daemon=True).start()
            future.add_done_callback(_consume)
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()        # retrieved: a late failure of an abandoned call is not logged as lost


@functools.cache
def default_pool(max_workers: int = DEFAULT_WORKERS) -> NetconfPool:
    """The process-wide pool of that size (one per size: a reload does not leave idle threads behind)."""
    return NetconfPool(max_workers)


class NetconfSession:
    """An open session to one device. Operations raise ``NetconfError`` (its ``error`` is a
    ``CollectError`` naming the device); they never hang past the target's ``timeout_s``."""

    def __init__(self, target: NetconfTarget, pool: NetconfPool) -> None:
        self.target = target
        self._pool = pool
        self._connection = Connection(target)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """What the device announced in its <hello>."""
        return self._connection.capabilities

    def supports(self, capability: str) -> bool:
        """True when a capability URI (without or with ``?`` parameters) was announced."""
        return any(c == capability or c.startswith(capability + "?") for c in self.capabilities)

    def module_announced(self, namespace: str) -> bool:
        """True when a YANG module with this namespace was announced (RFC 6020 5.6.4 capability)."""
        return any(c.split("?", 1)[0] == namespace for c in self.capabilities)

    async def _run(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return await self._pool.run(call, deadline_s=self.target.timeout_s, on_timeout=self._connection.abort)
        except TimeoutError:
            raise NetconfError(CollectError(
                ErrorKind.TIMEOUT, f"device {self.target.name}: no answer from {self.target.address} within "
                f"{self.target.timeout_s:g} s", operation)) from None

    async def connect(self) -> None:
        await self._run("connect", self._connection.connect)

    async def close(self) -> None:
        with contextlib.suppress(NetconfError):       # the transport is torn down either way
            await self._run("close-session", self._connection.close)

    async def _rpc(self, operation: str, action: Callable[[Any], Any]) -> RpcReply:
        return await self._run(operation, lambda: self._connection.call(operation, action))

    # -- reads ----------------------------------------------------------------------------------
    async def get(self, subtree: str | Sequence[str] | None = None) -> RpcReply:
        """<get> with a subtree filter (one XML string, or several top-level elements)."""
        return await self._rpc("get", lambda m: m.get(filter=self._subtree(subtree)))

    async def get_xpath(self, select: str, namespaces: dict[str, str]) -> RpcReply:
        """<get> with an XPath filter; refused unless the device announced :xpath."""
        self._require(XPATH_CAPABILITY, "get")
        return await self._rpc("get", lambda m: m.get(filter=("xpath", (namespaces, select))))

    async def get_config(self, source: Datastore = "running", subtree: str | Sequence[str] | None = None) -> RpcReply:
        return await self._rpc("get-config", lambda m: m.get_config(source=source, filter=self._subtree(subtree)))

    async def dispatch(self, rpc: str) -> RpcReply:
        """A custom RPC, e.g. Junos ``<get-power-usage-information/>``."""
        element = self._element(rpc, "dispatch")
        return await self._rpc(etree.QName(element).localname, lambda m: m.dispatch(element))

    # -- writes (for configuration helpers) --------------------------------------------------------
    async def edit_config(self, config: str, *, target: Datastore = "candidate",
                          default_operation: str | None = None, error_option: str | None = None) -> RpcReply:
        """``config`` is a ``<config>`` element (namespace urn:ietf:params:xml:ns:netconf:base:1.0)."""
        self._element(config, "edit-config")
        return await self._rpc("edit-config", lambda m: m.edit_config(
            config=config, target=target, default_operation=default_operation, error_option=error_option))

    async def commit(self, *, confirmed: bool = False, confirm_timeout_s: int | None = None,
                     persist: str | None = None, persist_id: str | None = None) -> RpcReply:
        """Commit; ``confirmed`` with ``confirm_timeout_s`` and ``persist`` starts a confirmed commit
        that another session confirms with ``persist_id`` (RFC 6241 8.4)."""
        timeout = str(confirm_timeout_s) if confirm_timeout_s is not None else None
        return await self._rpc("commit", lambda m: m.commit(
            confirmed=confirmed, timeout=timeout, persist=persist, persist_id=persist_id))

    async def cancel_commit(self, *, persist_id: str | None = None) -> RpcReply:
        return await self._rpc("cancel-commit", lambda m: m.cancel_commit(persist_id=persist_id))

    async def discard_changes(self) -> RpcReply:
        return await self._rpc("discard-changes", lambda m: m.discard_changes())

    async def validate(self, source: Datastore = "candidate") -> RpcReply:
        return await self._rpc("validate", lambda m: m.validate(source=source))

    async def lock(self, target: Datastore = "candidate") -> RpcReply:
        return await self._rpc("lock", lambda m: m.lock(target=target))

    async def unlock(self, target: Datastore = "candidate") -> RpcReply:
        return await self._rpc("unlock", lambda m: m.unlock(target=target))

    # -- helpers --------------------------------------------------------------------------------
    def _require(self, capability: str, operation: str) -> None:
        if not self.supports(capability):
            raise NetconfError(CollectError(
                ErrorKind.PROTOCOL, f"device {self.target.name} does not announce {capability}", operation))

    def _element(self, xml: str, operation: str) -> etree._Element:
        try:
            return parse_xml(xml, max_bytes=self.target.max_reply_bytes)
        except (UnsafeXml, etree.XMLSyntaxError) as exc:
            raise NetconfError(CollectError(ErrorKind.PROTOCOL, f"device {self.target.name}: bad request XML: "
                                            f"{exc}", operation)) from None

    def _subtree(self, subtree: str | Sequence[str] | None) -> Any:
        if subtree is None:
            return None
        if isinstance(subtree, str):
            return ("subtree", subtree)
        # ncclient refuses one string with two roots; several elements go as a list of specs
        return [self._element(s, "filter") for s in subtree]


@asynccontextmanager
async def open_session(target: NetconfTarget, *, pool: NetconfPool | None = None) -> AsyncIterator[NetconfSession]:
    """Connect (hello and capabilities read), yield the session, and always close it."""
    session = NetconfSession(target, pool or default_pool())
    try:
        await session.connect()
        yield session
    finally:
        await session.close()
