"""A contract shim: the documented InfluxDB 2.x and 3.x write APIs in front of a real InfluxDB 1.x.

This is a **contract test** server, not InfluxDB 2.x or 3.x: it checks every request against the
documented write contract, records it, and stores the points in the real 1.x server behind it so a
test can read them back with InfluxQL. What it implements:

``POST /api/v2/write`` (docs.influxdata.com/influxdb/v2/api/write/, .../write-data/troubleshoot/)
    ``org`` (or ``orgID``) and ``bucket`` required, ``precision`` ns|us|ms|s (default ns);
    ``Authorization: Token <token>``, wrong or missing -> 401 ``{"code":"unauthorized",...}``;
    unknown org or bucket -> 404 ``{"code":"not found",...}``; ``Content-Encoding: gzip`` decoded;
    forwarded to 1.x ``/write?db=<bucket>``; a 1.x 400 -> 400 ``{"code":"invalid","message":...}``
    (1.x's partial-write semantics stay: its valid lines are stored), 1.x unreachable -> 503.
``POST /api/v3/write_lp`` (docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/)
    ``db`` required, ``precision`` auto|nanosecond|microsecond|millisecond|second (default auto,
    decided here from the first timestamp's magnitude), ``accept_partial`` true|false (default true),
    ``no_sync`` accepted; ``Authorization: Bearer <token>`` (``Token`` also accepted, as 3.x does);
    databases are created on first write (3.x is schema-on-write). With ``accept_partial=false`` the
    batch is first written to a throw-away 1.x database: a line that does not parse rejects the
    whole batch, 400 ``{"error":"parsing failed for write_lp endpoint","data":{original_line,
    line_number,error_message}}``, nothing stored. (A field-type conflict with data already stored
    is only seen by the real write, where 1.x keeps the valid lines: a limit of this shim.) With
    ``accept_partial=true`` a bad line gives 400 ``{"error":"partial write of line protocol
    occurred","data":[...]}`` and the valid lines are stored.
``POST /write``, ``GET /ping``
    1.x passed through unchanged (headers, gzip body and all), so a 1.x client's request can be
    recorded too.

Faults: ``fail_next(n, status=503, retry_after="1")`` answers the next n ``/api/v2/write`` or
``/api/v3/write_lp`` requests with that status (JSON body, ``Retry-After`` header) before looking at them.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from .ports import LOOPBACK
from .server import Startable

V2_PRECISIONS = {"ns": "ns", "us": "u", "ms": "ms", "s": "s"}
V3_PRECISIONS = {"nanosecond": "ns", "microsecond": "u", "millisecond": "ms", "second": "s"}
_UNPARSABLE = re.compile(r"unable to parse '(.*?)': (.*?)(?=\nunable to parse '|\s*dropped=\d+$|$)", re.S)


@dataclass(frozen=True, slots=True)
class ShimRequest:
    """One request as the shim saw it; ``body`` is after gzip decoding, ``raw_body`` as sent."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]          # lower-case names
    raw_body: bytes
    body: bytes
    status: int = 0                  # what the shim answered

    @property
    def content_encoding(self) -> str:
        return self.headers.get("content-encoding", "")

    @property
    def auth_scheme(self) -> str:
        return self.headers.get("authorization", "").partition(" ")[0]


@dataclass(slots=True)
class _Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


class InfluxShim(Startable):
    """Serves on 127.0.0.1:<free port> from a thread; forwards to the 1.x at ``upstream_url``."""

    def __init__(
        self,
        upstream_url: str,
        *,
        token: str = "netwatt-test-token",
        orgs: Iterable[str] = ("netwatt-org",),
        buckets: Iterable[str] = ("netwatt",),
        upstream_auth: tuple[str, str] | None = None,
    ) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.token = token
        self.orgs = set(orgs)
        self.buckets = set(buckets)
        self.upstream_auth = upstream_auth
        self._requests: list[ShimRequest] = []
        self._lock = threading.Lock()
        self._faults: list[tuple[int, str | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._scratch = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def requests(self) -> list[ShimRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = "1") -> None:
        with self._lock:
            self._faults.extend([(status, retry_after)] * count)

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        shim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer, body = shim._handle(self.command, split.path, params, headers, raw)
                with shim._lock:
                    shim._requests.append(ShimRequest(self.command, split.path, params, headers, raw, body,
                                                      answer.status))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.body:
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="influx-shim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None



    # --- dispatch -----------------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                raw: bytes) -> tuple[_Answer, bytes]:
        if path in ("/write", "/ping"):
            return self._passthrough(method, path, params, headers, raw), raw
        if path not in ("/api/v2/write", "/api/v3/write_lp"):
            return _json(404, {"code": "not found", "message": "path not found"}), raw
        if method != "POST":
            return _json(405, {"code": "method not allowed", "message": f"{method} not allowed"}), raw
        fault = self._next_fault()
        if fault is not None:
            status, retry_after = fault
            extra = {"Retry-After": retry_after} if retry_after is not None else {}
            code = "too many requests" if status == 429 else "unavailable"
            return _json(status, {"code": code, "message": "fault injected by the test shim"}, extra), raw
        v2 = path == "/api/v2/write"
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding == "gzip":
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                return self._invalid(v2, f"gzip body does not decode: {exc}"), raw
        elif encoding in ("", "identity"):
            body = raw
        else:
            return _json(415, {"code": "unsupported media type", "message": f"encoding {encoding}"}), raw
        answer = self._v2(params, headers, body) if v2 else self._v3(params, headers, body)
        return answer, body

    def _next_fault(self) -> tuple[int, str | None] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    @staticmethod
    def _invalid(v2: bool, message: str) -> _Answer:
        return _json(400, {"code": "invalid", "message": message} if v2 else {"error": message})

    def _token_ok(self, headers: dict[str, str], schemes: tuple[str, ...]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return scheme in schemes and value == self.token

    # --- /api/v2/write --------------------------------------------------------------------------------

    def _v2(self, params: dict[str, str], headers: dict[str, str], body: bytes) -> _Answer:
        if not self._token_ok(headers, ("Token",)):
            return _json(401, {"code": "unauthorized", "message": "unauthorized access"})
        org = params.get("org") or params.get("orgID")
        if not org:
            return _json(400, {"code": "invalid", "message": "Please provide either orgID or org"})
        if org not in self.orgs:
            return _json(404, {"code": "not found", "message": f'organization name "{org}" not found'})
        bucket = params.get("bucket", "")
        if not bucket:
            return _json(400, {"code": "invalid", "message": "Please provide bucket"})
        if bucket not in self.buckets:
            return _json(404, {"code": "not found", "message": f'bucket "{bucket}" not found'})
        precision = params.get("precision", "ns")
        if precision not in V2_PRECISIONS:
            return _json(400, {"code": "invalid", "message": f'invalid precision "{precision}"'})
        status, message = self._forward(bucket, V2_PRECISIONS[precision], body)
        if status == 204:
            return _Answer(204)
        if status == 400:
            return _json(400, {"code": "invalid", "message": message})
        if status == 404:
            return _json(404, {"code": "not found", "message": f'bucket "{bucket}" not found'})
        if status == 413:
            return _json(413, {"code": "request too large", "message": message})
        if status in (401, 403):
            return _json(500, {"code": "internal error", "message": f"shim upstream refused: {message}"})
        return _json(503, {"code": "unavailable", "message": message})

    # --- /api/v3/write_lp -----------------------------------------------------------------------------

    def _v3(self, params: dict[str, str], headers: dict[str, str], body: bytes) -> _Answer:
        if not self._token_ok(headers, ("Bearer", "Token")):
            return _json(401, {"error": "unauthorized access"})
        db = params.get("db", "")
        if not db:
            return _Answer(400, b"missing query parameters")
        precision = params.get("precision", "auto")
        if precision != "auto" and precision not in V3_PRECISIONS:
            return _Answer(400, f"invalid precision {precision!r}".encode())
        partial = params.get("accept_partial", "true")
        if partial not in ("true", "false"):
            return _Answer(400, f"invalid accept_partial {partial!r}".encode())
        lines = body.decode("utf-8", "replace").splitlines()
        upstream_precision = _auto_precision(lines) if precision == "auto" else V3_PRECISIONS[precision]
        status, message = self._query(f'CREATE DATABASE "{db}"')  # schema-on-write
        if status != 200:
            return _json(503, {"error": f"shim upstream: {message}"})
        if partial == "false":
            status, message = self._check_in_scratch(upstream_precision, body)
            if status == 400:
                errors = _line_errors(message, lines)
                return _json(400, {"error": "parsing failed for write_lp endpoint",
                                   "data": errors[0] if errors else {"error_message": message}})
            if status != 204:
                return _json(503, {"error": f"shim upstream: {message}"})
        status, message = self._forward(db, upstream_precision, body)
        if status == 204:
            return _Answer(204)
        if status == 400:
            return _json(400, {"error": "partial write of line protocol occurred",
                               "data": _line_errors(message, lines) or [{"error_message": message}]})
        return _json(503 if status != 413 else 413, {"error": message})

    def _check_in_scratch(self, precision: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            self._scratch += 1
            scratch = f"_shim_check_{self.port}_{self._scratch}"
        self._query(f'CREATE DATABASE "{scratch}"')
        try:
            return self._forward(scratch, precision, body)
        finally:
            self._query(f'DROP DATABASE "{scratch}"')

    # --- upstream 1.x -----------------------------------------------------------------------------------

    def _upstream(self, method: str, path: str, params: dict[str, str], body: bytes | None,
                  headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        url = f"{self.upstream_url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        if self.upstream_auth is not None and "authorization" not in {k.lower() for k in headers}:
            pair = ":".join(self.upstream_auth).encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers.items()), exc.read()
        except OSError as exc:
            return 0, {}, f"upstream unreachable: {exc}".encode()

    def _forward(self, db: str, precision: str, body: bytes) -> tuple[int, str]:
        status, _, raw = self._upstream("POST", "/write", {"db": db, "precision": precision}, body,
                                        {"Content-Type": "text/plain; charset=utf-8"})
        return status, _error_text(raw)

    def _query(self, influxql: str) -> tuple[int, str]:
        form = urllib.parse.urlencode({"q": influxql}).encode()
        status, _, raw = self._upstream("POST", "/query", {}, form,
                                        {"Content-Type": "application/x-www-form-urlencoded"})
        return status, _error_text(raw)

    def _passthrough(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                     raw: bytes) -> _Answer:
        keep = {k: v for k, v in headers.items()
                if k in ("authorization", "content-encoding", "content-type", "user-agent")}
        status, answer_headers, body = self._upstream(method, path, params, raw if method == "POST" else None,
                                                      keep)
        if status == 0:
            return _Answer(502, body)
        keep_back = {k: v for k, v in answer_headers.items()
                     if k.lower() in ("content-type", "x-influxdb-error", "x-influxdb-version",
                                      "www-authenticate", "retry-after")}
        return _Answer(status, body, keep_back)


def _error_text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    return str(data.get("error", text)) if isinstance(data, dict) else text.strip()


def _line_errors(message: str, lines: list[str]) -> list[dict[str, Any]]:
    """1.x's "unable to parse '<line>': <reason>" items as 3.x's {original_line, line_number, error_message}."""
    errors: list[dict[str, Any]] = []
    for match in _UNPARSABLE.finditer(message):
        original, reason = match.group(1), match.group(2).strip()
        number = next((i for i, line in enumerate(lines, 1) if line == original), 0)
        errors.append({"original_line": original, "line_number": number, "error_message": reason})
    return errors


def _auto_precision(lines: list[str]) -> str:
    """3.x's precision=auto, decided on the first timestamp: <5e9 s, <5e12 ms, <5e15 us, else ns."""
    for line in lines:
        parts = line.rsplit(" ", 2)
        if line.strip() and not line.startswith("#") and len(parts) == 3 and parts[2].lstrip("-").isdigit():
            stamp = abs(int(parts[2]))
            if stamp < 5e9:
                return "s"
            if stamp < 5e12:
                return "ms"
            return "u" if stamp < 5e15 else "ns"
    return "ns"
