"""`agent.http`: off by default, loopback only unless explicit, errors name file, line and key."""

from __future__ import annotations

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigError
from agent.settings.http import HttpSettings

BASE = "version: 1\nagent:\n  interval: 10s\n"


def agent_http(text: str) -> HttpSettings | None:
    return load_config_text(BASE + text, file="n.yaml", environ={}).agent.http


def test_off_by_default_and_defaults_when_present() -> None:
    assert agent_http("") is None
    assert agent_http("  http: {}\n") == HttpSettings("127.0.0.1", 9469)
    assert agent_http("  http: {listen: '[::1]:9000'}\n") == HttpSettings("::1", 9000)
    assert agent_http("  http: {listen: 'localhost:9000'}\n") == HttpSettings("localhost", 9000)


def test_state_directory_follows_systemd() -> None:
    config = load_config_text(BASE, file="n.yaml", environ={"STATE_DIRECTORY": "/var/lib/netwatt/shard-2-4"})
    assert config.agent.state_directory == "/var/lib/netwatt/shard-2-4"
    assert load_config_text(BASE, file="n.yaml", environ={}).agent.state_directory == "/var/lib/netwatt"


@pytest.mark.parametrize(("text", "message"), [
    ("  http: {listen: '0.0.0.0:9469'}\n", "n.yaml:4: agent.http.listen: 0.0.0.0 is not a loopback address"),
    ("  http: {listen: '9469'}\n", "n.yaml:4: agent.http.listen: '9469' is not host:port"),
    ("  http: {listen: '127.0.0.1:99999'}\n", "n.yaml:4: agent.http.listen: '127.0.0.1:99999': port 99999 is out"),
    ("  http: {listen: '127.0.0.1:80', bind: x}\n", "n.yaml:4: agent.http.bind: unknown key"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        agent_http(text)
    assert message in str(caught.value)


def test_non_loopback_on_purpose() -> None:
    assert agent_http("  http: {listen: '0.0.0.0:9469', allow_non_loopback: true}\n") == HttpSettings(
        "0.0.0.0", 9469, True)
