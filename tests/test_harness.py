"""The harness itself: each server really starts, answers, misbehaves as asked, and is gone afterwards."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api

from tests.harness import (
    MisbehavingAgent,
    NetSnmpd,
    ServerStartError,
    SnmpsimServer,
    V3User,
    free_tcp_port,
    free_udp_port,
    net_snmp,
    require_server,
    snmpget,
)
from tests.harness import server as server_module
from tests.harness.pool import MisbehavingFactory, SnmpdFactory, SnmpsimFactory
from tests.harness.process import ManagedProcess

pytestmark = pytest.mark.integration

SENSOR = "1.3.6.1.2.1.99.1.1.1.4"  # entPhySensorValue
WALK = """\
1.3.6.1.2.1.1.1.0|4|Lab switch 9000
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.2494
1.3.6.1.2.1.1.3.0|67|123456
1.3.6.1.2.1.99.1.1.1.1.1|2|8
1.3.6.1.2.1.99.1.1.1.4.1|66|250
"""


def _gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_free_ports_are_bindable_loopback_ports() -> None:
    udp, tcp = free_udp_port(), free_tcp_port()
    assert 1024 < udp < 65536
    assert 1024 < tcp < 65536


def test_snmpsim_serves_a_walk(tmp_path: Path, snmpsim_factory: SnmpsimFactory) -> None:
    data = tmp_path / "walks"
    data.mkdir()
    (data / "lab+switch.snmprec").write_text(WALK)  # community "lab+switch": a '+' must survive
    server = snmpsim_factory(data)
    result = snmpget(
        server.endpoint,
        "1.3.6.1.2.1.1.1.0",
        "1.3.6.1.2.1.1.2.0",
        "1.3.6.1.2.1.1.3.0",
        "1.3.6.1.2.1.99.1.1.1.1.1",
        f"{SENSOR}.1",
        community="lab+switch",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        '.1.3.6.1.2.1.1.1.0 = STRING: "Lab switch 9000"',
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.2494",
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (123456) 0:20:34.56",
        ".1.3.6.1.2.1.99.1.1.1.1.1 = INTEGER: 8",
        f".{SENSOR}.1 = Gauge32: 250",
    ]
    # Another community names no walk: snmpsim stays silent.
    other = snmpget(server.endpoint, "1.3.6.1.2.1.1.1.0", community="public")
    assert other.returncode != 0
    assert "Timeout" in other.stderr
    assert snmpsim_factory(data) is server  # one server per folder


def test_snmpsim_reuses_its_index_cache(tmp_path: Path) -> None:
    data, cache = tmp_path / "walks", tmp_path / "cache"
    data.mkdir()
    (data / "dev.snmprec").write_text(WALK)
    with SnmpsimServer(data, cache) as first:
        pid = first.pid
        assert "Building index" in first.log_tail(200)
    assert _gone(pid)
    assert any(cache.iterdir())
    with SnmpsimServer(data, cache) as second:
        assert "Building index" not in second.log_tail(200)
        assert snmpget(second.endpoint, f"{SENSOR}.1", community="dev").stdout.strip().endswith("250")


def test_snmpsim_moves_off_a_taken_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # snmpsim logs "Listening" and hangs without a socket when its bind fails; the harness must move.
    (tmp_path / "dev.snmprec").write_text(WALK)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(server_module, "free_udp_port", lambda: next(ports, None) or free_udp_port())
        with SnmpsimServer(tmp_path) as server:
            assert server.port != taken
            assert snmpget(server.endpoint, f"{SENSOR}.1", community="dev").returncode == 0


def test_snmpd_serves_override_over_v2c(snmpd_factory: SnmpdFactory) -> None:
    server = snmpd_factory(
        communities=["net+watt"],
        extra_lines=[f"override {SENSOR}.1 integer 250", f"override {SENSOR}.2 integer -3"],
    )
    result = snmpget(server.endpoint, f"{SENSOR}.1", f"{SENSOR}.2", community="net+watt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f".{SENSOR}.1 = INTEGER: 250", f".{SENSOR}.2 = INTEGER: -3"]
    refused = snmpget(server.endpoint, f"{SENSOR}.1", community="public")
    assert refused.returncode != 0
    assert "Timeout" in refused.stderr


V3_USERS = [
    V3User("u_sha256_aes", "auth-pass-256", "priv-pass-aes", "SHA-256", "AES"),
    V3User("u_sha512_aes256", "auth-pass-512", "priv-pass-256", "SHA-512", "AES-256"),
    V3User("u_sha_aes192", "auth-pass-sha", "priv-pass-192", "SHA", "AES-192"),
    V3User("u_sha384_des", "auth-pass-384", "priv-pass-des", "SHA-384", "DES"),
    V3User("u_md5_noPriv", "auth-pass-md5", "", "MD5", None),
]


@pytest.fixture(scope="module")
def v3_snmpd(snmpd_factory: SnmpdFactory) -> NetSnmpd:
    # v3 only: readiness is probed with snmpget -v3 as the first user.
    return snmpd_factory(v3_users=V3_USERS, extra_lines=[f"override {SENSOR}.1 integer 250"])


@pytest.mark.parametrize("user", V3_USERS, ids=lambda u: u.username)
def test_snmpd_v3_user_reads_value(v3_snmpd: NetSnmpd, user: V3User) -> None:
    result = snmpget(v3_snmpd.endpoint, f"{SENSOR}.1", v3=user, persist_dir=v3_snmpd.client_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f".{SENSOR}.1 = INTEGER: 250"


def test_snmpd_v3_wrong_passphrases_are_refused(v3_snmpd: NetSnmpd) -> None:
    user = V3_USERS[0]

    def read(u: V3User) -> tuple[int, str]:
        result = snmpget(v3_snmpd.endpoint, f"{SENSOR}.1", v3=u, persist_dir=v3_snmpd.client_dir)
        return result.returncode, result.stderr + result.stdout

    code, text = read(replace(user, auth_password="wrong-auth-pass"))
    assert code != 0
    assert "Authentication failure" in text
    # A wrong privacy key cannot decrypt the PDU: snmpd drops it, the manager times out.
    code, text = read(replace(user, priv_password="wrong-priv-pass"))
    assert code != 0
    assert "Timeout" in text
    assert "250" not in text
    code, text = read(replace(user, username="nobody"))
    assert code != 0
    assert "Unknown user name" in text


def test_snmpd_rejects_a_passphrase_snmpd_would_silently_drop() -> None:
    with pytest.raises(ValueError, match="8"):
        NetSnmpd(v3_users=[V3User("short", "1234", "12345678")])


def test_snmpd_moves_off_a_port_someone_else_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    # A SO_REUSEADDR socket lets snmpd bind the same UDP port silently; the harness must notice and move.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 0))
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(server_module, "free_udp_port", lambda: next(ports, None) or free_udp_port())
        with NetSnmpd(["shared"]) as server:
            assert server.port != taken
            assert snmpget(server.endpoint, "1.3.6.1.2.1.1.2.0", community="shared").returncode == 0
            assert "another process also holds UDP port" not in server.log_tail()


def test_snmpd_stops_by_pid(snmpd_factory: SnmpdFactory) -> None:
    server = snmpd_factory(communities=["stopme"])
    pid = server.pid
    server.stop()
    assert _gone(pid)
    assert snmpget(server.endpoint, "1.3.6.1.2.1.1.2.0", community="stopme").returncode != 0


def test_silent_agent_times_out(misbehaving_agent_factory: MisbehavingFactory) -> None:
    agent = misbehaving_agent_factory("silent")
    started = time.monotonic()
    result = snmpget(agent.endpoint, f"{SENSOR}.1", community="public", timeout=0.5, retries=1)
    assert result.returncode != 0
    assert "Timeout" in result.stderr
    assert time.monotonic() - started >= 0.9
    assert agent.requests_seen == 2  # the device got both tries: the port is open, just dead


def test_garbage_agent_gives_no_valid_answer(misbehaving_agent_factory: MisbehavingFactory) -> None:
    agent = misbehaving_agent_factory("garbage")
    result = snmpget(agent.endpoint, f"{SENSOR}.1", community="public", timeout=0.5)
    assert result.returncode != 0
    assert "Timeout" in result.stderr  # snmpget drops what it cannot parse
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"anything", (agent.host, agent.port))
        data, _ = sock.recvfrom(65535)
    with pytest.raises(PyAsn1Error):
        decoder.decode(data, asn1Spec=api.PROTOCOL_MODULES[api.SNMP_VERSION_2C].Message())
    assert agent.requests_seen == 2


@pytest.mark.parametrize("tool", ["snmpwalk", "snmpbulkwalk"])
def test_non_increasing_agent_breaks_walks(misbehaving_agent_factory: MisbehavingFactory, tool: str) -> None:
    agent = misbehaving_agent_factory("non_increasing")
    result = net_snmp(tool, agent.endpoint, [SENSOR], community="public")
    assert result.returncode != 0
    assert "OID not increasing" in result.stderr
    assert f".{SENSOR}.1 = INTEGER" in result.stdout  # inside the requested subtree


def test_wrong_types_agent_serves_its_table_in_order(misbehaving_agent_factory: MisbehavingFactory) -> None:
    table: dict[str, object] = {
        f"{SENSOR}.10": 7,
        f"{SENSOR}.2": b"garbage",
        f"{SENSOR}.1": "12.5 W",
        "1.3.6.1.2.1.99.1.1.1.5.1": 0,
    }
    agent = misbehaving_agent_factory("wrong_types", table)
    for tool in ("snmpwalk", "snmpbulkwalk"):
        result = net_snmp(tool, agent.endpoint, [SENSOR], community="any")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            f'.{SENSOR}.1 = STRING: "12.5 W"',
            f'.{SENSOR}.2 = STRING: "garbage"',
            f".{SENSOR}.10 = INTEGER: 7",
        ]
    missing = snmpget(agent.endpoint, f"{SENSOR}.3", f"{SENSOR}.10", community="any")
    assert missing.stdout.splitlines() == [
        f".{SENSOR}.3 = No Such Instance currently exists at this OID",
        f".{SENSOR}.10 = INTEGER: 7",
    ]


# the slow agent answers from a threading.Timer, a timed wait libfaketime does not wake on time; no date logic
@pytest.mark.real_clock
def test_slow_agent_answers_late(misbehaving_agent_factory: MisbehavingFactory) -> None:
    agent = misbehaving_agent_factory("slow", {f"{SENSOR}.1": 250}, delay_s=1.5)
    too_short = snmpget(agent.endpoint, f"{SENSOR}.1", community="public", timeout=0.5)
    assert too_short.returncode != 0
    assert "Timeout" in too_short.stderr
    started = time.monotonic()
    patient = snmpget(agent.endpoint, f"{SENSOR}.1", community="public", timeout=4)
    assert patient.returncode == 0, patient.stderr
    assert patient.stdout.strip() == f".{SENSOR}.1 = INTEGER: 250"
    assert time.monotonic() - started >= 1.4


def test_misbehaving_agent_stops_cleanly() -> None:
    with MisbehavingAgent("slow", delay_s=30) as agent:
        snmpget(agent.endpoint, f"{SENSOR}.1", community="public", timeout=0.2)
        thread = agent._thread
    assert thread is not None
    assert not thread.is_alive()


def test_dead_server_fails_the_test_with_its_log_tail(tmp_path: Path) -> None:
    proc = ManagedProcess("demo", ["sh", "-c", "echo bind failed: no luck; exit 3"], tmp_path / "demo.log")
    proc.start()
    with pytest.raises(pytest.fail.Exception) as failure:
        require_server(lambda: proc.wait_ready(lambda: False, timeout=10))
    text = str(failure.value)
    assert "demo did not start: exited with status 3" in text
    assert "bind failed: no luck" in text


def test_hung_server_fails_in_bounded_time_and_is_killed(tmp_path: Path) -> None:
    proc = ManagedProcess("hung", ["sleep", "60"], tmp_path / "hung.log")
    proc.start()
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="no answer within 1 s"):
        proc.wait_ready(lambda: False, timeout=1)
    assert time.monotonic() - started < 3
    pid = proc.pid
    proc.stop(grace=1)
    assert _gone(pid)


def test_snmpsim_without_walks_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no \.snmprec walk"):
        require_server(SnmpsimServer(tmp_path, work_dir=tmp_path / "work").start)
