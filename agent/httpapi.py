"""A small local HTTP/1.1 server (asyncio, stdlib) that other parts of the agent register routes on.

It serves the agent's own endpoints (``/healthz``, ``/metrics``, the Wi-Fi API) to the host it runs
on, not the network: it refuses a non-loopback address unless the caller says so explicitly, and on
loopback it answers only requests whose ``Host`` is a loopback name (a browser page cannot reach it
through DNS rebinding). One request per connection (``Connection: close``); request line, headers
and body are bounded and every read and write has a deadline (the headers their own, shorter one), so
a slow or hostile client costs one connection slot and nothing else. When every slot is taken, a new
connection evicts the oldest one still waiting for its request (idle): idle sockets cannot lock out a
real request. Only when every slot is answering a request is a newcomer refused, with 503, a
``Retry-After`` and ``"overloaded": true`` (distinct from a 503 of ``/healthz`` meaning unhealthy).
Malformed input (a non-ASCII Content-Length, JSON nested beyond reason, a number too large) is 400.

    server = LocalHttpServer(port=9469)
    server.route("GET", "/healthz", healthz)
    server.route("POST", "/wifi/apply", apply, token=secret)   # ``Authorization: Bearer <token>``
    await server.start(); ...; await server.close()

A handler takes a ``Request`` and returns a ``Response`` (or an awaitable of one); raising
``HttpError`` answers with its status and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agent.errors import NetwattError
from agent.settings.address import is_loopback
from agent.settings.secrets import Secret

log = logging.getLogger("netwatt.http")

Handler = Callable[["Request"], "Response | Awaitable[Response]"]


class UnsafeBindError(NetwattError):
    """Asked to listen on an address other hosts can reach, without saying so explicitly."""


class HttpError(Exception):
    """Raised by a handler: answer with this status and a JSON ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str                                   # percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]                     # names lowercased; repeated headers joined with ", "
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter."""
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the client's error (400)."""
        try:
            return json.loads(self.body or b"null")
        except RecursionError:
            raise HttpError(400, "body is not usable JSON: nested too deeply") from None
        except ValueError as exc:        # not JSON, not UTF-8, or a number beyond Python's digit limit
            raise HttpError(400, f"body is not JSON: {str(exc)[:200]}") from None


@dataclass(frozen=True, slots=True)
class Response:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(status, json.dumps(data, indent=1, sort_keys=True) + "\n", "application/json", headers)

    def encoded(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    token: Secret | None


@dataclass(frozen=True, slots=True)
class Limits:
    max_request_line: int = 8 * 1024
    max_header_bytes: int = 32 * 1024           # request line included
    max_headers: int = 64
    max_body: int = 1024 * 1024
    max_connections: int = 32
    header_timeout_s: float = 5.0               # request line and headers must arrive within this
    read_timeout_s: float = 10.0                # the whole request must arrive within this
    handler_timeout_s: float = 60.0
    write_timeout_s: float = 10.0


def _host_name(host_header: str) -> str:
    """``127.0.0.1:9469`` -> ``127.0.0.1``; ``[::1]:9469`` -> ``::1``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


class _Reject(HttpError):
    """The server's own refusals (bad request, unknown route, no token), with their headers."""

    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(status, message)
        self.headers = headers


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    busy: bool = False          # its request has arrived and is being answered
    evicted: bool = False       # closed to make room for a newer connection: nothing to answer


class LocalHttpServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, allow_non_loopback: bool = False,
                 limits: Limits = Limits()) -> None:
        if not is_loopback(host) and not allow_non_loopback:
            raise UnsafeBindError(f"refusing to listen on {host}: not a loopback address "
                                  "(only the local host should reach the agent's HTTP endpoints)")
        self.host = host
        self._requested_port = port
        self._loopback_only = is_loopback(host)
        self.limits = limits
        self._routes: dict[str, dict[str, Route]] = {}
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}      # oldest first
        self.evicted = 0

    # -- routes ----------------------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Handler, *, token: Secret | None = None) -> None:
        """Serve ``method path`` with ``handler``; with ``token``, only to ``Authorization: Bearer <token>``."""
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        methods = self._routes.setdefault(path, {})
        if method.upper() in methods:
            raise ValueError(f"route {method.upper()} {path} is already registered")
        methods[method.upper()] = Route(handler, token)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = await asyncio.start_server(self._serve, self.host, self._requested_port,
                                                  limit=self.limits.max_header_bytes)
        log.info("local HTTP endpoints on http://%s:%d (%s)", self.host, self.port,
                 ", ".join(sorted(self._routes)))

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> LocalHttpServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- one connection --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = _Connection(writer)
        self._connections[task] = connection
        try:
            if len(self._connections) > self.limits.max_connections and not self._evict_idle(task):
                response = _error(503, "overloaded: every connection is answering a request; retry shortly",
                                  (("Retry-After", "1"),), overloaded=True)
            else:
                response = await self._respond(reader, connection)
            if not connection.evicted:
                await asyncio.wait_for(self._write(writer, response), self.limits.write_timeout_s)
        except (TimeoutError, ConnectionError):
            pass
        except asyncio.CancelledError:      # close(): a leaf task, ended quietly (asyncio would log it)
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _evict_idle(self, newcomer: asyncio.Task[Any]) -> bool:
        """Close the oldest connection still waiting for its request; False when every one is busy."""
        for task, connection in self._connections.items():
            if task is not newcomer and not connection.busy and not connection.evicted:
                connection.evicted = True
                connection.writer.transport.abort()       # its read ends at once; nothing is written back
                self._connections.pop(task)
                self.evicted += 1
                return True
        return False

    async def _respond(self, reader: asyncio.StreamReader, connection: _Connection) -> Response:
        try:
            request = await asyncio.wait_for(self._read(reader), self.limits.read_timeout_s)
        except _Reject as exc:
            return _error(exc.status, exc.message)
        except TimeoutError:
            return _error(408, "request not received in time")
        except (asyncio.IncompleteReadError, ConnectionError):
            return _error(400, "incomplete request")
        except (ValueError, UnicodeError):          # whatever else a malformed request trips over: 400
            return _error(400, "malformed request")
        connection.busy = True
        try:
            route = self._match(request)
            self._authorize(request, route)
            result = route.handler(request)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, self.limits.handler_timeout_s)
            return result
        except _Reject as exc:
            return _error(exc.status, exc.message, exc.headers)
        except HttpError as exc:
            return _error(exc.status, exc.message)
        except TimeoutError:
            log.error("%s %s: handler did not answer within %gs", request.method, request.path,
                      self.limits.handler_timeout_s)
            return _error(504, "handler timed out")
        except Exception:
            log.exception("%s %s: handler failed", request.method, request.path)
            return _error(500, "internal error (see the agent's log)")

    async def _read(self, reader: asyncio.StreamReader) -> Request:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.limits.header_timeout_s)
        except asyncio.LimitOverrunError:
            raise _Reject(431, "request header too large") from None
        except TimeoutError:
            raise _Reject(408, f"request headers not received within {self.limits.header_timeout_s:g}s") from None
        lines = head[:-4].decode("latin-1").split("\r\n")
        if len(lines[0]) > self.limits.max_request_line:
            raise _Reject(414, "request line too long")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Reject(400, "malformed request line")
        method, target, _version = parts
        if len(lines) - 1 > self.limits.max_headers:
            raise _Reject(431, "too many header fields")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _Reject(400, "malformed header field")
            key, value = name.lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "transfer-encoding" in headers:
            raise _Reject(501, "chunked request bodies are not supported; send Content-Length")
        body = await self._read_body(reader, headers.get("content-length", "0"))
        if not target.startswith("/"):
            raise _Reject(400, "request target must be a path")
        split = urlsplit(target)
        return Request(method.upper(), unquote(split.path), parse_qs(split.query, keep_blank_values=True),
                       headers, body)

    async def _read_body(self, reader: asyncio.StreamReader, length_text: str) -> bytes:
        if not (length_text.isascii() and length_text.isdigit()):       # "²".isdigit() is True
            raise _Reject(400, "bad Content-Length")
        length = int(length_text)
        if length > self.limits.max_body:
            raise _Reject(413, f"body larger than {self.limits.max_body} bytes")
        return await reader.readexactly(length) if length else b""

    def _match(self, request: Request) -> Route:
        if self._loopback_only and not is_loopback(_host_name(request.headers.get("host", ""))):
            raise _Reject(421, "Host must be a loopback name or address")
        methods = self._routes.get(request.path)
        if methods is None:
            raise _Reject(404, "not found")
        route = methods.get(request.method)
        if route is None:
            allowed = ", ".join(sorted(methods))
            raise _Reject(405, f"method not allowed (allowed: {allowed})", (("Allow", allowed),))
        return route

    @staticmethod
    def _authorize(request: Request, route: Route) -> None:
        if route.token is None:
            return
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        expected = route.token.reveal().encode("utf-8")
        given = presented.strip().encode("utf-8")
        # compare_digest on equal-length inputs is constant-time; a wrong scheme still does one compare.
        # An empty token (presented or expected) never matches: "Bearer " alone is no credential.
        if not hmac.compare_digest(given, expected) or scheme.lower() != "bearer" or not given or not expected:
            raise _Reject(401, "a valid bearer token is required", (("WWW-Authenticate", 'Bearer realm="netwatt"'),))

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response) -> None:
        body = response.encoded()
        reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {response.content_type}",
                f"Content-Length: {len(body)}", "Connection: close", "Cache-Control: no-store",
                "X-Content-Type-Options: nosniff"]
        head += [f"{name}: {value}" for name, value in response.headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()


def _error(status: int, message: str, headers: tuple[tuple[str, str], ...] = (), *,
           overloaded: bool = False) -> Response:
    return Response.json({"error": message, **({"overloaded": True} if overloaded else {})}, status, headers)
