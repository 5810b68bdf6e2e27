"""The fast BER reader gives exactly what pysnmp's decoder gives, and only ever fails with BerError."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto import api, rfc1902, rfc1905

from collectors.snmp.ber import BerError, decode_response, encode_request
from collectors.snmp.pysnmp_client import _V2cSocket, plain_value
from collectors.snmp.types import EndOfMibView, NoSuchInstance, NoSuchObject

V2C: Any = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

VALUES: list[tuple[str, Any]] = [
    ("1.3.6.1.2.1.99.1.1.1.4.1", rfc1902.Integer32(250250)),
    ("1.3.6.1.2.1.99.1.1.1.4.2", rfc1902.Integer32(-32768)),
    ("1.3.6.1.2.1.99.1.1.1.4.3", rfc1902.Integer32(-1000000000)),
    ("1.3.6.1.2.1.99.1.1.1.4.4", rfc1902.Integer32(0)),
    ("1.3.6.1.2.1.47.1.1.1.1.7.1", rfc1902.OctetString(b"0/PT0-PM0-Input Power")),
    ("1.3.6.1.2.1.47.1.1.1.1.7.2", rfc1902.OctetString(b"")),
    ("1.3.6.1.2.1.47.1.1.1.1.7.3", rfc1902.OctetString(b"x" * 300)),          # long-form length
    ("1.3.6.1.2.1.1.2.0", rfc1902.ObjectIdentifier("1.3.6.1.4.1.2011.2.23.291")),
    ("1.3.6.1.2.1.1.2.1", rfc1902.ObjectIdentifier("2.999.4294967295")),      # large arcs, first arc 2
    ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", rfc1902.IpAddress("10.0.0.1")),
    ("1.3.6.1.2.1.2.2.1.10.1", rfc1902.Counter32(4294967295)),
    ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Gauge32(4294967295)),
    ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(4000000000)),
    ("1.3.6.1.2.1.31.1.1.1.6.1", rfc1902.Counter64(18446744073709551615)),
    ("1.3.6.1.4.1.2011.6.157.2.1.1.4.4294902017", rfc1902.Opaque(b"\x9f\x78\x04\x42\xf6\x00\x00")),
    ("1.3.6.1.2.1.99.1.1.1.4.5", rfc1905.noSuchObject),
    ("1.3.6.1.2.1.99.1.1.1.4.6", rfc1905.noSuchInstance),
    ("1.3.6.1.2.1.99.1.1.1.4.7", rfc1905.endOfMibView),
]


def response(varbinds: list[tuple[str, Any]], *, request_id: int = 4242, error_status: int = 0) -> bytes:
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, error_status)
    V2C.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), value) for oid, value in varbinds])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, "public")
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def test_every_value_type_reads_as_pysnmp_reads_it() -> None:
    decoded = decode_response(response(VALUES, request_id=2_000_000_000, error_status=5))
    assert (decoded.version, decoded.community, decoded.request_id, decoded.error_status) == (
        1, b"public", 2_000_000_000, 5)
    expected = [(tuple(rfc1902.ObjectName(oid)), plain_value(value)) for oid, value in VALUES]
    assert decoded.varbinds == expected
    assert decoded.varbinds[-3:] == [(expected[-3][0], NoSuchObject), (expected[-2][0], NoSuchInstance),
                                     (expected[-1][0], EndOfMibView)]


def tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def hand_made_response(value_tlv: bytes, request_id: int = 7) -> bytes:
    """A GetResponse built byte by byte, for encodings pysnmp's encoder would never produce."""
    oid = tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 2, 2, 1, 10, 1]))          # 1.3.6.1.2.1.2.2.1.10.1
    varbinds = tlv(0x30, tlv(0x30, oid + value_tlv))
    pdu = tlv(0xA2, tlv(0x02, bytes([request_id])) + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + varbinds)
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"public") + pdu)


def test_unsigned_values_without_their_leading_zero_byte() -> None:
    # Counter32 0xFFFFFFFF in 4 bytes, without the 0x00 that makes it positive, as some agents send it
    decoded = decode_response(hand_made_response(tlv(0x41, b"\xff\xff\xff\xff")))
    assert decoded.varbinds == [((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), 4294967295)]


def test_garbage_only_ever_raises_ber_error() -> None:
    rng = random.Random(20261125)
    valid = response(VALUES)
    for _ in range(3000):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        with contextlib.suppress(BerError):
            decode_response(bytes(data))


def test_requests_and_traps_are_not_mistaken_for_responses() -> None:
    request = bytearray(response(VALUES[:1]))
    request[request.index(0xA2)] = 0xA0          # a GetRequest PDU
    with pytest.raises(BerError, match="not a response PDU"):
        decode_response(bytes(request))


async def test_unusual_encodings_fall_back_to_pysnmp() -> None:
    # A constructed OCTET STRING is legal BER that the fast reader declines; pysnmp's decoder reads it.
    data = hand_made_response(tlv(0x24, tlv(0x04, b"ab") + tlv(0x04, b"c")), request_id=9)
    with pytest.raises(BerError, match="unexpected value tag 0x24"):
        decode_response(data)
    socket = _V2cSocket()
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    socket.pending[9] = (future, ("127.0.0.1", 161))
    socket.datagram_received(data, ("127.0.0.1", 161))
    assert future.result().varbinds == [((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), b"abc")]


def pysnmp_request(community: str, request_id: int, oids: list[tuple[int, ...]], *, bulk: bool,
                   max_repetitions: int) -> bytes:
    """The reference: the same request built with pysnmp's message API and pyasn1's encoder."""
    if bulk:
        pdu = V2C.GetBulkRequestPDU()
        V2C.apiBulkPDU.set_defaults(pdu)
        V2C.apiBulkPDU.set_non_repeaters(pdu, 0)
        V2C.apiBulkPDU.set_max_repetitions(pdu, max_repetitions)
    else:
        pdu = V2C.GetRequestPDU()
        V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), rfc1902.Null("")) for oid in oids])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


@pytest.mark.parametrize("request_id", [0, 1, 127, 128, 255, 256, 65535, 2_000_000_000])
@pytest.mark.parametrize(("bulk", "repetitions"), [(True, 1), (True, 25), (True, 200), (False, 0)])
def test_requests_are_byte_for_byte_what_pysnmp_writes(request_id: int, bulk: bool, repetitions: int) -> None:
    oids = [tuple(rfc1902.ObjectName(oid)) for oid, _ in VALUES] * 4       # long enough for long-form lengths
    ours = encode_request(community=b"s3cret-community", request_id=request_id, oids=oids, bulk=bulk,
                          max_repetitions=repetitions)
    assert ours == pysnmp_request("s3cret-community", request_id, oids, bulk=bulk, max_repetitions=repetitions)
