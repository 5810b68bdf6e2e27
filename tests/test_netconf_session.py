"""The NETCONF session layer against real servers: netconfd behind OpenSSH sshd, and the canned
server (PyPI ``netconf``) for slowness and hostile replies. Nothing is mocked; a server that cannot
start fails the test."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.errors import ErrorKind
from collectors.netconf import (
    HostKeyCheck,
    NetconfAuth,
    NetconfError,
    NetconfPool,
    NetconfTarget,
    open_session,
)
from collectors.netconf.hostkeys import PresentedKey, known_fingerprints, record_host_key
from collectors.netconf.xmlsafe import UnsafeXml, parse
from tests.harness.netconf_canned import CannedNetconfServer
from tests.harness.netconf_pool import NetconfServerPool
from tests.harness.netconfd import NetconfdServer, ssh_keygen

pytestmark = pytest.mark.integration

HARNESS = Path(__file__).resolve().parent / "harness"
MINIMAL = HARNESS / "netconf_minimal"
TEST_NS = "urn:netwatt:test"
MONITORING = '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><sessions/></netconf-state>'


def edit(name: str, level: int) -> str:
    return (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><settings xmlns="{TEST_NS}">'
            f"<item><name>{name}</name><level>{level}</level></item></settings></config>")


def target(server: NetconfdServer | CannedNetconfServer, *, name: str = "sw1", password: str | None = None,
           known_hosts: Path | None = None, pinned: str = "", timeout_s: float = 10.0,
           key_file: str | None = None, max_reply_bytes: int = 32 * 1024 * 1024) -> NetconfTarget:
    auth = NetconfAuth(server.username, server.password if password is None and key_file is None else password,
                       key_file=key_file)
    return NetconfTarget(name, server.host, server.port, auth,
                         HostKeyCheck(known_hosts=str(known_hosts or server.known_hosts), pinned=pinned),
                         timeout_s=timeout_s, max_reply_bytes=max_reply_bytes)


def ssh_fingerprint(public_key: Path) -> str:
    """The fingerprint as OpenSSH prints it, to check ours against."""
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


async def failure(nc_target: NetconfTarget) -> NetconfError:
    """Connect and read; the NetconfError this ends with (the test fails when there is none)."""
    try:
        async with open_session(nc_target) as nc:
            await nc.get(MONITORING)
    except NetconfError as exc:
        return exc
    pytest.fail(f"{nc_target.name}: no error")


@pytest.fixture(scope="module")
def netconfd(netconf_servers: NetconfServerPool) -> NetconfdServer:
    return netconf_servers.netconfd()


@pytest.fixture
def fresh_item(netconfd: NetconfdServer) -> Iterator[str]:
    """A unique item name; the candidate is discarded afterwards so tests do not see each other."""
    name = f"item{time.monotonic_ns()}"
    yield name

    async def discard() -> None:
        async with open_session(target(netconfd)) as nc:
            await nc.discard_changes()

    asyncio.run(discard())


async def test_hello_capabilities_and_subtree_get(netconfd: NetconfdServer) -> None:
    async with open_session(target(netconfd)) as nc:
        assert nc.supports("urn:ietf:params:netconf:capability:candidate:1.0")
        assert nc.supports("urn:ietf:params:netconf:capability:confirmed-commit:1.1")
        assert nc.module_announced(TEST_NS)
        reply = await nc.get(MONITORING)
    root = parse(reply.xml, max_bytes=1 << 20)
    sessions = root.findall(".//{urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring}session")
    assert sessions, reply.xml
    # the subtree filter selected only <sessions>: no schemas or statistics came back
    assert "<schemas" not in reply.xml
    assert "<statistics" not in reply.xml


async def test_xpath_used_only_when_announced(netconfd: NetconfdServer, netconf_servers: NetconfServerPool) -> None:
    async with open_session(target(netconfd)) as nc:
        reply = await nc.get_xpath("/ncm:netconf-state/ncm:sessions",
                                   {"ncm": "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"})
        assert "<session>" in reply.xml.replace(" ", "") or "session-id" in reply.xml
    canned = netconf_servers.canned(MINIMAL)
    async with open_session(target(canned, name="noxpath")) as nc:
        with pytest.raises(NetconfError) as caught:
            await nc.get_xpath("/oc:components", {"oc": "http://openconfig.net/yang/platform"})
    assert caught.value.kind is ErrorKind.PROTOCOL
    assert "noxpath does not announce urn:ietf:params:netconf:capability:xpath:1.0" in str(caught.value)


async def test_edit_commit_and_rpc_error(netconfd: NetconfdServer, fresh_item: str) -> None:
    async with open_session(target(netconfd, name="core1")) as nc:
        await nc.edit_config(edit(fresh_item, 7))
        await nc.commit()
        running = await nc.get_config("running", f'<settings xmlns="{TEST_NS}"/>')
        assert f"<name>{fresh_item}</name>" in running.xml
        with pytest.raises(NetconfError) as caught:
            await nc.edit_config(edit(fresh_item, 101))
    error = caught.value.error
    assert error.kind is ErrorKind.RPC_ERROR
    assert error.where == "edit-config"
    assert "device core1: rpc-error invalid-value" in error.message
    assert "value not in range" in error.message


async def test_confirmed_commit_persist_confirmed_from_another_session(netconfd: NetconfdServer,
                                                                      fresh_item: str) -> None:
    token = f"tok-{fresh_item}"
    async with open_session(target(netconfd)) as first:
        await first.lock("candidate")
        await first.edit_config(edit(fresh_item, 42))
        await first.commit(confirmed=True, confirm_timeout_s=120, persist=token)
        await first.unlock("candidate")
    # the first session is gone; with persist the change stays until confirmed or cancelled
    async with open_session(target(netconfd)) as second:
        await second.commit(persist_id=token)
        running = await second.get_config("running", f'<settings xmlns="{TEST_NS}"/>')
    assert f"<name>{fresh_item}</name>" in running.xml


async def test_cancel_commit_and_discard_changes(netconfd: NetconfdServer, fresh_item: str) -> None:
    token = f"tok-{fresh_item}"
    async with open_session(target(netconfd)) as nc:
        await nc.edit_config(edit(fresh_item, 1))
        await nc.commit(confirmed=True, confirm_timeout_s=120, persist=token)
        await nc.cancel_commit(persist_id=token)
        running = await nc.get_config("running", f'<settings xmlns="{TEST_NS}"/>')
        assert f"<name>{fresh_item}</name>" not in running.xml
        await nc.edit_config(edit(fresh_item, 2))
        await nc.discard_changes()
        candidate = await nc.get_config("candidate", f'<settings xmlns="{TEST_NS}"/>')
        assert f"<name>{fresh_item}</name>" not in candidate.xml


async def test_lock_held_by_another_session_is_an_rpc_error(netconfd: NetconfdServer) -> None:
    async with open_session(target(netconfd, name="holder")) as holder:
        await holder.lock("running")
        async with open_session(target(netconfd, name="other")) as other:
            with pytest.raises(NetconfError) as caught:
                await other.lock("running")
        await holder.unlock("running")
    assert caught.value.kind is ErrorKind.RPC_ERROR
    assert "device other: rpc-error lock-denied" in str(caught.value)


async def test_private_key_login(netconfd: NetconfdServer) -> None:
    async with open_session(target(netconfd, key_file=str(netconfd.key_file))) as nc:
        reply = await nc.get(MONITORING)
    assert "sessions" in reply.xml


async def test_wrong_password_is_an_auth_error_naming_the_device(netconfd: NetconfdServer) -> None:
    error = await failure(target(netconfd, name="edge7", password="not-the-password"))
    assert error.kind is ErrorKind.AUTH
    assert "device edge7: SSH authentication as 'netwatt-nc' failed" in str(error)
    assert "not-the-password" not in str(error)


async def test_unknown_host_key_is_refused_with_its_fingerprint(netconfd: NetconfdServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    error = await failure(target(netconfd, name="new1", known_hosts=empty))
    presented = ssh_fingerprint(netconfd.host_key_file.with_suffix(".pub"))
    assert error.kind is ErrorKind.HOST_KEY
    assert f"device new1: unknown SSH host key {presented}" in str(error)
    assert "netwatt trust --device new1" in str(error)


async def test_missing_known_hosts_file_is_refused(netconfd: NetconfdServer, tmp_path: Path) -> None:
    error = await failure(target(netconfd, known_hosts=tmp_path / "absent"))
    assert error.kind is ErrorKind.HOST_KEY


async def test_changed_host_key_names_both_fingerprints(netconfd: NetconfdServer, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    ssh_keygen(other, "another host")
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{netconfd.host}]:{netconfd.port} {key_type} {key}\n")
    error = await failure(target(netconfd, name="core2", known_hosts=known))
    presented = ssh_fingerprint(netconfd.host_key_file.with_suffix(".pub"))
    recorded = ssh_fingerprint(other.with_suffix(".pub"))
    assert error.kind is ErrorKind.HOST_KEY
    assert "device core2" in str(error)
    assert "CHANGED" in str(error)
    assert presented in str(error)
    assert recorded in str(error)


async def test_pinned_fingerprint(netconfd: NetconfdServer, tmp_path: Path) -> None:
    presented = ssh_fingerprint(netconfd.host_key_file.with_suffix(".pub"))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    async with open_session(target(netconfd, known_hosts=empty, pinned=presented)) as nc:
        assert nc.capabilities
    wrong = "SHA256:" + "A" * 43
    error = await failure(target(netconfd, name="pin1", pinned=wrong))     # known_hosts has the key: the pin wins
    assert error.kind is ErrorKind.HOST_KEY
    assert presented in str(error)
    assert f"pinned {wrong}" in str(error)


async def test_connection_refused_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nc_target = NetconfTarget("gone1", "127.0.0.1", port, NetconfAuth("x", "y"), HostKeyCheck(), timeout_s=5)
    error = await failure(nc_target)
    assert error.kind is ErrorKind.UNREACHABLE
    assert f"device gone1: cannot reach 127.0.0.1:{port}" in str(error)


async def test_server_gone_mid_session(netconf_servers: NetconfServerPool) -> None:
    server = netconf_servers.netconfd()
    async with open_session(target(server, name="dying1", timeout_s=5)) as nc:
        await nc.get(MONITORING)
        server.stop_netconfd()
        started = time.monotonic()
        with pytest.raises(NetconfError) as caught:
            await nc.get(MONITORING)
    assert time.monotonic() - started < 5.5
    assert caught.value.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT)
    assert "device dying1" in str(caught.value)


async def test_slow_reply_past_the_deadline(netconf_servers: NetconfServerPool) -> None:
    slow = netconf_servers.canned(MINIMAL, delay_s=4.0)
    started = time.monotonic()
    error = await failure(target(slow, name="slow1", timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert error.kind is ErrorKind.TIMEOUT
    assert "device slow1: no answer from" in str(error)
    assert "within 1 s" in str(error)
    assert elapsed < 2.5, elapsed


class _SilentListener:
    """Accepts TCP connections and never says a word: an SSH server that hangs before its banner."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


async def test_hanging_device_delays_neither_others_nor_the_loop(netconf_servers: NetconfServerPool) -> None:
    good = netconf_servers.canned(MINIMAL)
    silent = _SilentListener()
    pool = NetconfPool(max_workers=2)
    hanging = NetconfTarget("hung1", "127.0.0.1", silent.port, NetconfAuth("x", "y"), HostKeyCheck(), timeout_s=3.0)
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - before - 0.05)

    async def poll(nc_target: NetconfTarget) -> tuple[str, float]:
        started = time.monotonic()
        try:
            async with open_session(nc_target, pool=pool) as nc:
                await nc.get('<components xmlns="http://openconfig.net/yang/platform"/>')
            return "ok", time.monotonic() - started
        except NetconfError as exc:
            return str(exc.kind), time.monotonic() - started

    tick = asyncio.create_task(ticker())
    try:
        (hung_outcome, hung_s), (good_outcome, good_s) = await asyncio.gather(
            poll(hanging), poll(target(good, name="fine1", timeout_s=3.0)))
    finally:
        tick.cancel()
        silent.close()
        pool.close()
    assert (hung_outcome, good_outcome) == ("timeout", "ok")
    assert good_s < 2.0, good_s                  # not behind the hung device's 3 s
    assert 2.9 < hung_s < 4.0, hung_s
    assert max(lags) < 0.5, max(lags)            # the event loop never waited on a socket


@pytest.mark.parametrize(("reply", "expected"), [
    ("billion_laughs.xml", "reply contains a <!DOCTYPE> declaration"),
    ("external_entity.xml", "reply contains a <!DOCTYPE> declaration"),
])
async def test_hostile_replies_are_refused(netconf_servers: NetconfServerPool, reply: str, expected: str) -> None:
    server = netconf_servers.canned(MINIMAL, raw_reply=HARNESS / "hostile" / reply)
    error = await failure(target(server, name="evil1"))
    assert error.kind is ErrorKind.PROTOCOL
    assert f"device evil1: {expected}" in str(error)
    assert "root:" not in str(error)


async def test_huge_reply_is_bounded(netconf_servers: NetconfServerPool) -> None:
    server = netconf_servers.canned(MINIMAL, huge_reply_bytes=4_000_000)
    error = await failure(target(server, name="big1", max_reply_bytes=1_000_000))
    # the cap, not the deadline or the end of the message, ended it
    assert error.kind is ErrorKind.PROTOCOL
    assert "device big1: reply exceeds the 1000000-byte limit" in str(error)


def test_safe_parser_refuses_declarations_and_size() -> None:
    laughs = (HARNESS / "hostile" / "billion_laughs.xml").read_text()
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse(laughs, max_bytes=1 << 20)
    with pytest.raises(UnsafeXml, match="ENTITY"):
        parse('<!ENTITY x "y"><a/>', max_bytes=1 << 20)
    with pytest.raises(UnsafeXml, match="exceeds the 10-byte limit"):
        parse("<a>0123456789</a>", max_bytes=10)
    assert parse("<a><b>1</b></a>", max_bytes=100).findtext("b") == "1"


async def test_waiting_for_a_pool_thread_is_not_the_devices_timeout(netconf_servers: NetconfServerPool) -> None:
    """One thread, three devices answering in 0.6 s with a 1.2 s deadline: the third waits ~1.4 s for
    the thread (our saturation), which must not turn into its timeout."""
    server = netconf_servers.canned(MINIMAL, delay_s=0.6)
    pool = NetconfPool(max_workers=1)

    async def poll(name: str) -> str:
        async with open_session(target(server, name=name, timeout_s=1.2), pool=pool) as nc:
            await nc.get('<components xmlns="http://openconfig.net/yang/platform"/>')
        return name

    started = time.monotonic()
    try:
        done = await asyncio.gather(*(poll(f"q{i}") for i in range(3)))
    finally:
        pool.close()
    assert done == ["q0", "q1", "q2"]
    assert time.monotonic() - started > 1.8          # they really queued behind each other


async def test_sessions_are_closed_whatever_happens(netconfd: NetconfdServer) -> None:
    """After an rpc-error, a caller's own exception and a refused request, netconfd lists no
    session of ours: the transport was closed in every case."""
    async def sessions() -> int:
        async with open_session(target(netconfd, name="counter")) as nc:
            reply = await nc.get(MONITORING)
        return reply.xml.count("<session-id>") - 1           # minus the counting session itself

    baseline = await sessions()
    with pytest.raises(NetconfError):
        async with open_session(target(netconfd)) as nc:
            await nc.edit_config(edit("bad", 101))
    with pytest.raises(RuntimeError, match="caller"):
        async with open_session(target(netconfd)) as nc:
            raise RuntimeError("the caller's own failure")
    with pytest.raises(NetconfError):
        async with open_session(target(netconfd)) as nc:
            await nc.edit_config("<not-a-config")
    deadline = time.monotonic() + 5
    while (left := await sessions()) > baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert left == baseline


def test_known_hosts_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    first, second = tmp_path / "k1", tmp_path / "k2"
    ssh_keygen(first, "first")
    ssh_keygen(second, "second")
    known = tmp_path / "known_hosts"

    def record(key: Path) -> None:
        key_type, body = key.with_suffix(".pub").read_text().split()[:2]
        record_host_key(str(known), "192.0.2.7", 830, PresentedKey(key_type, body, "unused"))

    def recorded() -> dict[str, str]:
        return known_fingerprints(str(known), "192.0.2.7", 830)

    record(first)
    assert recorded() == {"ssh-ed25519": ssh_fingerprint(first.with_suffix(".pub"))}
    assert known.read_text().startswith("[192.0.2.7]:830 ssh-ed25519 ")
    record(second)                       # replaces the entry of that type; the cache sees the change
    assert recorded() == {"ssh-ed25519": ssh_fingerprint(second.with_suffix(".pub"))}
    assert known.read_text().count("\n") == 1
    assert known_fingerprints(str(known), "192.0.2.8", 830) == {}


# libfaketime cannot fake the pool thread's timed hand-off (it never wakes 400 days ahead); no date logic here
@pytest.mark.real_clock
async def test_cancelled_poll_frees_its_thread_at_once(netconf_servers: NetconfServerPool) -> None:
    """A poll cancelled mid-connect (agent shutdown) tears its transport down: the only pool thread
    is free for the next device long before the cancelled one's 20 s deadline."""
    good = netconf_servers.canned(MINIMAL)
    silent = _SilentListener()
    pool = NetconfPool(max_workers=1)
    hanging = NetconfTarget("hung2", "127.0.0.1", silent.port, NetconfAuth("x", "y"), HostKeyCheck(), timeout_s=20)

    async def hang() -> None:
        async with open_session(hanging, pool=pool):
            pass

    try:
        task = asyncio.create_task(hang())
        await asyncio.sleep(0.5)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with open_session(target(good, name="next1", timeout_s=20), pool=pool) as nc:
            await nc.get('<components xmlns="http://openconfig.net/yang/platform"/>')
        assert time.monotonic() - started < 3
    finally:
        silent.close()
        pool.close()
