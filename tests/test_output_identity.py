"""Outputs have identities: a spool cursor belongs to one output, so two outputs that would share one
(the same InfluxDB url and database, other credentials) are a config error, in check-config and at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.daemon import build_outputs
from agent.errors import ConfigError
from tests.agent_process import netwatt
from tests.harness.influxd import InfluxServerPool


def outputs(url: str, second_db: str = "netwatt") -> str:
    return f"""version: 1
outputs:
  - {{type: influxdb_v1, url: "{url}", database: netwatt, username: writer, password: "env:GOOD"}}
  - {{type: influxdb_v1, url: "{url}/", database: {second_db}, username: other, password: "env:BAD"}}
"""


def test_two_outputs_on_one_destination_are_a_config_error(influxd_factory: InfluxServerPool,
                                                           tmp_path: Path) -> None:
    influx = influxd_factory()
    env = {"GOOD": "good-password", "BAD": "bad-password"}
    config = load_config_text(outputs(influx.url), file="netwatt.yaml", environ=env)
    with pytest.raises(ConfigError) as error:
        build_outputs(config)
    text = str(error.value)
    assert "netwatt.yaml:4" in text
    assert "outputs[1].url" in text
    assert "where outputs[0] (line 3) already writes" in text
    assert "bad-password" not in text
    path = tmp_path / "netwatt.yaml"
    path.write_text(outputs(influx.url))
    checked = netwatt("check-config", "-c", str(path), env=env)
    assert checked.returncode == 2
    assert "one output per destination" in checked.stderr
    assert "Traceback" not in checked.stderr
    # another database on the same server is another destination, with its own cursor
    path.write_text(outputs(influx.url, second_db="archive"))
    assert netwatt("check-config", "-c", str(path), env=env).returncode == 0
    names = [o.name for o in build_outputs(load_config_text(outputs(influx.url, "archive"), environ=env))]
    assert len(set(names)) == 2
