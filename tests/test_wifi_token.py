"""Tokens are secrets: the Wi-Fi API's bearer token is a secret reference resolving to >= 16 characters;
an empty, short or plain: token is a check-config error, and the server never accepts an empty bearer."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigError
from agent.httpapi import LocalHttpServer, Response
from agent.settings.secrets import Secret
from tests.agent_process import netwatt

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
GOOD = "k7Qz-9wXv-3mPa-8rTe"


def with_token(reference: str) -> str:
    return EXAMPLE.read_text().replace("token: env:NETWATT_WIFI_TOKEN", f"token: {reference!r}")


@pytest.mark.parametrize(("reference", "env", "message"), [
    ("env:TOKEN", {"TOKEN": ""}, "env:TOKEN resolves to 0 characters; a bearer token needs at least 16"),
    ("env:TOKEN", {"TOKEN": "abcde"}, "env:TOKEN resolves to 5 characters"),
    (f"plain:{GOOD}", {}, "give a secret reference (env:NAME, file:PATH or credential:NAME)"),
    (GOOD, {}, "never the token itself nor plain:"),
])
def test_weak_tokens_are_config_errors(reference: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config_text(with_token(reference), file="velodrome.yaml", environ={"NETWATT_WLC_COMMUNITY": "x", **env})
    text = str(error.value)
    assert message in text
    assert "wifi.api.token" in text
    assert "abcde" not in text                # the value is never echoed
    assert GOOD not in text


def test_check_config_refuses_an_empty_token_and_accepts_a_real_one(tmp_path: Path) -> None:
    path = tmp_path / "velodrome.yaml"
    path.write_text(EXAMPLE.read_text())
    empty = netwatt("check-config", "-c", str(path), env={"NETWATT_WLC_COMMUNITY": "x", "NETWATT_WIFI_TOKEN": ""})
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert "resolves to 0 characters" in empty.stderr
    assert "Traceback" not in empty.stderr
    token_file = tmp_path / "token"
    token_file.write_text(GOOD + "\n")
    path.write_text(with_token(f"file:{token_file}"))
    ok = netwatt("check-config", "-c", str(path), env={"NETWATT_WLC_COMMUNITY": "x"})
    assert ok.returncode == 0, ok.stderr


def test_an_empty_bearer_is_never_accepted() -> None:
    def get(url: str, authorization: str) -> int:
        request = urllib.request.Request(url, headers={"Authorization": authorization})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    async def scenario() -> None:
        server = LocalHttpServer("127.0.0.1", 0)
        server.route("GET", "/empty", lambda _r: Response(200, "switched"), token=Secret("env:X", ""))
        server.route("GET", "/real", lambda _r: Response(200, "switched"), token=Secret("env:Y", GOOD))
        async with server:
            for authorization in ("Bearer ", "Bearer", "bearer  ", ""):
                assert await asyncio.to_thread(get, f"{server.url}/empty", authorization) == 401
                assert await asyncio.to_thread(get, f"{server.url}/real", authorization) == 401
            assert await asyncio.to_thread(get, f"{server.url}/real", f"Bearer {GOOD}") == 200

    asyncio.run(scenario())
