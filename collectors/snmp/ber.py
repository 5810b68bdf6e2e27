"""A BER reader for SNMPv1/v2c response messages (pure, sans-I/O).

Decoding replies is where an SNMP poller's CPU goes: pyasn1 builds a typed object tree per
varbind (about 50 µs each here), which caps a pysnmp poller near a hundred devices a second.
Responses have one fixed shape, so this reads it directly into plain values. Anything it does
not expect (constructed strings, indefinite lengths, unknown tags) raises ``BerError`` and the
caller falls back to pysnmp's decoder; tests check both give the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp.types import EndOfMibView, NoSuchInstance, NoSuchObject, Oid, SnmpValue

_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_IP, _COUNTER32, _GAUGE32, _TIMETICKS, _OPAQUE, _COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
_UNSIGNED = {_COUNTER32, _GAUGE32, _TIMETICKS, _COUNTER64}
_EXCEPTIONS = {0x80: NoSuchObject, 0x81: NoSuchInstance, 0x82: EndOfMibView}
_RESPONSE_PDUS = {0xA2, 0xA8}          # GetResponse, Report


class BerError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Response:
    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, SnmpValue]]


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError("unsupported length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise BerError("length beyond the message")
    return tag, pos, pos + length


def _integer(data: bytes, start: int, stop: int) -> int:
    if start == stop:
        raise BerError("empty integer")
    return int.from_bytes(data[start:stop], "big", signed=True)


_OIDS: dict[bytes, Oid] = {}
_OIDS_MAX = 50_000         # distinct encoded OIDs kept (~10 MB at most); cleared when full


def _oid(data: bytes, start: int, stop: int) -> Oid:
    """An OID, decoded once per distinct encoding: a fleet's replies repeat the same few hundred OIDs."""
    key = data[start:stop]
    oid = _OIDS.get(key)
    if oid is None:
        if len(_OIDS) >= _OIDS_MAX:
            _OIDS.clear()
        oid = _OIDS[key] = _decode_oid(data, start, stop)
    return oid


def _decode_oid(data: bytes, start: int, stop: int) -> Oid:
    if start == stop:
        raise BerError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in data[start:stop]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if data[stop - 1] & 0x80:
        raise BerError("OID ends inside an arc")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(tag: int, data: bytes, start: int, stop: int) -> SnmpValue:
    if tag == _INTEGER:
        return _integer(data, start, stop)
    if tag in (_OCTETS, _OPAQUE):
        return data[start:stop]
    if tag in _UNSIGNED:
        number = _integer(data, start, stop)
        # some agents omit the leading zero byte of large unsigned values
        return number + (1 << (8 * (stop - start))) if number < 0 else number
    if tag == _OID:
        return _oid(data, start, stop)
    if tag == _IP:
        if stop - start != 4:
            raise BerError("IpAddress is not 4 bytes")
        return ".".join(str(b) for b in data[start:stop])
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag]
    if tag == _NULL:
        return NoSuchObject
    raise BerError(f"unexpected value tag 0x{tag:02x}")


def decode_response(data: bytes) -> Response:
    end = len(data)
    tag, pos, stop = _header(data, 0, end)
    if tag != _SEQUENCE or stop != end:
        raise BerError("not an SNMP message")
    tag, start, pos2 = _header(data, pos, stop)
    if tag != _INTEGER:
        raise BerError("no version")
    version = _integer(data, start, pos2)
    tag, start, pos3 = _header(data, pos2, stop)
    if tag != _OCTETS:
        raise BerError("no community")
    community = data[start:pos3]
    tag, pos, pdu_end = _header(data, pos3, stop)
    if tag not in _RESPONSE_PDUS:
        raise BerError(f"not a response PDU (0x{tag:02x})")
    numbers = []
    for _ in range(3):
        tag, start, pos = _header(data, pos, pdu_end)
        if tag != _INTEGER:
            raise BerError("bad PDU header")
        numbers.append(_integer(data, start, pos))
    tag, pos, list_end = _header(data, pos, pdu_end)
    if tag != _SEQUENCE:
        raise BerError("no varbind list")
    varbinds: list[tuple[Oid, SnmpValue]] = []
    while pos < list_end:
        # The usual varbind, every length in short form, read inline (a third of the decoding time);
        # anything else takes the checked path below, which says what is wrong with it.
        if (pos + 4 <= list_end and data[pos] == _SEQUENCE and data[pos + 2] == _OID
                and (vb_end := pos + 2 + data[pos + 1]) <= list_end and data[pos + 1] < 0x80
                and data[pos + 3] < 0x80 and (oid_end := pos + 4 + data[pos + 3]) + 2 <= vb_end
                and data[oid_end + 1] < 0x80 and oid_end + 2 + data[oid_end + 1] == vb_end):
            oid = _OIDS.get(data[pos + 4:oid_end]) or _oid(data, pos + 4, oid_end)
            tag = data[oid_end]
            if tag == _INTEGER and vb_end > oid_end + 2:
                varbinds.append((oid, int.from_bytes(data[oid_end + 2:vb_end], "big", signed=True)))
            else:
                varbinds.append((oid, _value(tag, data, oid_end + 2, vb_end)))
            pos = vb_end
            continue
        tag, start, vb_end = _header(data, pos, list_end)
        if tag != _SEQUENCE:
            raise BerError("bad varbind")
        tag, oid_start, oid_end = _header(data, start, vb_end)
        if tag != _OID:
            raise BerError("varbind without an OID")
        tag, value_start, value_end = _header(data, oid_end, vb_end)
        if value_end != vb_end:
            raise BerError("trailing bytes in a varbind")
        varbinds.append((_oid(data, oid_start, oid_end), _value(tag, data, value_start, value_end)))
        pos = vb_end
    return Response(version, community, numbers[0], numbers[1], numbers[2], varbinds)


def error_status_of(head: bytes) -> int | None:
    """The error-status of a v1/v2c response from its first bytes (a peek at the datagram), or None
    when they are not such a response (SNMPv3, garbage, too short)."""
    try:
        tag, pos, _ = _header(head, 0, 1 << 31)             # the message: only its first bytes are here
        if tag != _SEQUENCE:
            return None
        for expected in (_INTEGER, _OCTETS):                 # version, community
            tag, _, pos = _header(head, pos, len(head))
            if tag != expected:
                return None
        tag, pos, _ = _header(head, pos, 1 << 31)            # the PDU
        if tag not in _RESPONSE_PDUS:
            return None
        _, _, pos = _header(head, pos, len(head))            # request-id
        tag, start, stop = _header(head, pos, len(head))
        return _integer(head, start, stop) if tag == _INTEGER else None
    except BerError:
        return None


# -- writing requests ---------------------------------------------------------------------------

_GET_REQUEST, _GETBULK_REQUEST = 0xA0, 0xA5


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


def _encode_integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _encode_arc(arc: int) -> bytes:
    out = [arc & 0x7F]
    arc >>= 7
    while arc:
        out.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(out))


def encode_oid(oid: Oid) -> bytes:
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39):
        raise BerError(f"cannot encode OID {oid}")
    return _tlv(_OID, _encode_arc(oid[0] * 40 + oid[1]) + b"".join(_encode_arc(a) for a in oid[2:]))


_VARBINDS: dict[Oid, bytes] = {}


def _null_varbind(oid: Oid) -> bytes:
    """A request's varbind (the OID, NULL), encoded once per distinct OID: a fleet asks for the same ones."""
    encoded = _VARBINDS.get(oid)
    if encoded is None:
        if len(_VARBINDS) >= _OIDS_MAX:
            _VARBINDS.clear()
        encoded = _VARBINDS[oid] = _tlv(_SEQUENCE, encode_oid(oid) + b"\x05\x00")
    return encoded


def encode_request(*, community: bytes, request_id: int, oids: list[Oid], bulk: bool,
                   max_repetitions: int = 0, version: int = 1) -> bytes:
    """A v2c GetRequest or GetBulkRequest (non-repeaters 0), byte for byte what pysnmp encodes."""
    varbinds = b"".join([_null_varbind(oid) for oid in oids])
    header = _encode_integer(request_id) + _encode_integer(0) + _encode_integer(max_repetitions if bulk else 0)
    pdu = _tlv(_GETBULK_REQUEST if bulk else _GET_REQUEST, header + _tlv(_SEQUENCE, varbinds))
    return _tlv(_SEQUENCE, _encode_integer(version) + _tlv(_OCTETS, community) + pdu)
