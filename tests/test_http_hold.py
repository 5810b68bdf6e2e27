"""The HTTP servers hold: `netwatt run`'s /healthz answers 200 with 200 idle TCP connections open, and
the Wi-Fi API answers 400 (never 500) to a 400-digit `for` and to JSON nested 100k deep."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agent.httpapi import LocalHttpServer
from agent.lab import SnmpsimProcess, lab_config_text
from agent.wifi.api import add_routes
from tests import test_wifi_snmp
from tests.agent_process import start_agent, wait_for
from tests.harness.ports import free_tcp_port
from tests.harness.snmpd import NetSnmpd
from tests.test_wifi_snmp import ENV, Clock, close, service, venue_config
from tests.wifi_venue import Venue

venue = test_wifi_snmp.venue            # the snmpd venue fixture


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return 0


@pytest.mark.integration
def test_healthz_is_served_with_200_idle_connections_open(lab: SnmpsimProcess, tmp_path: Path) -> None:
    port = free_tcp_port()
    text = lab_config_text(lab, state_directory=tmp_path / "state", interval_s=1)
    config = tmp_path / "netwatt.yaml"
    config.write_text(text.replace("agent:\n", f"agent:\n  http: {{listen: '127.0.0.1:{port}'}}\n", 1))
    agent = start_agent(config, tmp_path / "agent.log")
    idle: list[socket.socket] = []
    try:
        wait_for(lambda: healthz(port) == 200, 60, "a healthy agent")
        for _ in range(200):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        for _ in range(5):
            assert healthz(port) == 200
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        for sock in idle:
            sock.close()
        if agent.poll() is None:
            agent.kill()
    assert "Traceback" not in (tmp_path / "agent.log").read_text()


def test_wifi_api_bad_numbers_and_deep_json_are_400(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    _v, server = venue
    token = ENV["NETWATT_WIFI_TOKEN"]

    def post(url: str, data: bytes) -> tuple[int, str]:
        request = urllib.request.Request(url, data=data, method="POST", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    async def scenario() -> None:
        from datetime import UTC, datetime  # noqa: PLC0415
        svc, store, reader = service(venue_config(server, tmp_path / "state"), Clock(datetime(2026, 11, 2, 9,
                                                                                              tzinfo=UTC)))
        http = LocalHttpServer("127.0.0.1", 0)
        add_routes(http, svc)
        await http.start()
        try:
            url = f"{http.url}/wifi/off"
            for body in (json.dumps({"group": "bowl", "for": "9" * 400}).encode(),
                         b'{"group": "bowl", "for": ' + b"9" * 400 + b"}",
                         b'{"group": "bowl", "for": 1e400}',
                         b"[" * 100_000 + b"]" * 100_000):
                status, text = await asyncio.to_thread(post, url, body)
                assert status == 400, text
            assert svc.store.requests(svc.clock()) == []          # nothing recorded
        finally:
            await http.close()
            await close(svc, store, reader)

    asyncio.run(scenario())
    assert not [r for r in caplog.records if r.exc_info]
