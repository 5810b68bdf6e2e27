"""The default SNMP backend (gufo) is as strict as the reference (pysnmp): the same misbehaving-agent
checks run on both. An error-status in a reply is that device's error; a reply up to the UDP maximum
is read; a closed port is `unreachable` at once, never a timeout. Real UDP agents on 127.0.0.1
(tests/harness/misbehaving.py)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.backends import BackendRouter, resolve_backend
from collectors.snmp.types import SnmpTarget, SnmpV2cAuth, WalkResult, parse_oid
from tests.agent_process import netwatt
from tests.harness.misbehaving import DEFAULT_ROOT, huge_table
from tests.harness.pool import MisbehavingFactory

pytestmark = pytest.mark.integration

SUBTREE = parse_oid(DEFAULT_ROOT)
SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.2.0")


def test_gufo_is_the_default_backend() -> None:
    """So the `gufo` runs below are the default backend's."""
    assert resolve_backend("auto") == "gufo"


def target(port: int, backend: str, *, timeout_s: float = 1.0, retries: int = 1) -> SnmpTarget:
    return SnmpTarget(name=f"dev-{port}", host="127.0.0.1", port=port, auth=SnmpV2cAuth("public"),
                      timeout_s=timeout_s, retries=retries, backend=backend)


async def walk_and_get(backend: str, t: SnmpTarget) -> tuple[WalkResult, WalkResult, BackendRouter]:
    router = BackendRouter(backend)
    try:
        walked = await router.walk(t, [SUBTREE])
        got = await router.get(t, [SYS_OBJECT_ID, (*SUBTREE, 2)])
        return walked, got, router
    finally:
        await router.close()


def test_error_status_is_the_devices_error(misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str) -> None:
    agent = misbehaving_agent_factory("gen_err")
    walked, got, _ = asyncio.run(walk_and_get(snmp_backend, target(agent.port, snmp_backend)))
    assert walked.errors == [CollectError(ErrorKind.PROTOCOL, "agent answered genErr", DEFAULT_ROOT)]
    assert walked.varbinds == {}
    assert got.errors == [CollectError(ErrorKind.PROTOCOL, "agent answered genErr",
                                       f"1.3.6.1.2.1.1.2.0, {DEFAULT_ROOT}.2")]
    assert (walked.backend, got.backend) == (snmp_backend, snmp_backend)


def test_a_60_kb_reply_is_read(misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str,
                               caplog: pytest.LogCaptureFixture) -> None:
    agent = misbehaving_agent_factory("wrong_types", huge_table(60_000))
    walked, got, router = asyncio.run(walk_and_get(snmp_backend, target(agent.port, snmp_backend)))
    assert walked.errors == []
    assert walked.varbinds == {(*SUBTREE, 1): b"x" * 59_900, (*SUBTREE, 2): 250}
    assert got.errors == []
    assert got.varbinds == {SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10), (*SUBTREE, 2): 250}
    if snmp_backend == "gufo":       # gufo reads 4 KiB: this device is read by pysnmp from then on, said once
        assert (walked.backend, got.backend) == ("pysnmp", "pysnmp")
        assert caplog.text.count("gufo-snmp cannot read a reply of") == 1
        # the reply's size varies by a byte or two with the random request-id's BER length
        reason = router.gufo.needs_pysnmp[f"dev-{agent.port}"]
        said = re.fullmatch(r"a reply of (\d+) bytes \(gufo-snmp reads 4096\)", reason)
        assert said is not None, reason
        assert 59_900 < int(said.group(1)) <= 60_000   # the 59,900-byte value plus its headers
        assert list(router.gufo.needs_pysnmp) == [f"dev-{agent.port}"]


def test_replies_gufo_can_read_stay_on_gufo(misbehaving_agent_factory: MisbehavingFactory) -> None:
    agent = misbehaving_agent_factory("wrong_types", huge_table(4_000))
    walked, got, router = asyncio.run(walk_and_get("gufo", target(agent.port, "gufo")))
    assert (walked.errors, got.errors) == ([], [])
    assert (walked.backend, got.backend) == ("gufo", "gufo")
    assert len(walked.varbinds[(*SUBTREE, 1)]) == 3_900  # type: ignore[arg-type]
    assert router.gufo.needs_pysnmp == {}


def test_too_big_is_read_in_smaller_pieces(misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str) -> None:
    """tooBig to a GETBULK: pysnmp asks again for fewer rows; gufo hands the device to pysnmp."""
    agent = misbehaving_agent_factory("too_big", {f"{DEFAULT_ROOT}.{row}": 200 + row for row in range(1, 9)})
    walked, _, _ = asyncio.run(walk_and_get(snmp_backend, target(agent.port, snmp_backend)))
    assert walked.errors == []
    assert walked.varbinds == {(*SUBTREE, row): 200 + row for row in range(1, 9)}
    assert walked.backend == "pysnmp"


def test_closed_port_is_unreachable_at_once(misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str) -> None:
    agent = misbehaving_agent_factory("closed")
    t = target(agent.port, snmp_backend, timeout_s=2.0, retries=1)
    started = time.perf_counter()
    walked, got, router = asyncio.run(walk_and_get(snmp_backend, t))
    elapsed = time.perf_counter() - started
    unreachable = CollectError(ErrorKind.UNREACHABLE, "port unreachable (ICMP): no SNMP agent listens",
                               f"127.0.0.1:{agent.port}")
    assert (walked.errors, got.errors) == ([unreachable], [unreachable])
    assert elapsed < 1.0                           # one timeout would be 2 s
    assert router.client(snmp_backend).timeouts == 0        # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["gen_err", "closed"])
def test_poll_reports_the_devices_error(misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str,
                                        mode: str, tmp_path: Path) -> None:
    """What a user sees: `netwatt poll` with the backend as configured (gufo: the default, unset)."""
    agent = misbehaving_agent_factory(mode)   # type: ignore[arg-type]
    backend = "" if snmp_backend == "gufo" else "agent: {snmp_backend: pysnmp}\n"
    config = tmp_path / "netwatt.yaml"
    config.write_text(f"version: 1\n{backend}credentials:\n  c: {{version: 2c, community: 'plain:public'}}\n"
                      f"devices:\n  - {{name: sw, address: '127.0.0.1:{agent.port}', credential: c, "
                      "timeout: 2s, retries: 1}\n")
    polled = netwatt("poll", "-c", str(config), "--device", "sw", "--format", "json")
    assert polled.returncode == 1, polled.stderr
    result = json.loads(polled.stdout)
    assert result["power_w"] is None
    expected = ("protocol: agent answered genErr" if mode == "gen_err"
                else "unreachable: port unreachable (ICMP): no SNMP agent listens")
    assert result["errors"]
    assert all(e.startswith(expected) for e in result["errors"]), result["errors"]
    assert result["elapsed_s"] < 1.0
    summary = netwatt("poll", "-c", str(config), "--all", "--format", "summary")
    counts = json.loads(summary.stdout)
    assert (counts["failed"], counts["timeouts"]) == (1, 0)
