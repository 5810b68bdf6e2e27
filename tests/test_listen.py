"""One parser for every ``listen`` key: ``agent.http.listen`` and ``wifi.api.listen`` accept the same
addresses (IPv6 in brackets with its port) and refuse the same ones (a port outside 1..65535, an IPv6
address without brackets), each refusal naming file, line and key."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigError
from agent.httpapi import LocalHttpServer, Response

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
ENV = {"NETWATT_WLC_COMMUNITY": "x", "NETWATT_WIFI_TOKEN": "k7Qz-9wXv-3mPa-8rTe"}
WIFI_LINE = 77                      # the api: line of velodrome.yaml


def http_config(listen: str) -> str:
    return f"version: 1\nagent:\n  interval: 10s\n  http: {{listen: '{listen}'}}\n"


def wifi_config(listen: str) -> str:
    text = EXAMPLE.read_text()
    assert 'api: {listen: "127.0.0.1:8470"' in text
    return text.replace('api: {listen: "127.0.0.1:8470"', f'api: {{listen: "{listen}"')


def listen_of(key: str, listen: str) -> tuple[str, int]:
    if key == "agent.http.listen":
        http = load_config_text(http_config(listen), file="n.yaml", environ={}).agent.http
        assert http is not None
        return http.host, http.port
    wifi = load_config_text(wifi_config(listen), file="n.yaml", environ=ENV).wifi
    assert wifi is not None
    return wifi.api.host, wifi.api.port


KEYS = [("agent.http.listen", 4), ("wifi.api.listen", WIFI_LINE)]


@pytest.mark.parametrize(("key", "line"), KEYS)
def test_both_listen_keys_accept_bracketed_ipv6_with_its_port(key: str, line: int) -> None:
    assert listen_of(key, "[::1]:8470") == ("::1", 8470)
    assert listen_of(key, "127.0.0.1:65535") == ("127.0.0.1", 65535)
    assert listen_of(key, "localhost:9000") == ("localhost", 9000)


@pytest.mark.parametrize(("key", "line"), KEYS)
@pytest.mark.parametrize(("listen", "message"), [
    ("127.0.0.1:99999", "'127.0.0.1:99999': port 99999 is out of range (1..65535)"),
    ("127.0.0.1:0", "'127.0.0.1:0': port 0 is out of range (1..65535)"),
    ("127.0.0.1:http", "'127.0.0.1:http': port must be a number from 1 to 65535"),
    ("::1:8470", "'::1:8470': an IPv6 address with its port goes in brackets (e.g. [::1]:8470)"),
    ("[127.0.0.1]:8470", "'[127.0.0.1]:8470': only an IPv6 address goes in [brackets]"),
    ("8470", "'8470' is not host:port"),
    ("[::1]", "'[::1]' is not host:port"),
])
def test_both_listen_keys_refuse_the_same_addresses(key: str, line: int, listen: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        listen_of(key, listen)
    assert f"n.yaml:{line}: {key}: {message}" in str(caught.value)


@pytest.mark.parametrize(("key", "line"), KEYS)
def test_a_non_loopback_listen_is_refused_by_both(key: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        listen_of(key, "192.0.2.1:8470")
    assert f"n.yaml:{line}: {key}: 192.0.2.1 is not a loopback address" in str(caught.value)


def _free_ipv6_loopback_port() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_wifi_api_listens_where_the_config_says_on_ipv6_loopback() -> None:
    port = _free_ipv6_loopback_port()
    host, parsed_port = listen_of("wifi.api.listen", f"[::1]:{port}")

    async def scenario() -> None:
        server = LocalHttpServer(host, parsed_port)
        server.route("GET", "/ping", lambda _r: Response(200, "pong"))
        async with server:
            assert server.port == port
            url = f"http://[::1]:{port}/ping"
            with await asyncio.to_thread(urllib.request.urlopen, url, timeout=10) as response:
                assert response.status == 200
                assert b"pong" in response.read()

    asyncio.run(scenario())
