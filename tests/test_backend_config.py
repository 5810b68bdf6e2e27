"""Choosing the SNMP read backend in the config, and seeing which one answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigError
from agent.lab import SnmpsimProcess, lab_config_text
from tests.agent_process import netwatt

BASE = "version: 1\ncredentials:\n  c: {version: 2c, community: 'plain:x'}\n"


def test_agent_default_and_device_override_reach_the_target() -> None:
    config = load_config_text(
        BASE + "agent:\n  snmp_backend: pysnmp\ndevices:\n  - {name: a, address: 10.0.0.1, credential: c}\n"
        "  - {name: b, address: 10.0.0.2, credential: c, snmp_backend: gufo}\n", environ={})
    assert config.agent.snmp_backend == "pysnmp"
    assert [config.snmp_target(d).backend for d in config.devices.values()] == ["pysnmp", "gufo"]
    default = load_config_text(BASE + "devices:\n  - {name: a, address: 10.0.0.1, credential: c}\n", environ={})
    assert default.snmp_target(default.devices["a"]).backend == "auto"


@pytest.mark.parametrize(("text", "where"), [
    ("agent:\n  snmp_backend: rust\ndevices: []\n", "cfg.yaml:5: agent.snmp_backend: 'rust' is not one of"),
    ("devices:\n  - {name: a, address: 10.0.0.1, credential: c, snmp_backend: net-snmp}\n",
     "cfg.yaml:5: devices[0].snmp_backend: 'net-snmp' is not one of: auto, gufo, pysnmp"),
])
def test_an_unknown_backend_is_an_error_naming_file_line_and_key(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config_text(BASE + text, file="cfg.yaml", environ={})
    assert where in str(error.value)


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["gufo", "pysnmp"])
def test_discover_says_which_backend_answered(lab: SnmpsimProcess, tmp_path: Path,
                                              backend: str) -> None:
    config = tmp_path / "netwatt.yaml"
    text = lab_config_text(lab, state_directory=tmp_path / "state", interval_s=1)
    config.write_text(text.replace("agent:\n", f"agent:\n  snmp_backend: {backend}\n", 1))
    device = lab.communities[0]
    shown = netwatt("discover", "-d", device, "-c", str(config), "--format", "json")
    assert json.loads(shown.stdout)["backend"] == backend, shown.stderr
    table = netwatt("discover", "-d", device, "-c", str(config))
    assert f"backend: {backend}" in table.stdout.splitlines()[0]
