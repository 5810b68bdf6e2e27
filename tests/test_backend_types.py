"""Both SNMP read backends turn the same wire values into the same plain values: Counter64, Opaque
floats, negative Integer32, OctetString numbers, OID and IpAddress values, noSuchInstance on GET,
endOfMibView at the end of a walk, and an agent whose OIDs do not increase. Served by the
misbehaving agent harness (a real UDP agent on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from pysnmp.proto import rfc1902

from collectors.snmp.backends import BackendRouter
from collectors.snmp.types import Oid, SnmpTarget, SnmpV2cAuth, SnmpV3Auth, WalkResult, parse_oid
from tests.harness.pool import MisbehavingFactory

pytestmark = pytest.mark.integration

ROOT = "1.3.6.1.4.1.99999.1"
# Opaque-wrapped float (net-snmp's UCD-SNMP "opaque float"): 9f 78 04 <IEEE 754 single 12.5>
OPAQUE_FLOAT = bytes.fromhex("9f780441480000")
TABLE: dict[str, object] = {
    "1.3.6.1.2.1.1.2.0": rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
    f"{ROOT}.1.1": rfc1902.Counter64(2**40 + 5),
    f"{ROOT}.1.2": rfc1902.Counter64(2**64 - 1),
    f"{ROOT}.2.1": rfc1902.Opaque(OPAQUE_FLOAT),
    f"{ROOT}.3.1": rfc1902.Integer32(-32768),
    f"{ROOT}.3.2": rfc1902.Integer32(-1),
    f"{ROOT}.4.1": rfc1902.OctetString(b"212.5"),
    f"{ROOT}.4.2": rfc1902.OctetString(b"\x00\xff binary"),
    f"{ROOT}.5.1": rfc1902.Gauge32(4294967295),
    f"{ROOT}.5.2": rfc1902.TimeTicks(12345),
    f"{ROOT}.5.3": rfc1902.Counter32(7),
    f"{ROOT}.6.1": rfc1902.IpAddress("10.1.2.3"),
    f"{ROOT}.6.2": rfc1902.ObjectIdentifier("1.3.6.1.4.1.9.12.3.1.9.1"),
}
EXPECTED = {
    f"{ROOT}.1.1": 2**40 + 5, f"{ROOT}.1.2": 2**64 - 1, f"{ROOT}.2.1": OPAQUE_FLOAT,
    f"{ROOT}.3.1": -32768, f"{ROOT}.3.2": -1, f"{ROOT}.4.1": b"212.5", f"{ROOT}.4.2": b"\x00\xff binary",
    f"{ROOT}.5.1": 4294967295, f"{ROOT}.5.2": 12345, f"{ROOT}.5.3": 7, f"{ROOT}.6.1": "10.1.2.3",
    f"{ROOT}.6.2": (1, 3, 6, 1, 4, 1, 9, 12, 3, 1, 9, 1),
}


def target(port: int, backend: str, **kw: object) -> SnmpTarget:
    return SnmpTarget(name=f"dev-{port}", host="127.0.0.1", port=port, auth=SnmpV2cAuth("public"),
                      timeout_s=1.0, retries=0, backend=backend, **kw)  # type: ignore[arg-type]


async def _walk_and_get(router: BackendRouter, t: SnmpTarget) -> tuple[WalkResult, WalkResult, WalkResult]:
    try:
        walked = await router.walk(t, [parse_oid(ROOT)])
        got = await router.get(t, [parse_oid(f"{ROOT}.3.1"), parse_oid(f"{ROOT}.9.9"),
                                   parse_oid("1.3.6.1.2.1.1.2.0")])
        past_the_end = await router.walk(t, [parse_oid("1.3.6.1.4.1.99999.7")])
        return walked, got, past_the_end
    finally:
        await router.close()


def test_values_map_the_same_on_both_backends(misbehaving_agent_factory: MisbehavingFactory,
                                              snmp_backend: str) -> None:
    agent = misbehaving_agent_factory("wrong_types", TABLE)
    # small repetitions: the walk takes several requests, each continuing from the last OID
    walked, got, past_the_end = asyncio.run(_walk_and_get(BackendRouter(snmp_backend),
                                                         target(agent.port, snmp_backend, max_repetitions=3)))
    assert walked.errors == []
    assert walked.backend == snmp_backend
    assert {".".join(map(str, oid)): value for oid, value in walked.varbinds.items()} == EXPECTED
    assert list(walked.varbinds) == sorted(walked.varbinds)         # wire order
    assert got.errors == []
    assert got.varbinds == {parse_oid(f"{ROOT}.3.1"): -32768,      # noSuchInstance: simply absent
                            parse_oid("1.3.6.1.2.1.1.2.0"): (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)}
    assert (past_the_end.errors, past_the_end.varbinds) == ([], {})   # endOfMibView: an empty subtree


def test_non_increasing_oids_end_the_walk_with_an_error(misbehaving_agent_factory: MisbehavingFactory,
                                                        snmp_backend: str) -> None:
    agent = misbehaving_agent_factory("non_increasing")
    t = target(agent.port, snmp_backend)

    async def walk() -> WalkResult:
        router = BackendRouter(snmp_backend)
        try:
            return await router.walk(t, [parse_oid("1.3.6.1.2.1.99.1.1.1.4")])
        finally:
            await router.close()

    result = asyncio.run(walk())
    assert [e.kind for e in result.errors] == ["non_increasing"]
    assert result.requests <= 2


def test_a_credential_gufo_cannot_speak_goes_to_pysnmp_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    router = BackendRouter("gufo")
    des3 = SnmpTarget(name="old-ap", host="127.0.0.1", port=161, backend="auto",
                      auth=SnmpV3Auth("u", "SHA", "auth-pass", "3DES", "priv-pass"))
    context = SnmpTarget(name="ctx", host="127.0.0.1", port=161, backend="auto",
                         auth=SnmpV3Auth("u", "SHA", "auth-pass", "AES", "priv-pass", context_name="vlan-1"))
    aes = SnmpTarget(name="new-sw", host="127.0.0.1", port=161, backend="auto",
                     auth=SnmpV3Auth("u", "SHA256", "auth-pass", "AES256C", "priv-pass"))
    with caplog.at_level(logging.WARNING, logger="collectors.snmp.backends"):
        chosen = [router.backend_for(t) for t in (des3, des3, context, aes)]
    assert chosen == ["pysnmp", "pysnmp", "pysnmp", "gufo"]
    assert [r.getMessage() for r in caplog.records] == [
        "device old-ap: gufo-snmp lacks privacy protocol 3DES; it is polled with pysnmp",
        "device ctx: gufo-snmp lacks an SNMPv3 context name; it is polled with pysnmp"]
    assert BackendRouter("pysnmp").backend_for(aes) == "pysnmp"
    assert router.backend_for(SnmpTarget(name="x", host="h", port=1, auth=SnmpV2cAuth("c"),
                                         backend="pysnmp")) == "pysnmp"


def test_gufo_reads_known_instances_with_one_get_and_walks_when_rows_change(
        misbehaving_agent_factory: MisbehavingFactory) -> None:
    """After a walk (v2c: every column in each GETBULK), polls GET the rows found, and walk again
    when an instance is gone (same poll) or every REWALK_EVERY polls (new rows)."""
    from collectors.snmp.gufo_client import REWALK_EVERY, GufoClient  # noqa: PLC0415

    columns = [f"{ROOT}.{c}" for c in (1, 2, 4)]
    table = {f"{col}.{row}": rfc1902.Integer32(10 * c + row) for c, col in enumerate(columns) for row in (1, 2)}
    agent = misbehaving_agent_factory("wrong_types", table)
    t = target(agent.port, "gufo")
    subtrees = [parse_oid(c) for c in columns]

    walked: list[bool] = []      # per poll: did it walk (else it only GET the known instances)

    async def polls() -> list[WalkResult]:
        client = GufoClient()
        walk = client._walk

        async def poll() -> WalkResult:
            calls = len(seen)
            result = await client.walk(t, subtrees)
            walked.append(len(seen) > calls)
            return result

        seen: list[int] = []

        async def counting(target_: SnmpTarget, subtrees_: Sequence[Oid]) -> WalkResult:
            seen.append(1)
            return await walk(target_, subtrees_)

        client._walk = counting  # type: ignore[method-assign,assignment]
        try:
            results = [await poll() for _ in range(3)]
            agent.replace_table({k: v for k, v in table.items() if not k.endswith(".2")})   # a row went
            results.append(await poll())
            agent.replace_table({**table, f"{columns[0]}.3": rfc1902.Integer32(99)})         # a row came
            results += [await poll() for _ in range(REWALK_EVERY + 1)]
            return results
        finally:
            await client.close()

    results = asyncio.run(polls())
    expected = {parse_oid(k): int(v) for k, v in table.items()}
    assert results[0].varbinds == results[1].varbinds == results[2].varbinds == expected
    walk_requests = results[0].requests     # one GETBULK of all three columns, + 1 where the agent's view ends
    assert walk_requests in (1, 2)
    assert walked[:3] == [True, False, False]
    assert [r.requests for r in results[1:3]] == [1, 1]              # then one GET
    gone = results[3]
    assert gone.varbinds == {oid: v for oid, v in expected.items() if oid[-1] == 1}
    assert gone.requests == 1 + walk_requests                        # the GET missed a row: walked in the same poll
    assert all(r.errors == [] for r in results)
    after = results[4:]
    # the device whose GET failed walks for REWALK_EVERY polls (and sees the new row at once), then GETs again
    assert walked[4:4 + REWALK_EVERY - 1] == [True] * (REWALK_EVERY - 1)
    assert parse_oid(f"{columns[0]}.3") in after[0].varbinds
    assert not walked[-1]
    assert after[-1].requests == 1
    assert after[-1].varbinds == after[0].varbinds


def test_nearby_columns_from_column_one_or_two_are_walked_as_one_run() -> None:
    from collectors.snmp.gufo_client import _column_runs  # noqa: PLC0415

    a, b, c = (1, 3, 99), (1, 3, 98), (1, 3, 97)
    subtrees = [(*c, 1, 5), (*c, 1, 6), (*b, 1, 1), (*b, 1, 2), (*a, 1, 2), (*a, 1, 3), (*a, 1, 4), (*a, 1, 7)]
    assert _column_runs(subtrees) == [[(*c, 1, 5)], [(*c, 1, 6)], [(*b, 1, 1), (*b, 1, 2)],
                                      [(*a, 1, 2), (*a, 1, 3), (*a, 1, 4)], [(*a, 1, 7)]]
    # ENTITY-MIB's columns for power: one column not wanted between two wanted ones is walked through
    entity = [(*a, 1, column) for column in (2, 4, 5, 7, 13)]
    assert _column_runs(entity) == [entity[:4], entity[4:]]
