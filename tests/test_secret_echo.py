"""A secret is never echoed back: an InfluxDB-v1-like server answers 401 repeating the request's
Authorization header (in its JSON body, JSON-escaped, and in a header); `netwatt run` must not let the
Basic base64, the password or any part of them into its log, the SQLite store, `status`, or /healthz."""

from __future__ import annotations

import base64
import json
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from agent.lab import SnmpsimProcess, lab_config_text
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness.ports import free_tcp_port

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-pass?>"          # its Basic base64 holds a "/", which JSON may escape as "\/"
BASIC = base64.b64encode(f"nw:{PASSWORD}".encode()).decode()


class Echo(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        authorization = self.headers.get("Authorization", "")
        Echo.seen.append(authorization)
        padding = "x" * 252            # the echo falls across the message limit: a cut must not leak a half
        body = json.dumps({"error": f"authorization failed {padding} for {authorization!r}",
                           "escaped": authorization.replace("/", "\\/")}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Influxdb-Error", f"bad credentials {authorization}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def healthz(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())
    except urllib.error.URLError:
        return ""


def leaks(text: str) -> list[str]:
    pieces = [BASIC, BASIC.replace("/", "\\/"), PASSWORD, BASIC[:12], BASIC[-12:]]
    return [p for p in pieces if p in text]


def test_an_echoed_basic_credential_is_never_repeated(lab: SnmpsimProcess, echo: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_tcp_port()
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    text = text.replace("agent:\n", f"agent:\n  http: {{listen: '127.0.0.1:{port}'}}\n", 1)
    config = tmp_path / "netwatt.yaml"
    config.write_text(text + f"outputs:\n  - {{type: influxdb_v1, url: '{echo}', database: netwatt, username: nw, "
                             "password: 'env:INFLUX_PASSWORD'}\n")
    env = {"INFLUX_PASSWORD": PASSWORD}
    log = tmp_path / "agent.log"
    agent = start_agent(config, log, env)
    try:
        wait_for(lambda: "HTTP 401" in healthz(port), 60, "the refusal in /healthz")
        assert f"Basic {BASIC}" in Echo.seen            # the server did see (and echo) the credential
        health = healthz(port)
        status = netwatt("status", "-c", str(config), "--format", "json", env=env)
        assert status.returncode == 0, status.stderr
        assert "authorization failed" in status.stdout
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    assert "authorization failed" in log.read_text()
    assert leaks(log.read_text()) == []
    assert leaks(health) == []
    assert leaks(status.stdout) == []
    for path in state.iterdir():                    # the database, its WAL and anything else kept there
        assert leaks(path.read_bytes().decode("latin-1")) == [], path.name
