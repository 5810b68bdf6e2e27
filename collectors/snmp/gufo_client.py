"""The SNMP read client on gufo-snmp: BER codec and socket I/O in Rust, driven by our event loop.

What gufo does not do is done here, so both backends answer alike:
- **retries**: gufo has a timeout only; each request is sent up to ``retries + 1`` times;
- **sockets**: gufo opens one connected UDP socket per session. A v2c socket lives for one device walk
  (opened when the walk gets its in-flight slot, dropped when it ends), so descriptors in use never
  exceed the in-flight bound, however large the fleet. SNMPv3 sessions are kept per device: engine
  discovery and time sync cost two round trips that a new socket would pay on every poll;
- **walks**: gufo's GETBULK carries one OID. A v2c walk therefore writes its own GETBULKs with every open
  subtree in each (``collectors.snmp.ber``, on the device's gufo socket: 2 PDUs where one-OID walks took 6,
  as snmp_exporter does); SNMPv3 subtrees are walked one after another with gufo's GETBULK (nearby
  columns of a table entry as one sequence, see ``_column_runs``), sized from what
  the walk planner learnt (rows per subtree, empty subtrees skipped); OIDs that do not increase end
  the walk with an error (gufo would ask again forever). Once a walk has found a device's rows,
  the next polls GET exactly those instances (one PDU per ``GET_REPLY_BYTES`` of reply), and walk
  again every ``REWALK_EVERY`` polls to find new rows. If an instance has gone, or the agent cannot
  answer the GET, the same poll walks instead (and that device walks for ``REWALK_EVERY`` polls), so
  the values are always a walk's;
- **values**: OIDs arrive as text and are turned into the same plain values as ``pysnmp_client``;
- **in-flight bound**: one slot per device walk (one request in flight per device), from the same
  adaptive limit as the pysnmp backend, fed by the event loop's lag.

- **strictness** (gufo reads no error-status, reads replies into a 4 KiB buffer and reports a refused
  port as a timeout): every reply is first peeked at (one ``recv`` with MSG_PEEK|MSG_TRUNC of its
  first bytes): its size, and for v1/v2c its error-status, which is then that device's error as with
  pysnmp (genErr, noAccess...). ICMP port unreachable is ``unreachable`` at once, never a timeout.
  A reply larger than gufo reads (up to the UDP maximum is legal), or tooBig, puts the device in
  ``needs_pysnmp``: the router polls it with pysnmp from then on. An SNMPv3 reply's error-status is
  encrypted where privacy is on: not seen (gufo ends the subtree, as before).
Credentials gufo cannot speak (3DES, a context name) are refused by ``unsupported`` so the caller
sends that device to pysnmp.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import itertools
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gufo.snmp import _fast as gufo
from gufo.snmp.user import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    KeyExpansion,
    Md5Key,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    User,
)

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.ber import BerError, Response, decode_response, encode_request, error_status_of
from collectors.snmp.failures import status_error, timeout_error, unreachable_error, v3_rejected_error
from collectors.snmp.limiter import AdaptiveLimit, InFlightGate, LagWatcher
from collectors.snmp.resolve import AddressBook
from collectors.snmp.types import (
    EndOfMibView,
    Oid,
    SnmpTarget,
    SnmpV2cAuth,
    SnmpV3Auth,
    SnmpValue,
    WalkResult,
    format_oid,
    parse_oid,
)
from collectors.snmp.walk import BulkWalk, WalkPlanner, outermost_tuple

T = TypeVar("T")
_AUTH_KEYS: dict[str, type[Any]] = {"MD5": Md5Key, "SHA": Sha1Key, "SHA224": Sha224Key, "SHA256": Sha256Key,
                                    "SHA384": Sha384Key, "SHA512": Sha512Key}
_PRIV_KEYS: dict[str, tuple[type[Any], KeyExpansion]] = {
    "DES": (DesKey, KeyExpansion.Blumenthal), "AES": (Aes128Key, KeyExpansion.Blumenthal),
    "AES128": (Aes128Key, KeyExpansion.Blumenthal),
    # AES-192/256 key extension: Blumenthal (Net-SNMP, most agents) or Reeder ("C": Cisco), as in pysnmp_client
    "AES192": (Aes192Key, KeyExpansion.Blumenthal), "AES256": (Aes256Key, KeyExpansion.Blumenthal),
    "AES192C": (Aes192Key, KeyExpansion.Cisco), "AES256C": (Aes256Key, KeyExpansion.Cisco),
}
V3_REFRESH_S = 120.0       # gufo: re-sync engine boots/time when the session was idle this long (< 150 s)
OID_CACHE_SIZE = 200_000  # distinct OIDs parsed from gufo's text kept (~20 MB at most)
# a GET's varbinds, BER, as the walk found them: a reply inside the 1,500-byte limit many agents keep
# (Cisco's default). A reply that does not fit after all (values grew) makes that device walk for REWALK_EVERY polls.
GET_REPLY_BYTES = 1400
_TOO_BIG = 1               # error-status tooBig: the reply would not fit, ask for fewer repetitions
REWALK_EVERY = 20          # polls between full walks (new rows, empty subtrees): WalkPlanner.reprobe_every
GUFO_REPLY_BYTES = 4096    # gufo-snmp decodes a reply from a buffer this size: a longer one fails "incomplete"
_PEEK_BYTES = 512          # enough for a v2c reply's header up to its error-status (community <= 255 bytes)
_ICMP_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNREFUSED}


class ReplyTooBig(Exception):
    """A reply gufo cannot read (larger than its buffer, or the agent's tooBig): pysnmp can."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


class AgentErrorStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def unsupported(target: SnmpTarget) -> str | None:
    """Why gufo cannot poll this target (then pysnmp does), or None."""
    auth = target.auth
    if isinstance(auth, SnmpV3Auth):
        if auth.priv_protocol is not None and auth.priv_protocol not in _PRIV_KEYS:
            return f"privacy protocol {auth.priv_protocol}"
        if auth.context_name:
            return "an SNMPv3 context name"
    return None


def plain_value(value: object) -> SnmpValue:
    """A gufo value as the plain value pysnmp_client gives for the same varbind.

    gufo gives OBJECT IDENTIFIER and IpAddress both as dotted text; an IpAddress has exactly four
    parts of at most 255 (an OID value of four such arcs would be read as an address)."""
    if isinstance(value, bytes | int):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, str):
        parts = value.split(".")
        if len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts):
            return value
        return parse_oid(value)
    if isinstance(value, float):      # ASN.1 REAL: not an SNMP type, gufo decodes it anyway
        return repr(value).encode()
    raise TypeError(f"unexpected value from gufo: {value!r}")


class _Wire:
    """A gufo socket on the event loop: a request, its reply awaited with our timeout, ``attempts``
    times. Watched for replies (``watch``) while a device's exchange lasts, not once per request.
    Each reply is peeked at first (size, error-status, ICMP errors) through a view of the same socket."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.fd: int = sock.get_fd()
        self._waiter: asyncio.Future[bool] | None = None
        self._view: socket.socket | None = None
        self._head = bytearray(_PEEK_BYTES)

    @contextlib.contextmanager
    def watch(self) -> Iterator[_Wire]:
        loop = asyncio.get_running_loop()
        self._view = peek_view(self.fd)
        loop.add_reader(self.fd, self._readable)
        try:
            yield self
        finally:
            loop.remove_reader(self.fd)
            self._view.detach()              # never closed: gufo owns the descriptor
            self._view = None

    def _readable(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)

    def _peek(self) -> int | None:
        assert self._view is not None, "peek outside watch()"
        return peek_reply(self._view, self._head)

    async def run(self, send: Callable[[], object], receive: Callable[[], T], *, timeout_s: float,
                  attempts: int) -> T:
        loop = asyncio.get_running_loop()
        for _ in range(attempts):
            send()
            deadline = loop.time() + timeout_s
            while True:
                self._waiter = waiter = loop.create_future()
                timer = loop.call_at(deadline, _expire, waiter)
                try:
                    readable = await waiter
                finally:
                    timer.cancel()
                    self._waiter = None
                if not readable:
                    break                   # timed out: send again
                try:
                    status = self._peek()
                    reply = receive()
                except BlockingIOError:
                    continue                # a late reply to an earlier attempt: gufo dropped it
                except TimeoutError as exc:  # gufo's word for ECONNREFUSED
                    raise ConnectionRefusedError(str(exc)) from None
                if status == _TOO_BIG:
                    raise ReplyTooBig("tooBig from the agent")
                if status:
                    raise AgentErrorStatus(status)
                return reply
        raise TimeoutError


def peek_view(fd: int) -> socket.socket:
    """A Python view of gufo's socket, to peek at replies; ``detach()`` it, never close it."""
    return socket.socket(fileno=fd)


def peek_reply(view: socket.socket, head: bytearray) -> int | None:
    """Look at the next reply without taking it: its error-status (None: not v1/v2c). Raises
    ReplyTooBig (the reply is dropped: gufo would read a truncated copy), ConnectionRefusedError and
    other OSErrors (ICMP errors queued on the socket) or BlockingIOError (nothing there)."""
    size = view.recv_into(head, len(head), socket.MSG_PEEK | socket.MSG_TRUNC)
    if size > GUFO_REPLY_BYTES:
        view.recv(1)
        raise ReplyTooBig(f"a reply of {size} bytes (gufo-snmp reads {GUFO_REPLY_BYTES})")
    return error_status_of(bytes(head[:min(size, len(head))]))


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


@dataclass(slots=True)
class _Layout:
    """The instances a device's last walk found, for the GETs of the next polls."""

    subtrees: tuple[Oid, ...]
    instances: tuple[Oid, ...]      # shared by devices with the same rows, as their GET chunks
    walk_requests: int              # what the walk cost: GETs are used unless they cost more PDUs (a GET
                                    # reads only the rows wanted, a walk also the one past each column)
    polls: int = 0


@dataclass(slots=True)
class _V3Session:
    sock: Any
    refreshed_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class GufoClient:
    """``SnmpClient`` on gufo-snmp, for reads. Create and use it inside one running event loop."""

    def __init__(self, *, initial_in_flight: int = 32, max_in_flight: int = 2000) -> None:
        self.limit = AdaptiveLimit(limit=float(initial_in_flight), maximum=max_in_flight)
        self.gate = InFlightGate(self.limit)
        self.lag = LagWatcher(self.limit, self.gate)
        self.planner = WalkPlanner()
        self._addresses = AddressBook()
        self._v3: dict[str, _V3Session] = {}
        self._layouts: dict[str, _Layout] = {}
        self._shared: dict[tuple[Oid, ...], tuple[Oid, ...]] = {}
        self._chunks: dict[tuple[Oid, ...], tuple[tuple[str, ...], ...]] = {}
        self._walk_only: dict[str, int] = {}      # devices whose GET failed: walks left before trying again
        self._oids: dict[str, Oid] = {}
        self._texts: dict[Oid, str] = {}
        self.timeouts = 0
        self.needs_pysnmp: dict[str, str] = {}    # device -> why gufo cannot read it (BackendRouter reroutes)
        self._request_ids = itertools.count(int.from_bytes(os.urandom(3), "big"))

    # -- public seam -------------------------------------------------------------------------

    async def walk(self, target: SnmpTarget, subtrees: Sequence[Oid]) -> WalkResult:
        started = time.perf_counter()
        layout = self._layouts.get(target.name)
        requests = 0
        if layout is not None and layout.subtrees == outermost_tuple(subtrees):
            if layout.polls < REWALK_EVERY:
                layout.polls += 1
                known, usable = await self._get_instances(target, layout)
                if usable:
                    self._forget_rejected_v3(target, known)
                    known.elapsed_s = time.perf_counter() - started
                    return known
                requests = known.requests
            else:
                self.planner.forget(target.name)      # a full walk: new rows, and subtrees that were empty
        result = await self._walk(target, subtrees)
        self._learn_layout(target, subtrees, result)
        self._forget_rejected_v3(target, result)
        result.requests += requests
        result.elapsed_s = time.perf_counter() - started
        return result

    async def _walk(self, target: SnmpTarget, subtrees: Sequence[Oid]) -> WalkResult:
        started = time.perf_counter()
        walked, expected = self.planner.plan(target.name, subtrees)
        whole = BulkWalk(walked, max_requests=target.max_requests, max_repetitions=target.max_repetitions)
        async with self._device(target) as session:
            if isinstance(session, CollectError):
                whole.errors.append(session)
            elif isinstance(target.auth, SnmpV2cAuth):
                await self._walk_together(target, session, whole, target.auth.community.encode())
            else:
                for run in _column_runs(whole.subtrees):
                    start = run[0][:-1] if len(run) > 1 else run[0]     # a run: from its table entry
                    rows = [expected[c] for c in run if c in expected]
                    part = BulkWalk([start], max_requests=target.max_requests - whole.requests,
                                    max_repetitions=target.max_repetitions,
                                    expected_rows={start: sum(rows)} if len(rows) == len(run) else None)
                    await self._walk_subtree(target, session, part, last=run[-1] if len(run) > 1 else None)
                    for oid, value in part.varbinds.items():
                        column = oid[: len(run[0])]
                        if column in whole.rows and column in run:      # a run's entry walk starts at column 1
                            whole.varbinds[oid] = value
                            whole.rows[column] += 1
                    whole.requests += part.requests
                    whole.errors.extend(part.errors)
                    if part.errors and not part.varbinds:
                        break                   # the device is not answering: the next subtree would not either
        self.planner.learn(target.name, whole)
        return WalkResult(whole.varbinds, whole.errors, whole.requests, time.perf_counter() - started)

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> WalkResult:
        started = time.perf_counter()
        result = WalkResult(requests=1)
        async with self._device(target) as session:
            if isinstance(session, CollectError):
                result.errors.append(session)
            else:
                texts = [format_oid(o) for o in oids]
                reply = await self._exchange(target, session, functools.partial(session.sock.send_get_many, texts),
                                             session.sock.recv_get_many, oids)
                if isinstance(reply, CollectError):
                    result.errors.append(reply)
                else:
                    result.varbinds = {self._oid(oid): plain_value(value) for oid, value in reply.items()}
        self._forget_rejected_v3(target, result)
        result.elapsed_s = time.perf_counter() - started
        return result

    def _forget_rejected_v3(self, target: SnmpTarget, result: WalkResult) -> None:
        """An SNMPv3 session the agent rejects (rebooted engine, changed keys) is discovered afresh next time."""
        if isinstance(target.auth, SnmpV3Auth) and any(e.kind is ErrorKind.AUTH for e in result.errors):
            for key in [k for k in self._v3 if k.startswith(f"{target.name}\0")]:
                del self._v3[key]

    async def close(self) -> None:
        await self.lag.stop()
        self._v3.clear()         # gufo closes a socket when its object goes

    # -- known instances -------------------------------------------------------------------

    def _learn_layout(self, target: SnmpTarget, subtrees: Sequence[Oid], walk: WalkResult) -> None:
        walks_left = self._walk_only.pop(target.name, 1) - 1
        if walk.errors or not walk.varbinds or walks_left > 0:
            self._layouts.pop(target.name, None)      # nothing to gain over walking, or not yet
            if walks_left > 0:
                self._walk_only[target.name] = walks_left
            return
        instances = tuple(walk.varbinds)
        instances = self._shared.setdefault(instances, instances)
        if instances not in self._chunks:       # once per distinct set of rows, sized by its values
            self._chunks[instances] = _get_chunks(walk.varbinds, self._text)
        self._layouts[target.name] = _Layout(outermost_tuple(subtrees), instances, walk.requests)

    async def _get_instances(self, target: SnmpTarget, layout: _Layout) -> tuple[WalkResult, bool]:
        """GET the instances of the last walk; (result, False) when the device must be walked instead."""
        result = WalkResult()
        async with self._device(target) as session:
            if isinstance(session, CollectError):
                result.errors.append(session)
                return result, True
            chunks = self._chunks[layout.instances]
            if len(chunks) > layout.walk_requests:
                self._walk_only[target.name] = REWALK_EVERY     # GETs would cost more PDUs than the walk
                return result, False
            for instances in chunks:
                chunk = list(instances)
                reply = await self._exchange(target, session, functools.partial(session.sock.send_get_many, chunk),
                                             session.sock.recv_get_many, [self._oid(t) for t in chunk[:3]])
                result.requests += 1
                if isinstance(reply, CollectError):      # a device that does not answer is not walked too
                    result.errors.append(reply)
                    return result, True
                if any(text not in reply for text in chunk):
                    # an instance has gone: walk to see what the device has now
                    self._layouts.pop(target.name, None)
                    self._walk_only[target.name] = REWALK_EVERY
                    return result, False
                for text in chunk:
                    result.varbinds[self._oid(text)] = plain_value(reply[text])
        return result, True

    # -- requests ----------------------------------------------------------------------------

    async def _walk_together(self, target: SnmpTarget, session: _Wire, walk: BulkWalk, community: bytes) -> None:
        """v2c: every open subtree in each GETBULK, as snmp_exporter and the pysnmp backend do (gufo's GETBULK
        carries one OID: a PDU per column run, 6 a device where this takes 2). The request is written and
        the reply read by our BER codec (``collectors.snmp.ber``) on the device's gufo socket."""
        while requested := walk.next_request():
            repetitions = walk.repetitions()
            request_id = next(self._request_ids) % 2_000_000_000
            wire = encode_request(community=community, request_id=request_id, oids=requested, bulk=True,
                                  max_repetitions=repetitions)
            reply = await self._exchange(target, session, functools.partial(os.write, session.fd, wire),
                                         functools.partial(_read_response, session.fd, request_id), requested)
            if isinstance(reply, CollectError):
                walk.errors.append(reply)
                return
            if reply.error_status == _TOO_BIG and repetitions > 1:
                walk.max_repetitions = max(1, repetitions // 2)     # the agent's reply would not fit
                continue
            if reply.error_status:
                walk.errors.append(status_error(reply.error_status, requested))
                return
            walk.feed(requested, reply.varbinds)

    async def _walk_subtree(self, target: SnmpTarget, session: _Wire, walk: BulkWalk, *,
                            last: Oid | None = None) -> None:
        """Walk one subtree; with ``last`` (a column of that table entry) stop after that column."""
        [subtree] = walk.subtrees
        cursor = gufo.GetIter(self._text(subtree), walk.repetitions())
        send = functools.partial(session.sock.send_get_bulk, cursor)
        receive = functools.partial(_bulk_rows, session.sock, cursor, self._oid)
        while requested := walk.next_request():
            reply = await self._exchange(target, session, send, receive, requested)
            if isinstance(reply, CollectError):
                walk.errors.append(reply)
                return
            rows, ended = reply
            if last is not None:
                beyond = next((i for i, (oid, _) in enumerate(rows) if oid[: len(last)] > last), None)
                if beyond is not None:
                    rows, ended = rows[:beyond], True
            if ended:       # gufo stopped at the first OID outside the subtree, or found nothing more
                rows.append(((*subtree[:-1], subtree[-1] + 1), EndOfMibView))
            walk.feed(requested, rows)

    async def _exchange(self, target: SnmpTarget, wire: _Wire, send: Callable[[], object],
                        receive: Callable[[], T], oids: Sequence[Oid] = ()) -> T | CollectError:
        try:
            return await wire.run(send, receive, timeout_s=target.timeout_s, attempts=target.retries + 1)
        except TimeoutError:
            self.timeouts += 1
            return timeout_error(target)
        except AgentErrorStatus as exc:
            return status_error(exc.status, oids)
        except ReplyTooBig as exc:
            self.needs_pysnmp[target.name] = str(exc)
            return CollectError(ErrorKind.PROTOCOL, f"{exc}: read with pysnmp", target.address)
        except gufo.SnmpAuthError:
            return v3_rejected_error(target, "report: unknown user, wrong digest or not in time window")
        except (gufo.SnmpDecodeError, BerError) as exc:
            return CollectError(ErrorKind.PROTOCOL, f"undecodable reply: {exc}", target.address)
        except ConnectionRefusedError:
            return unreachable_error(target.address)
        except OSError as exc:
            if exc.errno in _ICMP_ERRNOS:          # host or network unreachable, seen by the peek
                return unreachable_error(target.address, exc.errno)
            return CollectError(ErrorKind.PROTOCOL, f"{exc.__class__.__name__}: {exc}", target.address)
        except gufo.SnmpError as exc:
            return CollectError(ErrorKind.PROTOCOL, f"{exc.__class__.__name__}: {exc}", target.address)

    @contextlib.asynccontextmanager
    async def _device(self, target: SnmpTarget) -> AsyncIterator[_Wire | CollectError]:
        """One in-flight slot for a device's whole exchange (one request in flight per device), and
        its socket watched for replies meanwhile."""
        self.lag.ensure_running()
        await self.gate.acquire()
        try:
            sock = await self._session(target)
            if isinstance(sock, CollectError):
                yield sock
                return
            with _Wire(sock).watch() as wire:
                yield wire
        finally:
            self.gate.release()

    def _text(self, oid: Oid) -> str:
        text = self._texts.get(oid)
        if text is None:
            text = self._texts[oid] = format_oid(oid)
        return text

    def _oid(self, text: str) -> Oid:
        """OIDs from gufo's text, parsed once per distinct OID (bounded: cleared when it grows large)."""
        oid = self._oids.get(text)
        if oid is None:
            if len(self._oids) >= OID_CACHE_SIZE:
                self._oids.clear()
            oid = self._oids[text] = parse_oid(text)
        return oid

    async def _session(self, target: SnmpTarget) -> Any:
        """A gufo socket for the target (new for v2c, kept for v3), or why there is none."""
        resolved = await self._addresses.resolve(target)
        if isinstance(resolved, CollectError):
            return resolved
        _, (ip, port) = resolved
        address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        try:
            if isinstance(target.auth, SnmpV2cAuth):
                return gufo.SnmpV2cClientSocket(address, target.auth.community, 0, 0, 0, 0)
            return await self._v3_session(target, target.auth, address)
        except (gufo.SnmpError, OSError, ValueError) as exc:
            return CollectError(ErrorKind.UNREACHABLE, f"cannot open a socket: {exc}", target.address)

    async def _v3_session(self, target: SnmpTarget, auth: SnmpV3Auth, address: str) -> Any:
        key = f"{target.name}\0{address}\0{target.credential_name}"
        session = self._v3.get(key)
        if session is None:
            # no engine id yet: the socket starts as the empty user to discover it (as gufo's SnmpSession)
            session = _V3Session(gufo.SnmpV3ClientSocket(address, b"", "", 0, b"", 0, b"", 0, 0, 0, 0))
            self._v3[key] = session
        async with session.lock:
            if time.monotonic() - session.refreshed_at < V3_REFRESH_S:
                return session.sock
            sock = session.sock
            with _Wire(sock).watch() as wire:
                return await self._v3_refresh(target, auth, key, session, wire)

    async def _v3_refresh(self, target: SnmpTarget, auth: SnmpV3Auth, key: str, session: _V3Session,
                          wire: _Wire) -> Any:
        sock = session.sock
        if not session.refreshed_at:
            discovered = await self._exchange(target, wire, sock.send_refresh, sock.recv_refresh)
            if isinstance(discovered, CollectError):
                self._v3.pop(key, None)
                return discovered
            user = _user(auth)
            sock.set_keys(user.name, user.get_auth_alg(), user.get_auth_key(), user.get_priv_alg(),
                          user.get_priv_key())
        if auth.auth_protocol is not None:
            synced = await self._exchange(target, wire, sock.send_refresh, sock.recv_refresh)
            if isinstance(synced, CollectError):
                self._v3.pop(key, None)
                return synced
        session.refreshed_at = time.monotonic()
        return sock


RUN_GAP = 2      # wanted columns of a run at most this far apart: one column not wanted in between is walked


def _column_runs(subtrees: Sequence[Oid]) -> list[list[Oid]]:
    """Subtrees grouped into runs of nearby columns of one table entry, each walked in one GETBULK
    sequence from the entry (gufo's GETBULK carries one OID, bounded by it: a sequence cannot start
    mid-entry). Only runs that start at column 1 or 2 (column 1 is usually the not-accessible index)
    are grouped, and a run's columns are at most ``RUN_GAP`` apart, so a walk from the entry costs
    the rows of at most one column not wanted between two wanted ones, and those of the column after
    the run in its last reply. Five ENTITY-MIB columns (2, 4, 5, 7, 13): two walks instead of five."""
    runs: list[list[Oid]] = []
    for subtree in subtrees:
        previous = runs[-1] if runs else None
        if (previous is not None and len(subtree) > 1 and previous[-1][:-1] == subtree[:-1]
                and 0 < subtree[-1] - previous[-1][-1] <= RUN_GAP and previous[0][-1] <= 2):
            previous.append(subtree)
        else:
            runs.append([subtree])
    return runs


def _read_response(fd: int, request_id: int) -> Response:
    """The reply to ``request_id`` from a connected socket; BlockingIOError: nothing (more) to read yet,
    or a stray datagram (``_Wire.run`` waits on)."""
    response = decode_response(os.read(fd, 65535))
    if response.request_id != request_id:
        raise BlockingIOError
    return response


def _bulk_rows(session: Any, cursor: Any, oid: Callable[[str], Oid]) -> tuple[list[tuple[Oid, SnmpValue]], bool]:
    """One GETBULK reply as (rows, ended): gufo ends a list with None at the subtree's end, and raises
    StopAsyncIteration for a reply with nothing more in it (endOfMibView or an empty answer)."""
    try:
        raw = session.recv_get_bulk(cursor)
    except StopAsyncIteration:
        return [], True
    ended = bool(raw) and raw[-1] is None
    return [(oid(text), plain_value(value)) for text, value in (r for r in raw if r is not None)], ended


def _get_chunks(varbinds: dict[Oid, SnmpValue], text: Callable[[Oid], str]) -> tuple[tuple[str, ...], ...]:
    """The instances in GETs whose replies stay under GET_REPLY_BYTES (a varbind's BER size estimated
    from its OID and the value the walk found)."""
    chunks: list[tuple[str, ...]] = []
    chunk: list[str] = []
    size = 0
    for oid, value in varbinds.items():
        varbind = 6 + _arcs_bytes(oid) + _value_bytes(value)      # 6: three tag+length pairs
        if chunk and size + varbind > GET_REPLY_BYTES:
            chunks.append(tuple(chunk))
            chunk, size = [], 0
        chunk.append(text(oid))
        size += varbind
    if chunk:
        chunks.append(tuple(chunk))
    return tuple(chunks)


def _arcs_bytes(oid: Oid) -> int:
    return sum(1 if arc < 128 else (arc.bit_length() + 6) // 7 for arc in oid[1:])


def _value_bytes(value: SnmpValue) -> int:
    if isinstance(value, int):
        return value.bit_length() // 8 + 1
    if isinstance(value, tuple):
        return _arcs_bytes(value)
    return 4 if isinstance(value, str) else len(value) if isinstance(value, bytes) else 0


def _user(auth: SnmpV3Auth) -> User:
    auth_key = _AUTH_KEYS[auth.auth_protocol](auth.auth_password.encode()) if auth.auth_protocol and \
        auth.auth_password else None
    priv_key, expansion = None, KeyExpansion.Blumenthal
    if auth.priv_protocol and auth.priv_password:
        key_class, expansion = _PRIV_KEYS[auth.priv_protocol]
        priv_key = key_class(auth.priv_password.encode())
    return User(auth.username, auth_key=auth_key, priv_key=priv_key, key_expansion=expansion)
