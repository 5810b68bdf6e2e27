"""The InfluxDB outputs against a real InfluxDB 1.6 (Debian's influxd) and a contract shim.

- v1: straight to the real influxd (and once through the shim's 1.x pass-through, to see the request).
- v2: the real ``influxdb-client`` code -> ``tests/harness/influx_v2_shim.py`` (/api/v2/write contract)
  -> the real influxd.
- v3: urllib3 -> the shim's /api/v3/write_lp contract -> the real influxd. These are contract tests:
  the shim checks the documented request shape; it is not an InfluxDB 2.x or 3.x.

Points are compared one by one after an InfluxQL read-back: measurement, tags, fields, timestamp (s).
"""

from __future__ import annotations

import gzip
import itertools
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from agent.errors import ConfigError
from agent.outputs.base import Outcome, Output, Verdict
from agent.outputs.http import parse_retry_after, server_message
from agent.outputs.influxdb import build_output
from agent.settings.config import AgentSettings, OutputSpec
from agent.settings.secrets import Secret
from tests.harness.influx_v2_shim import InfluxShim
from tests.harness.influxd import InfluxServer, InfluxServerPool

pytestmark = pytest.mark.integration

AGENT = AgentSettings(metric_batch_size=3)
TOKEN = "tok-" + "7f3a9c1e5b2d4086"
ORG = "netwatt-org"
BUCKET = "netwatt"

POINTS = [
    "device_power,basis=psu_input,device=core-1,method=measured,model=ASR-9901,role=router,site=paris,"
    "vendor=cisco watts=495.39 1795341600",
    "component_power,component=0/PT0-PM0,device=core-1,kind=psu_input,method=measured,site=paris,source=snmp"
    " watts=251.48 1795341600",
    "component_power,component=0/PT0-PM1,device=core-1,kind=psu_input,method=measured,site=paris,source=snmp"
    " watts=243.91 1795341600",
    "device_power,basis=psu_input,device=core-1,method=measured,site=paris watts=250.25 1795341660",
    "device_power,basis=chassis,device=sw-7,method=measured,role=switch,site=lyon,vendor=hpe watts=99.45 "
    "1795341600",
]
BAD = "device_power,basis=psu_input,device=core-2,method=measured,site=paris watts= 1795341600"
_db_numbers = itertools.count(1)


# --- helpers ----------------------------------------------------------------------------------------------


def secret(value: str, name: str = "NETWATT_TEST_SECRET") -> Secret:
    return Secret(f"env:{name}", value)


def spec(kind: str, **settings: Any) -> OutputSpec:
    return OutputSpec(kind, settings)


@asynccontextmanager
async def opened(output_spec: OutputSpec, agent: AgentSettings = AGENT) -> AsyncIterator[Output]:
    output = build_output(output_spec, agent)
    try:
        yield output
    finally:
        await output.close()


async def write_all(output: Output, lines: list[str]) -> list[Outcome]:
    """As the forwarder would: batches of at most output.batch_size lines."""
    return [await output.write(lines[i:i + output.batch_size]) for i in range(0, len(lines), output.batch_size)]


Point = tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, float], ...], int]


def parse_point(line: str) -> Point:
    """Our test lines only: no escapes, float fields, a timestamp in seconds."""
    series, fields, stamp = line.split(" ")
    measurement, *tags = series.split(",")
    tag_pairs = tuple(sorted(tuple(t.split("=", 1)) for t in tags))
    field_pairs = tuple(sorted((k, float(v)) for k, v in (f.split("=", 1) for f in fields.split(","))))
    return measurement, tag_pairs, field_pairs, int(stamp)  # type: ignore[return-value]


def stored(server: InfluxServer, db: str) -> set[Point]:
    points: set[Point] = set()
    for row in server.query("SELECT * FROM /.*/ GROUP BY *", db):
        # GROUP BY * over several measurements lists every tag key; "" means "not on this series".
        tags = tuple(sorted((k, v) for k, v in row["tags"].items() if v != ""))
        fields = tuple(sorted((k, float(v)) for k, v in row.items()
                              if k not in ("name", "tags", "time") and v is not None))
        points.add((row["name"], tags, fields, int(row["time"])))
    return points


def expected(lines: list[str]) -> set[Point]:
    return {parse_point(line) for line in lines}


def new_db(server: InfluxServer) -> str:
    name = f"netwatt_{next(_db_numbers)}"
    server.create_database(name)
    return name


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def influxd(influxd_factory: InfluxServerPool) -> InfluxServer:
    server = influxd_factory()
    server.create_database(BUCKET)
    return server


@pytest.fixture(scope="module")
def influxd_auth(influxd_factory: InfluxServerPool) -> InfluxServer:
    server = influxd_factory(auth_enabled=True)
    server.create_database("netwatt")
    server.create_user("reader", "reader-pass-1", read_on="netwatt")
    return server


@pytest.fixture
def shim(influxd: InfluxServer) -> Iterator[InfluxShim]:
    with InfluxShim(influxd.url, token=TOKEN, orgs=[ORG], buckets=[BUCKET]) as running:
        yield running


@pytest.fixture
def v2_db(influxd: InfluxServer) -> Iterator[str]:
    """The shim's bucket, emptied before and after the test."""
    influxd.drop_database(BUCKET)
    influxd.create_database(BUCKET)
    yield BUCKET
    influxd.drop_database(BUCKET)
    influxd.create_database(BUCKET)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a hung server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


# --- InfluxDB 1.x -----------------------------------------------------------------------------------------


async def test_v1_gzip_batches_read_back_point_for_point(influxd: InfluxServer) -> None:
    db = new_db(influxd)
    async with opened(spec("influxdb_v1", url=influxd.url, database=db)) as output:
        assert output.batch_size == 3
        outcomes = await write_all(output, POINTS)
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED, Verdict.ACCEPTED]
    assert {o.status for o in outcomes} == {204}
    assert stored(influxd, db) == expected(POINTS)


async def test_v1_request_shape_gzip_and_basic_auth(influxd_auth: InfluxServer) -> None:
    """Through the shim's 1.x pass-through: what goes on the wire, and that the real 1.x accepts it."""
    with InfluxShim(influxd_auth.url) as passthrough:
        settings = {"url": passthrough.url, "database": "netwatt", "retention_policy": "autogen",
                    "username": influxd_auth.admin_user, "password": secret(influxd_auth.admin_password)}
        async with opened(spec("influxdb_v1", **settings)) as output:
            outcome = await output.write(POINTS[:2])
        (request,) = passthrough.requests
    assert outcome.verdict is Verdict.ACCEPTED, outcome
    assert (request.method, request.path) == ("POST", "/write")
    assert request.params == {"db": "netwatt", "rp": "autogen", "precision": "s"}
    assert request.content_encoding == "gzip"
    assert request.raw_body[:2] == b"\x1f\x8b"
    assert gzip.decompress(request.raw_body) == ("\n".join(POINTS[:2]) + "\n").encode()
    assert request.auth_scheme == "Basic"
    assert expected(POINTS[:2]) <= stored(influxd_auth, "netwatt")


async def test_v1_identity_encoding_sends_plain_text(influxd: InfluxServer) -> None:
    db = new_db(influxd)
    with InfluxShim(influxd.url) as passthrough:
        async with opened(spec("influxdb_v1", url=passthrough.url, database=db,
                               content_encoding="identity")) as output:
            outcome = await output.write(POINTS)
        (request,) = passthrough.requests
    assert outcome.verdict is Verdict.ACCEPTED
    assert request.content_encoding == ""
    assert request.raw_body == ("\n".join(POINTS) + "\n").encode()
    assert stored(influxd, db) == expected(POINTS)


async def test_v1_bad_line_rejected_but_influx_1x_keeps_the_valid_lines(influxd: InfluxServer) -> None:
    """InfluxDB 1.x has no all-or-nothing write: 400 "partial write: unable to parse ..." and the
    valid lines of the same batch ARE stored. The batch is REJECTED (set aside): resending it would
    only rewrite the same points."""
    db = new_db(influxd)
    async with opened(spec("influxdb_v1", url=influxd.url, database=db)) as output:
        outcome = await output.write([POINTS[0], BAD, POINTS[3]])
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.status == 400
    assert "partial write: unable to parse" in outcome.message
    assert "missing field value" in outcome.message
    assert BAD in outcome.message
    assert "any valid lines of the batch were stored" in outcome.message
    assert stored(influxd, db) == expected([POINTS[0], POINTS[3]])


async def test_v1_field_type_conflict_rejected(influxd: InfluxServer) -> None:
    db = new_db(influxd)
    conflict = 'device_power,device=core-1,site=paris watts="n/a" 1795341720'
    async with opened(spec("influxdb_v1", url=influxd.url, database=db)) as output:
        assert (await output.write([POINTS[0]])).verdict is Verdict.ACCEPTED
        outcome = await output.write([conflict, POINTS[3]])
    assert outcome.verdict is Verdict.REJECTED
    assert "field type conflict" in outcome.message
    assert stored(influxd, db) == expected([POINTS[0], POINTS[3]])  # again: the valid line is kept


async def test_v1_all_lines_bad_rejected_nothing_stored(influxd: InfluxServer) -> None:
    db = new_db(influxd)
    async with opened(spec("influxdb_v1", url=influxd.url, database=db)) as output:
        outcome = await output.write([BAD])
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.message.endswith("(HTTP 400: unable to parse '" + BAD + "': missing field value)")
    assert stored(influxd, db) == set()


async def test_v1_wrong_password_refused_without_the_password(influxd_auth: InfluxServer) -> None:
    wrong = "Wr0ng-Passw0rd-d41d8cd9"
    settings = {"url": influxd_auth.url, "database": "netwatt", "username": influxd_auth.admin_user,
                "password": secret(wrong)}
    async with opened(spec("influxdb_v1", **settings)) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 401
    assert "authorization failed" in outcome.message
    assert "check username and password" in outcome.message
    assert influxd_auth.url in outcome.message
    assert "'netwatt'" in outcome.message
    assert wrong not in outcome.message
    assert wrong not in repr(outcome)
    assert influxd_auth.admin_password not in outcome.message


async def test_v1_auth_enabled_without_credentials_refused(influxd_auth: InfluxServer) -> None:
    async with opened(spec("influxdb_v1", url=influxd_auth.url, database="netwatt")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 401
    assert "unable to parse authentication credentials" in outcome.message
    assert "set username and password" in outcome.message


async def test_v1_user_without_write_privilege_refused_403(influxd_auth: InfluxServer) -> None:
    settings = {"url": influxd_auth.url, "database": "netwatt", "username": "reader",
                "password": secret("reader-pass-1")}
    async with opened(spec("influxdb_v1", **settings)) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 403
    assert '"reader" user is not authorized to write to database "netwatt"' in outcome.message
    assert "reader-pass-1" not in outcome.message


async def test_v1_unknown_database_refused_404(influxd: InfluxServer) -> None:
    async with opened(spec("influxdb_v1", url=influxd.url, database="no_such_db")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 404
    assert 'database not found: "no_such_db"' in outcome.message
    assert "CREATE DATABASE" in outcome.message


async def test_v1_unknown_retention_policy_refused_not_retried(influxd: InfluxServer) -> None:
    """1.6 answers 500 "retention policy not found": a config error, so REFUSED rather than RETRY."""
    db = new_db(influxd)
    async with opened(spec("influxdb_v1", url=influxd.url, database=db, retention_policy="weekly")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 500
    assert "retention policy not found: weekly" in outcome.message


async def test_v1_body_over_max_body_size_rejected_413(influxd_factory: InfluxServerPool) -> None:
    """1.6 checks max-body-size against the body as sent: the same batch gzip'd fits, plain it does not."""
    server = influxd_factory(max_body_size=1000)
    lines = [f"device_power,basis=psu_input,device=edge-{i},method=measured,site=paris watts={i}.5 1795341600"
             for i in range(40)]
    try:
        server.create_database("netwatt")
        async with opened(spec("influxdb_v1", url=server.url, database="netwatt", content_encoding="identity",
                               metric_batch_size=100)) as output:
            too_large = await output.write(lines)
        assert too_large.verdict is Verdict.REJECTED
        assert too_large.status == 413
        assert "Request Entity Too Large" in too_large.message
        assert "lower metric_batch_size" in too_large.message
        assert stored(server, "netwatt") == set()
        async with opened(spec("influxdb_v1", url=server.url, database="netwatt", metric_batch_size=100)) as output:
            assert (await output.write(lines)).verdict is Verdict.ACCEPTED
        assert stored(server, "netwatt") == {parse_point(line) for line in lines}
    finally:
        server.close()


async def test_v1_stopped_server_retry_then_restart_keeps_data(influxd_factory: InfluxServerPool) -> None:
    server = influxd_factory()
    try:
        server.create_database("netwatt")
        async with opened(spec("influxdb_v1", url=server.url, database="netwatt", timeout="2s")) as output:
            assert (await output.write(POINTS[:2])).verdict is Verdict.ACCEPTED
            server.stop()
            down = await output.write(POINTS[2:4])
            assert down.verdict is Verdict.RETRY
            assert down.status is None
            assert down.retry_after_s is None
            assert "cannot connect (Connection refused)" in down.message
            assert server.url in down.message
            server.start()
            assert server.running()
            again = await output.write(POINTS[2:4])  # the same pool, new connection
        assert again.verdict is Verdict.ACCEPTED
        assert stored(server, "netwatt") == expected(POINTS[:4])
    finally:
        server.close()


async def test_v1_hung_server_times_out_retry(silent_server: str) -> None:
    async with opened(spec("influxdb_v1", url=silent_server, database="netwatt", timeout="300ms")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.RETRY
    assert "no answer within 0.3 s" in outcome.message


async def test_v1_unresolvable_host_retry() -> None:
    async with opened(spec("influxdb_v1", url="http://netwatt-no-such-host.invalid:8086",
                           database="netwatt")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.RETRY
    assert "cannot resolve the host name" in outcome.message


# --- InfluxDB 2.x (influxdb-client -> shim -> influxd) ------------------------------------------------------


def v2_spec(url: str, **extra: Any) -> OutputSpec:
    settings = {"url": url, "org": ORG, "bucket": BUCKET, "token": secret(TOKEN)} | extra
    return spec("influxdb_v2", **settings)


async def test_v2_points_arrive_gzip_through_influxdb_client(shim: InfluxShim, influxd: InfluxServer,
                                                             v2_db: str) -> None:
    async with opened(v2_spec(shim.url)) as output:
        outcomes = await write_all(output, POINTS)
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED, Verdict.ACCEPTED]
    assert stored(influxd, v2_db) == expected(POINTS)
    first, second = shim.requests
    for request in (first, second):
        assert (request.method, request.path, request.status) == ("POST", "/api/v2/write", 204)
        assert request.params == {"org": ORG, "bucket": BUCKET, "precision": "s"}
        assert request.content_encoding == "gzip"
        assert request.raw_body[:2] == b"\x1f\x8b"
        assert request.headers["authorization"] == f"Token {TOKEN}"
    assert first.body == ("\n".join(POINTS[:3]) + "\n").encode()


async def test_v2_identity_encoding(shim: InfluxShim, influxd: InfluxServer, v2_db: str) -> None:
    async with opened(v2_spec(shim.url, content_encoding="identity")) as output:
        outcome = await output.write(POINTS[:2])
    assert outcome.verdict is Verdict.ACCEPTED
    (request,) = shim.requests
    assert request.content_encoding == ""
    assert request.raw_body == ("\n".join(POINTS[:2]) + "\n").encode()
    assert stored(influxd, v2_db) == expected(POINTS[:2])


async def test_v2_wrong_token_refused(shim: InfluxShim) -> None:
    wrong = "tok-wrong-3b9e0c51"
    async with opened(v2_spec(shim.url, token=secret(wrong))) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 401
    assert "unauthorized access" in outcome.message
    assert "check token" in outcome.message
    assert wrong not in outcome.message
    assert TOKEN not in outcome.message


@pytest.mark.parametrize(("org", "bucket", "missing"), [
    (ORG, "no-such-bucket", 'bucket "no-such-bucket" not found'),
    ("no-such-org", BUCKET, 'organization name "no-such-org" not found'),
])
async def test_v2_unknown_bucket_or_org_refused(shim: InfluxShim, org: str, bucket: str, missing: str) -> None:
    async with opened(v2_spec(shim.url, org=org, bucket=bucket)) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 404
    assert missing in outcome.message
    assert f"org {org!r}" in outcome.message
    assert f"bucket {bucket!r}" in outcome.message


@pytest.mark.parametrize("status", [503, 429])
async def test_v2_busy_retry_after(shim: InfluxShim, influxd: InfluxServer, v2_db: str, status: int) -> None:
    shim.fail_next(1, status=status, retry_after="1")
    async with opened(v2_spec(shim.url)) as output:
        busy = await output.write(POINTS[:2])
        again = await output.write(POINTS[:2])
    assert busy.verdict is Verdict.RETRY
    assert busy.status == status
    assert busy.retry_after_s == 1
    assert again.verdict is Verdict.ACCEPTED
    assert stored(influxd, v2_db) == expected(POINTS[:2])


async def test_v2_bad_line_rejected_with_the_servers_message(shim: InfluxShim, v2_db: str) -> None:
    async with opened(v2_spec(shim.url)) as output:
        outcome = await output.write([POINTS[0], BAD])
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.status == 400
    assert f"unable to parse '{BAD}': missing field value" in outcome.message


async def test_v2_upstream_down_is_retry(influxd_factory: InfluxServerPool) -> None:
    server = influxd_factory()
    try:
        server.create_database(BUCKET)
        with InfluxShim(server.url, token=TOKEN, orgs=[ORG], buckets=[BUCKET]) as front:
            server.stop()
            async with opened(v2_spec(front.url)) as output:
                outcome = await output.write(POINTS[:1])
        assert outcome.verdict is Verdict.RETRY
        assert outcome.status == 503
    finally:
        server.close()


async def test_v2_connection_refused_retry() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with opened(v2_spec(url)) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.RETRY
    assert "Connection refused" in outcome.message


async def test_v2_hung_server_times_out_retry(silent_server: str) -> None:
    async with opened(v2_spec(silent_server, timeout="300ms")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.RETRY
    assert "no answer within 0.3 s" in outcome.message


# --- InfluxDB 3.x (contract: urllib3 -> shim /api/v3/write_lp -> influxd) -----------------------------------


def v3_spec(url: str, database: str, **extra: Any) -> OutputSpec:
    settings = {"url": url, "database": database, "token": secret(TOKEN)} | extra
    return spec("influxdb_v3", **settings)


async def test_v3_request_shape_and_points_arrive(shim: InfluxShim, influxd: InfluxServer) -> None:
    db = f"netwatt_v3_{next(_db_numbers)}"  # created by the write, as 3.x does
    async with opened(v3_spec(shim.url, db)) as output:
        outcomes = await write_all(output, POINTS)
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED, Verdict.ACCEPTED]
    for request in shim.requests:
        assert (request.method, request.path, request.status) == ("POST", "/api/v3/write_lp", 204)
        assert request.params == {"db": db, "precision": "second", "accept_partial": "false"}
        assert request.auth_scheme == "Bearer"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.content_encoding == "gzip"
        assert request.body.endswith(b"\n")
    assert stored(influxd, db) == expected(POINTS)


async def test_v3_bad_line_rejects_the_whole_batch(shim: InfluxShim, influxd: InfluxServer) -> None:
    db = f"netwatt_v3_{next(_db_numbers)}"
    async with opened(v3_spec(shim.url, db)) as output:
        outcome = await output.write([POINTS[0], BAD, POINTS[3]])
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.status == 400
    assert "parsing failed for write_lp endpoint" in outcome.message
    assert "line 2: missing field value" in outcome.message
    assert stored(influxd, db) == set()  # accept_partial=false: nothing of the batch


async def test_v3_wrong_token_refused(shim: InfluxShim) -> None:
    wrong = "tok-wrong-v3-0a1b2c"
    async with opened(v3_spec(shim.url, "netwatt", token=secret(wrong))) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.status == 401
    assert wrong not in outcome.message
    assert "check the token" in outcome.message


async def test_v3_busy_retry_after_http_date(shim: InfluxShim) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    shim.fail_next(1, status=503, retry_after=when)
    async with opened(v3_spec(shim.url, "netwatt")) as output:
        outcome = await output.write(POINTS[:1])
    assert outcome.verdict is Verdict.RETRY
    assert outcome.retry_after_s is not None
    assert 25 <= outcome.retry_after_s <= 30


# --- settings and pure mapping --------------------------------------------------------------------------------


async def test_settings_defaults_and_names() -> None:
    agent = AgentSettings(metric_batch_size=5000)
    async with opened(spec("influxdb_v3", url="http://influx3.example", database="netwatt"), agent) as v3:
        assert v3.batch_size == 5000
        assert v3.name == "influxdb_v3:netwatt@influx3.example:8181"
    async with opened(v2_spec("https://influx.example:8086/", metric_batch_size=500, timeout=2.5), agent) as v2:
        assert v2.batch_size == 500
        assert v2.name == f"influxdb_v2:{ORG}/{BUCKET}@influx.example:8086"
    async with opened(spec("influxdb_v1", url="http://influx.example:8086", database="netwatt",
                           retention_policy="autogen"), agent) as v1:
        assert v1.name == "influxdb_v1:netwatt/autogen@influx.example:8086"
        assert await v1.write([]) == Outcome(Verdict.ACCEPTED, "nothing to write")  # no request
    with pytest.raises(RuntimeError, match="write after close"):
        await v1.write(POINTS[:1])


@pytest.mark.parametrize(("settings", "complaint"), [
    ({"type": "influxdb_v1", "url": "http://h:8086"}, "database is required"),
    ({"type": "influxdb_v1", "url": "ftp://h", "database": "d"}, "must start with http:// or https://"),
    ({"type": "influxdb_v1", "url": "http://h", "database": "d", "content_encoding": "br"}, "content_encoding"),
    ({"type": "influxdb_v1", "url": "http://h", "database": "d", "timeout": "soon"}, "not a duration"),
    ({"type": "influxdb_v1", "url": "http://h", "database": "d", "metric_batch_size": 0}, "metric_batch_size"),
    ({"type": "influxdb_v1", "url": "http://h", "database": "d", "username": "u"}, "needs a password"),
    ({"type": "influxdb_v2", "url": "http://h", "org": "o", "bucket": "b"}, "token is required"),
    ({"type": "influxdb_v2", "url": "http://h", "bucket": "b", "token": Secret("env:T", "x")}, "org is required"),
    ({"type": "influxdb_v3", "url": "http://h?db=x", "database": "d"}, "query string"),
    ({"type": "sqlite"}, "not an InfluxDB output"),
])
def test_unusable_specs_are_config_errors(settings: dict[str, Any], complaint: str) -> None:
    kind = settings.pop("type")
    with pytest.raises(ConfigError, match=complaint):
        build_output(OutputSpec(kind, settings), AGENT)


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        build_output(spec("influxdb_v1", url="http://admin:Sup3rS3cret@h:8086", database="d"), AGENT)
    assert "must not carry credentials" in str(info.value)
    assert "Sup3rS3cret" not in str(info.value)


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now=now.timestamp()) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now=now.timestamp()) == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_server_messages_of_each_flavour_are_truncated() -> None:
    assert server_message(b'{"error":"database not found: \\"x\\""}') == 'database not found: "x"'
    assert server_message(b'{"code":"invalid","message":"bad line"}') == "bad line"
    v3 = (b'{"error":"parsing failed for write_lp endpoint","data":{"original_line":"m v= 1",'
          b'"line_number":2,"error_message":"No fields were provided"}}')
    assert server_message(v3) == "parsing failed for write_lp endpoint; line 2: No fields were provided ('m v= 1')"
    assert server_message(b"", {"X-Influxdb-Error": "timeout"}) == "timeout"
    long = server_message(b'{"error":"' + b"x" * 1000 + b'"}')
    assert len(long) == 300
    assert long.endswith("...")
