"""Recorded walks are read the way snmpsim reads them (its own record parser is the reference),
and a line neither can read is named and skipped, never the whole recording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from snmpsim.error import SnmpsimError
from snmpsim.record.snmprec import SnmprecRecord

from collectors.snmp.recorded import read_snmprec
from collectors.snmp.types import NoSuchInstance, parse_oid
from tests.agent_process import netwatt

# Every value form snmpsim serves: plain, hex (x, odd length), escaped (e), Latin-1 bytes,
# IpAddress plain and hex, Opaque, Null, exceptions, unsigned types, CRLF endings, blanks, comments.
GOOD = (
    b"# a comment\r\n"
    b"\n"
    b"1.3.6.1.2.1.1.1.0|4|Cisco IOS  \r\n"
    b".1.3.6.1.2.1.1.2.0|6|.1.3.6.1.4.1.9.1.1208\n"
    b"1.3.6.1.2.1.1.3.0|67|123456\n"
    b"1.3.6.1.2.1.1.4.0|4x|4142430a\n"
    b"1.3.6.1.2.1.1.5.0|4x|abc\n"
    b"1.3.6.1.2.1.1.6.0|4e|line\\none\\x41\\\\\n"
    b"1.3.6.1.2.1.1.7.0|4|caf\xe9\n"
    b"1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1\n"
    b"1.3.6.1.2.1.4.20.1.1.10.0.0.2|64x|0a000002\n"
    b"1.3.6.1.2.1.2.2.1.10.1|65|4294967295\n"
    b"1.3.6.1.2.1.2.2.1.5.1|66|1000000000\n"
    b"1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615\n"
    b"1.3.6.1.2.1.99.1.1.1.4.5|2|-2147483648\n"
    b"1.3.6.1.4.1.2021.10.1.6.1|68x|9f780442f60000\n"
    b"1.3.6.1.4.1.2021.10.1.7.1|5|\n"
)
BAD = (
    b"1.3.6.1.2.1.99.1.1.1.4.6|2|twelve\n"          # not an integer
    b"1.3.6.1.2.1.2.2.1.5.2|66|-1\n"                 # Gauge32 cannot be negative
    b"1.3.6.1.2.1.1.8.0|99|x\n"                      # no such type
    b"1.3.6.1.2.1.1.9.0|2:numeric|min=1,max=9\n"     # needs a variation module
    b"garbage without separators\n"
    b"1.3.6.1.2.1.1.10.0|4x|zz\n"                    # not hex
)


def _snmpsim_value(line: bytes) -> Any:
    _, parsed = SnmprecRecord().evaluate(line, nextFlag=True, exactMatch=True, setFlag=False)
    return parsed


def test_every_value_form_equals_what_snmpsim_serves() -> None:
    recording = read_snmprec(GOOD)
    assert recording.skipped == []
    lines = [line for line in GOOD.split(b"\n") if line.strip() and not line.startswith(b"#")]
    assert len(recording.values) == len(lines)
    for line in lines:
        oid = parse_oid(line.decode("iso-8859-1").split("|")[0])
        ours, theirs = recording.values[oid], _snmpsim_value(line)
        if isinstance(ours, bytes):
            assert ours == theirs.asOctets(), line
        elif isinstance(ours, tuple):
            assert ours == tuple(theirs), line
        elif isinstance(ours, str):          # IpAddress as dotted text
            assert ours == ".".join(map(str, theirs.asNumbers())), line
        else:
            assert ours == int(theirs), line


def test_bad_lines_are_named_and_skipped_like_snmpsim_refuses_them() -> None:
    recording = read_snmprec(GOOD + BAD)
    first_bad = GOOD.count(b"\n") + 1
    assert [s.number for s in recording.skipped] == list(range(first_bad, first_bad + 6))
    assert "not an integer" in str(recording.skipped[0])
    assert "out of range" in str(recording.skipped[1])
    assert "unsupported snmprec type '99'" in str(recording.skipped[2])
    assert "variation module 'numeric'" in str(recording.skipped[3])
    assert "not OID|TYPE|VALUE" in str(recording.skipped[4])
    for line in BAD.split(b"\n")[:4] + BAD.split(b"\n")[5:6]:    # snmpsim refuses these too
        with pytest.raises((SnmpsimError, KeyError)):
            _snmpsim_value(line)
    assert len(recording.values) == len(GOOD.split(b"\n")) - 3


def test_recorded_exceptions_are_served_as_snmpsim_serves_them() -> None:
    """noSuchInstance is answered for its OID; a recorded endOfMibView is stepped over on a walk."""
    recording = read_snmprec(b"1.3.6.1.2.1.1.1.0|129|\n1.3.6.1.2.1.1.2.0|130|\n1.3.6.1.2.1.1.3.0|67|5\n")
    assert recording.values == {parse_oid("1.3.6.1.2.1.1.1.0"): NoSuchInstance,
                                parse_oid("1.3.6.1.2.1.1.3.0"): 5}
    assert recording.skipped == []


@pytest.mark.integration
def test_discover_walk_reads_a_recording_with_broken_lines(tmp_path: Path) -> None:
    walk = tmp_path / "mixed.snmprec"
    walk.write_bytes(
        b"1.3.6.1.2.1.1.1.0|4e|Huawei\\x20VRP\n"
        b"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2011.2.23.100\n"
        b"1.3.6.1.4.1.2011.6.157.1.3.0|2|oops\n"
        b"1.3.6.1.4.1.2011.6.157.1.6.0|2|90430\n"
        b"1.3.6.1.4.1.2011.6.157.1.8.0|66|-5\n")
    result = netwatt("discover", "--walk", str(walk), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "line 3:" in result.stderr
    assert "line 5:" in result.stderr
    out = json.loads(result.stdout)
    assert out["power_w"] == pytest.approx(90.43)
    assert [s.split(": ", 1)[1].split(":")[0] for s in out["skipped_lines"]] == ["line 3", "line 5"]


def test_variation_module_lines_give_the_value_snmpsim_first_serves() -> None:
    """A ``TYPE:module`` line whose settings hold the value (writecache/delay/error/notification
    value= or hexvalue=, numeric initial=) is read; one whose value is computed or fetched when
    served (sql, redis, subprocess, multiplex, numeric without initial) is named and skipped."""
    recording = read_snmprec(
        b"1.3.6.1.2.1.1.5.0|4:writecache|value=sw1\n"
        b"1.3.6.1.2.1.1.6.0|4:delay|hexvalue=6c6162,,wait=100\n"           # ',,' separates: a value may hold ','
        b"1.3.6.1.2.1.99.1.1.1.4.1|2:delay|value=-1250,wait=500\n"
        b"1.3.6.1.2.1.99.1.1.1.4.2|2:numeric|initial=421.9,rate=0.1,max=900\n"
        b"1.3.6.1.2.1.99.1.1.1.4.3|66:error|op=set,status=authorizationError,value=7\n"
        b"1.3.6.1.2.1.99.1.1.1.4.4|2:sql|snmprec\n"
        b"1.3.6.1.2.1.99.1.1.1.4.5|2:numeric|min=1,max=9\n"
        b"1.3.6.1.2.1.99.1.1.1.4.6|66:writecache|value=-3\n")
    assert recording.values == {
        parse_oid("1.3.6.1.2.1.1.5.0"): b"sw1",
        parse_oid("1.3.6.1.2.1.1.6.0"): b"lab",
        parse_oid("1.3.6.1.2.1.99.1.1.1.4.1"): -1250,
        parse_oid("1.3.6.1.2.1.99.1.1.1.4.2"): 421,
        parse_oid("1.3.6.1.2.1.99.1.1.1.4.3"): 7,
    }
    assert [s.number for s in recording.skipped] == [6, 7, 8]
    assert "variation module 'sql'" in str(recording.skipped[0])
    assert "variation module 'numeric'" in str(recording.skipped[1])
    assert "out of range" in str(recording.skipped[2])
