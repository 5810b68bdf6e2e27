"""agent/httpapi.py over real sockets: http.client for well-formed requests, raw bytes for hostile ones."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import AsyncIterator

import pytest

from agent.httpapi import HttpError, Limits, LocalHttpServer, Request, Response, UnsafeBindError
from agent.settings.secrets import Secret

TOKEN = Secret("credential:api-token", "s3cr3t-token-value")


async def fetch(server: LocalHttpServer, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with the standard library's HTTP client, in a thread (a real, separate client)."""
    def run() -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(host or server.host, server.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            reply = conn.getresponse()
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
        finally:
            conn.close()
    return await asyncio.to_thread(run)


async def raw(server: LocalHttpServer, data: bytes, *, wait_s: float = 10.0) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), wait_s)
    finally:
        writer.close()


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


async def echo(request: Request) -> Response:
    return Response.json({"method": request.method, "path": request.path, "query": request.query,
                          "agent": request.headers.get("user-agent"), "x": request.headers.get("x-test"),
                          "body": request.json()})


@pytest.fixture
async def server() -> AsyncIterator[LocalHttpServer]:
    srv = LocalHttpServer(limits=Limits(max_body=1000, max_headers=10, read_timeout_s=0.5, handler_timeout_s=0.5,
                                        max_connections=3))
    srv.route("GET", "/echo", echo)
    srv.route("POST", "/echo", echo)
    srv.route("GET", "/plain", lambda _r: Response(200, "hello\n"))
    srv.route("POST", "/secret", lambda _r: Response(200, "granted"), token=TOKEN)

    def teapot(_r: Request) -> Response:
        raise HttpError(418, "short and stout")
    srv.route("GET", "/teapot", teapot)

    def boom(_r: Request) -> Response:
        raise ZeroDivisionError("division by zero")
    srv.route("GET", "/boom", boom)

    async def slow(_r: Request) -> Response:
        await asyncio.sleep(5)
        return Response(200, "late")
    srv.route("GET", "/slow", slow)
    await srv.start()
    yield srv
    await srv.close()


async def test_routes_answer_with_query_headers_and_json_body(server: LocalHttpServer) -> None:
    status, headers, body = await fetch(server, "POST", "/echo%20?a=1&a=2&b=&c=x%2Fy",
                                        body=b'{"k": [1, 2]}', headers={"X-Test": "yes"})
    assert status == 404                                 # "/echo " is not "/echo": the path is decoded
    status, headers, body = await fetch(server, "POST", "/echo?a=1&a=2&b=&c=x%2Fy",
                                        body=b'{"k": [1, 2]}', headers={"X-Test": "yes"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body) == {"method": "POST", "path": "/echo", "query": {"a": ["1", "2"], "b": [""], "c": ["x/y"]},
                                "agent": None, "x": "yes", "body": {"k": [1, 2]}}
    status, headers, body = await fetch(server, "GET", "/plain")
    assert (status, body, headers["content-type"]) == (200, b"hello\n", "text/plain; charset=utf-8")
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


async def test_unknown_path_wrong_method_bad_json(server: LocalHttpServer) -> None:
    status, _, body = await fetch(server, "GET", "/nope")
    assert status == 404
    assert json.loads(body) == {"error": "not found"}
    status, headers, _ = await fetch(server, "DELETE", "/echo")
    assert status == 405
    assert headers["allow"] == "GET, POST"
    status, _, body = await fetch(server, "POST", "/echo", body=b"{not json")
    assert status == 400
    assert b"body is not JSON" in body


async def test_bearer_token_required_and_never_echoed(server: LocalHttpServer) -> None:
    secret = TOKEN.reveal().encode()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN.reveal()}"},
                    {"Authorization": f"Bearer {TOKEN.reveal()}x"}):
        status, reply_headers, body = await fetch(server, "POST", "/secret", headers=headers)
        assert status == 401, headers
        assert reply_headers["www-authenticate"] == 'Bearer realm="netwatt"'
        assert secret not in body
        assert all(secret not in v.encode() for v in reply_headers.values())
    status, _, body = await fetch(server, "POST", "/secret", headers={"Authorization": f"Bearer {TOKEN.reveal()}"})
    assert (status, body) == (200, b"granted")
    status, _, body = await fetch(server, "POST", "/secret", headers={"Authorization": f"bearer  {TOKEN.reveal()}"})
    assert status == 200


async def test_handler_errors(server: LocalHttpServer, caplog: pytest.LogCaptureFixture) -> None:
    status, _, body = await fetch(server, "GET", "/teapot")
    assert status == 418
    assert json.loads(body) == {"error": "short and stout"}
    status, _, body = await fetch(server, "GET", "/boom")
    assert status == 500
    assert b"ZeroDivision" not in body
    assert "GET /boom: handler failed" in caplog.text
    assert "ZeroDivisionError" in caplog.text
    started = time.monotonic()
    status, _, _ = await fetch(server, "GET", "/slow")
    assert status == 504
    assert time.monotonic() - started < 3


async def test_host_header_must_be_loopback(server: LocalHttpServer) -> None:
    # a page on evil.example rebinding its name to 127.0.0.1 still sends its own Host
    status, _, _ = await fetch(server, "GET", "/plain", headers={"Host": "evil.example"})
    assert status == 421
    for host in (f"localhost:{server.port}", "127.0.0.1", f"[::1]:{server.port}"):
        status, _, _ = await fetch(server, "GET", "/plain", headers={"Host": host})
        assert status == 200, host
    reply = await raw(server, b"GET /plain HTTP/1.1\r\n\r\n")
    assert status_of(reply) == 421                                     # no Host at all


@pytest.mark.parametrize(("request_bytes", "expected"), [
    (b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: b\r\n" * 11 + b"\r\n", 431),
    (b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
    (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1001\r\n\r\n" + b"x" * 1001, 413),
    (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
    (b"GET /plain\r\nHost: 127.0.0.1\r\n\r\n", 400),
    (b"GET http://127.0.0.1/plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
    (b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n", 400),
])
async def test_bounded_and_malformed_requests(server: LocalHttpServer, request_bytes: bytes, expected: int) -> None:
    assert status_of(await raw(server, request_bytes)) == expected


async def test_slow_client_times_out_and_others_are_served(server: LocalHttpServer) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n")          # never finishes its headers
    await writer.drain()
    status, _, _ = await fetch(server, "GET", "/plain")                   # served meanwhile
    assert status == 200
    reply = await asyncio.wait_for(reader.read(), 3)
    assert status_of(reply) == 408
    writer.close()
    # a truncated body (Content-Length larger than what arrives) also ends at the deadline
    reply = await raw(server, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc", wait_s=3)
    assert status_of(reply) == 408


async def test_connection_limit_evicts_the_oldest_idle_and_says_overloaded(server: LocalHttpServer) -> None:
    idle = [await asyncio.open_connection(server.host, server.port) for _ in range(3)]
    await asyncio.sleep(0.05)
    status, _, _ = await fetch(server, "GET", "/plain")                   # room made: the oldest idle one goes
    assert status == 200
    assert server.evicted >= 1
    assert await asyncio.wait_for(idle[0][0].read(), 3) == b""            # closed without an answer
    for _, writer in idle:
        writer.close()
    await asyncio.sleep(0.1)
    # every slot answering a request: a newcomer is told "overloaded", distinct from "unhealthy"
    busy = [asyncio.create_task(raw(server, b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", wait_s=3))
            for _ in range(3)]
    await asyncio.sleep(0.1)
    reply = await raw(server, b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status_of(reply) == 503
    assert b"Retry-After: 1" in reply
    assert b'"overloaded": true' in reply
    await asyncio.gather(*busy)


async def test_malformed_input_is_400_never_a_traceback(server: LocalHttpServer,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    reply = await raw(server, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \xb2\r\n\r\n")
    assert status_of(reply) == 400
    assert b"bad Content-Length" in reply
    deep = b"[" * 100_000 + b"]" * 100_000
    srv = LocalHttpServer(limits=Limits(max_body=300_000))
    srv.route("POST", "/echo", echo)
    async with srv:
        reply = await raw(srv, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(deep)
                          + deep, wait_s=5)
        assert status_of(reply) == 400
        assert b"nested too deeply" in reply
        huge = b'{"n": ' + b"9" * 5000 + b"}"
        reply = await raw(srv, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(huge)
                          + huge, wait_s=5)
        assert status_of(reply) == 400
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_close_ends_open_connections_promptly() -> None:
    srv = LocalHttpServer(limits=Limits(read_timeout_s=30))
    srv.route("GET", "/plain", lambda _r: Response(200, "x"))
    await srv.start()
    port = srv.port
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /pl")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await srv.close()
    assert time.monotonic() - started < 2
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    writer.close()


async def test_refuses_non_loopback_unless_explicit() -> None:
    with pytest.raises(UnsafeBindError, match=r"0\.0\.0\.0: not a loopback address"):
        LocalHttpServer("0.0.0.0")
    with pytest.raises(UnsafeBindError):
        LocalHttpServer("192.0.2.1")
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.53"):
        LocalHttpServer(host)
    srv = LocalHttpServer("0.0.0.0", allow_non_loopback=True)
    srv.route("GET", "/plain", lambda _r: Response(200, "x"))
    async with srv:
        # bound to every address, so the Host check is off: the operator chose this exposure
        status, _, _ = await fetch(srv, "GET", "/plain", host="127.0.0.1", headers={"Host": "agent.example"})
        assert status == 200


def test_route_registration_errors() -> None:
    srv = LocalHttpServer()
    srv.route("GET", "/a", lambda _r: Response())
    with pytest.raises(ValueError, match="already registered"):
        srv.route("get", "/a", lambda _r: Response())
    with pytest.raises(ValueError, match="must start with '/'"):
        srv.route("GET", "a", lambda _r: Response())
    with pytest.raises(RuntimeError, match="not started"):
        _ = srv.port



async def test_headers_have_their_own_deadline() -> None:
    srv = LocalHttpServer(limits=Limits(header_timeout_s=0.3, read_timeout_s=10))
    srv.route("GET", "/plain", lambda _r: Response(200, "hello\n"))
    async with srv:
        started = time.monotonic()
        reply = await raw(srv, b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n", wait_s=5)   # headers never end
        assert status_of(reply) == 408
        assert b"request headers not received within 0.3s" in reply
        assert time.monotonic() - started < 3
