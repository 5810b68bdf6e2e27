"""Recorded replies of outside web APIs, served by a real HTTP server on 127.0.0.1.

Routes map a path (query string ignored; a trailing '*' matches any rest) to (status, body); every
request is kept (path, query, headers) so a test can check what was sent. Unknown paths answer 404.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "grid_factors"


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class RecordedApi:
    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def reply(self, path: str, status: int, body: str) -> None:
        self.routes[path] = (status, body)

    def reply_file(self, path: str, fixture: str, status: int = 200) -> None:
        self.reply(path, status, (FIXTURES / fixture).read_text(encoding="utf-8"))

    def route(self, path: str) -> tuple[int, str]:
        """The exact path's reply, else the longest route ending in '*' that prefixes it, else 404."""
        if path in self.routes:
            return self.routes[path]
        prefixes = sorted((r for r in self.routes if r.endswith("*") and path.startswith(r[:-1])), key=len)
        return self.routes[prefixes[-1]] if prefixes else (404, '{"error": {"code": "404", "message": "no route"}}')

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RecordedApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                api.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers.items())))
                status, body = api.route(parts.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
