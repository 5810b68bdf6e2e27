"""A fake SNMPv2c agent that misbehaves on purpose, for the collectors' error paths.

Modes:
  non_increasing  GETNEXT/GETBULK answers stay on `<root>.1`: OIDs inside the subtree that never increase.
  wrong_types     serves `table` correctly (lexicographic GET/GETNEXT/GETBULK), whatever types it holds:
                  put b"garbage" where an Integer is expected. Also a plain well-behaved agent.
  garbage         answers with bytes that are not valid BER.
  silent          bound socket that never answers: a dead device, not a closed port.
  slow            serves `table` correctly, each answer `delay_s` seconds late.
  gen_err         answers every request with error-status genErr (5), error-index 1 and the request's
                  varbinds, as a real agent does when it cannot build the answer.
  too_big         serves `table`, but answers tooBig (1) to a GETBULK asking for more than
                  TOO_BIG_ABOVE repetitions, as an agent whose reply would not fit its buffer.
  closed          nothing listens on the port (the socket is closed at start): the kernel answers
                  ICMP port unreachable, a device without an SNMP agent.
For replies up to the UDP maximum, serve ``huge_table()`` (any mode that serves a table).
"""

from __future__ import annotations

import bisect
import contextlib
import socket
import threading
from collections.abc import Mapping
from typing import Any, Literal, Self, get_args

from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type.base import Asn1Item
from pysnmp.proto import api, rfc1905

from .ports import LOOPBACK
from .server import Startable

Mode = Literal["non_increasing", "wrong_types", "garbage", "silent", "slow", "gen_err", "too_big", "closed"]
Oid = tuple[int, ...]

_V2C: Any = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
# SEQUENCE claiming a 4 GiB length: never decodes, whatever follows.
GARBAGE = b"\x30\x84\xff\xff\xff\xff" + b"\x07\xde\xad\xbe\xef not BER at all"
MAX_REPETITIONS = 64  # keeps a GETBULK answer well inside one datagram

DEFAULT_ROOT = "1.3.6.1.2.1.99.1.1.1.4"  # entPhySensorValue
DEFAULT_TABLE: dict[str, object] = {
    "1.3.6.1.2.1.1.2.0": _V2C.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
    "1.3.6.1.2.1.99.1.1.1.4.1": b"garbage",
    "1.3.6.1.2.1.99.1.1.1.4.2": 250,
}


TOO_BIG, GEN_ERR = 1, 5
TOO_BIG_ABOVE = 2


def huge_table(reply_bytes: int = 60_000, root: str = DEFAULT_ROOT) -> dict[str, object]:
    """A table whose first row alone makes a reply of about ``reply_bytes`` (legal: UDP carries
    65,507), then an ordinary row: a backend that cannot read the big datagram loses both."""
    return {"1.3.6.1.2.1.1.2.0": _V2C.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
            f"{root}.1": b"x" * (reply_bytes - 100), f"{root}.2": 250}


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def to_asn1(value: object) -> Any:
    """int -> Integer32, bytes/str -> OctetString; pyasn1 values (e.g. Gauge32) pass through."""
    if isinstance(value, Asn1Item):
        return value
    if isinstance(value, bool) or not isinstance(value, int | bytes | str):
        raise TypeError(f"cannot serve {value!r}: use int, bytes, str or a pysnmp value")
    return _V2C.Integer32(value) if isinstance(value, int) else _V2C.OctetString(value)


class MisbehavingAgent(Startable):
    """UDP agent on 127.0.0.1:<free port>, served by a background thread; use as a context manager."""

    def __init__(
        self,
        mode: Mode,
        table: Mapping[str, object] | None = None,
        *,
        delay_s: float = 3.0,
        root: str = DEFAULT_ROOT,
    ) -> None:
        if mode not in get_args(Mode):
            raise ValueError(f"unknown mode {mode!r}; one of {get_args(Mode)}")
        self.mode = mode
        self.delay_s = delay_s
        self.root = parse_oid(root)
        items = sorted((parse_oid(k), to_asn1(v)) for k, v in (table or DEFAULT_TABLE).items())
        self._oids = [oid for oid, _ in items]
        self._values = [value for _, value in items]
        self.host = LOOPBACK
        self.port = 0
        self._requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timers: list[threading.Timer] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def replace_table(self, table: Mapping[str, object]) -> None:
        """Serve another table from now on (a device that gained or lost rows)."""
        items = sorted((parse_oid(k), to_asn1(v)) for k, v in table.items())
        with self._lock:
            self._oids = [oid for oid, _ in items]
            self._values = [value for _, value in items]

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def requests_seen(self) -> int:
        """Datagrams received so far, valid or not."""
        with self._lock:
            return self._requests

    def start(self) -> Self:
        if self._sock is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, 0))  # we bind ourselves: no race between picking the port and using it
        if self.mode == "closed":       # keep the port number, close the socket: nothing listens
            self.port = sock.getsockname()[1]
            sock.close()
            return self
        sock.settimeout(0.1)  # so the loop sees the stop event promptly
        self._sock, self.port = sock, sock.getsockname()[1]
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"misbehaving-{self.mode}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._requests += 1
            reply = self._reply(data)
            if reply is not None:
                self._send(reply, peer)

    def _send(self, data: bytes, peer: tuple[str, int]) -> None:
        if self.mode != "slow":
            self._sendto(data, peer)
            return
        # A timer per answer: a slow device still reads the next requests meanwhile.
        timer = threading.Timer(self.delay_s, self._sendto, (data, peer))
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _sendto(self, data: bytes, peer: tuple[str, int]) -> None:
        sock = self._sock
        if sock is not None and not self._stop.is_set():
            with contextlib.suppress(OSError):  # socket closed by stop() meanwhile
                sock.sendto(data, peer)

    def _reply(self, data: bytes) -> bytes | None:
        if self.mode == "silent":
            return None
        if self.mode == "garbage":
            return GARBAGE
        try:
            if api.decodeMessageVersion(data) != api.SNMP_VERSION_2C:
                return None
            request, _ = decoder.decode(data, asn1Spec=_V2C.Message())
        except PyAsn1Error:
            return None
        pdu = _V2C.apiMessage.get_pdu(request)
        response = _V2C.GetResponsePDU()
        _V2C.apiPDU.set_defaults(response)
        _V2C.apiPDU.set_request_id(response, _V2C.apiPDU.get_request_id(pdu))
        status = GEN_ERR if self.mode == "gen_err" else TOO_BIG if self._too_big(pdu) else 0
        if status:
            _V2C.apiPDU.set_error_status(response, status)
            _V2C.apiPDU.set_error_index(response, 1)
            _V2C.apiPDU.set_varbinds(response, [(oid, _V2C.Null("")) for oid, _ in _V2C.apiPDU.get_varbinds(pdu)])
        else:
            _V2C.apiPDU.set_varbinds(response, self._answer(pdu))
        message = _V2C.Message()
        _V2C.apiMessage.set_defaults(message)
        _V2C.apiMessage.set_community(message, _V2C.apiMessage.get_community(request))
        _V2C.apiMessage.set_pdu(message, response)
        return bytes(encoder.encode(message))

    def _too_big(self, pdu: Any) -> bool:
        return bool(self.mode == "too_big" and pdu.tagSet == _V2C.GetBulkRequestPDU.tagSet
                    and int(_V2C.apiBulkPDU.get_max_repetitions(pdu)) > TOO_BIG_ABOVE)

    def _answer(self, pdu: Any) -> list[tuple[Oid, Any]]:
        oids: list[Oid] = [tuple(oid) for oid, _ in _V2C.apiPDU.get_varbinds(pdu)]
        if pdu.tagSet == _V2C.GetRequestPDU.tagSet:
            return [(oid, self._get(oid)) for oid in oids]
        if pdu.tagSet == _V2C.GetNextRequestPDU.tagSet:
            non_repeaters, repetitions = len(oids), 0
        elif pdu.tagSet == _V2C.GetBulkRequestPDU.tagSet:
            non_repeaters = min(int(_V2C.apiBulkPDU.get_non_repeaters(pdu)), len(oids))
            repetitions = min(int(_V2C.apiBulkPDU.get_max_repetitions(pdu)), MAX_REPETITIONS)
        else:  # SET and others: answer as a read-only agent would, with the request's varbinds
            return [(oid, self._get(oid)) for oid in oids]
        if self.mode == "non_increasing":
            count = non_repeaters + (len(oids) - non_repeaters) * repetitions
            same = (*self.root, 1)
            return [(same, _V2C.Integer32(100 + i)) for i in range(count)]
        answer = [self._next(oid) for oid in oids[:non_repeaters]]
        cursors = oids[non_repeaters:]
        for _ in range(repetitions):
            if not cursors:
                break
            row = [self._next(oid) for oid in cursors]
            answer += row
            if all(isinstance(value, rfc1905.EndOfMibView) for _, value in row):
                break
            cursors = [oid for oid, _ in row]
        return answer

    def _get(self, oid: Oid) -> Any:
        if self.mode == "non_increasing":
            return _V2C.Integer32(100)
        index = bisect.bisect_left(self._oids, oid)
        if index < len(self._oids) and self._oids[index] == oid:
            return self._values[index]
        return rfc1905.noSuchInstance

    def _next(self, oid: Oid) -> tuple[Oid, Any]:
        index = bisect.bisect_right(self._oids, oid)
        if index < len(self._oids):
            return self._oids[index], self._values[index]
        return oid, rfc1905.endOfMibView
