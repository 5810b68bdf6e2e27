"""Exit codes and output hygiene, as a user meets them: run --once against an InfluxDB that refuses the
write, bad report arguments, an empty report period, a closed pipe, and device text with escape sequences."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from agent.lab import SnmpsimProcess, lab_config_text, lab_dir
from agent.logs import TextFormatter
from tests.agent_process import ROOT, netwatt
from tests.harness.influxd import InfluxServer, InfluxServerPool

pytestmark = pytest.mark.integration
ESCAPES = "Eth\x1b[2J\x1b]0;pwned\x07\u202e1"


@pytest.fixture(scope="module")
def influxd(influxd_factory: InfluxServerPool) -> InfluxServer:
    server = influxd_factory()
    server.create_database("netwatt_ok")
    return server


def lab_with_output(lab: SnmpsimProcess, state: Path, influxd: InfluxServer, database: str) -> Path:
    path = state / "netwatt.yaml"
    path.write_text(lab_config_text(lab, state_directory=state)
                    + f"outputs:\n  - {{type: influxdb_v1, url: '{influxd.url}', database: {database}, timeout: 5s}}\n")
    return path


def test_run_once_exits_1_when_influxdb_refuses_the_write_and_the_points_stay(
        lab: SnmpsimProcess, influxd: InfluxServer, tmp_path: Path) -> None:
    config = lab_with_output(lab, tmp_path, influxd, "no_such_database")
    once = netwatt("run", "--once", "-c", str(config))
    assert once.returncode == 1, once.stderr
    said = [line for line in once.stderr.splitlines() if line.startswith("netwatt: output ")]
    assert len(said) == 1, once.stderr
    assert "did not accept its points" in said[0]
    assert "points stay in the spool for the next run" in said[0]
    assert 'database not found: \\"no_such_database\\"' in said[0] or "no_such_database" in said[0]
    status = json.loads(netwatt("status", "-c", str(config), "--format", "json").stdout)
    [output] = status["outputs"]
    assert output["pending"] > 0
    assert output["written"] == 0
    assert all(d["error_streak"] == 0 for d in status["devices"])          # the polls themselves were fine
    assert f"{output['pending']} points stay in the spool" in said[0]


def test_run_once_exits_0_when_influxdb_takes_every_point(
        lab: SnmpsimProcess, influxd: InfluxServer, tmp_path: Path) -> None:
    config = lab_with_output(lab, tmp_path, influxd, "netwatt_ok")
    once = netwatt("run", "--once", "-c", str(config))
    assert once.returncode == 0, once.stderr
    assert "did not accept" not in once.stderr
    [output] = json.loads(netwatt("status", "-c", str(config), "--format", "json").stdout)["outputs"]
    assert output["pending"] == 0
    assert output["written"] > 0
    assert influxd.query('SELECT count("watts") FROM "device_power"', db="netwatt_ok")


def store_only(tmp_path: Path) -> Path:
    path = tmp_path / "netwatt.yaml"
    path.write_text(f"version: 1\nagent: {{state_directory: '{tmp_path}'}}\n")
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-13-01"], "'2026-13-01' is not a date (YYYY-MM-DD)"),
    (["--from", "yesterday"], "'yesterday' is not a date"),
    (["--from", "2026-01-02", "--to", "2026-01-01"], "--to must be after --from"),
    (["--from", "2026-01-01", "--timezone", "Mars/Olympus"], "'Mars/Olympus' is not an IANA time zone"),
])
def test_bad_report_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = netwatt("report", "-c", str(store_only(tmp_path)), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_report_over_an_empty_period_says_no_data(tmp_path: Path) -> None:
    config = store_only(tmp_path)
    table = netwatt("report", "-c", str(config), "--from", "2026-01-01", "--to", "2026-01-08")
    assert table.returncode == 0, table.stderr
    assert "No data: the store holds no energy interval in this period" in table.stdout
    assert "None" not in table.stdout
    as_json = json.loads(netwatt("report", "-c", str(config), "--from", "2026-01-01", "--to", "2026-01-08",
                                 "--format", "json").stdout)
    assert as_json["sections"]["summary"]["data"]["no_data"] is True
    assert as_json["sections"]["summary"]["data"]["coverage_pct"] is None


def closed_pipe(*args: str) -> tuple[int, str]:
    """Run netwatt with its stdout's reader gone before it writes (like `| head` that already stopped)."""
    process = subprocess.Popen([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    return process.wait(timeout=120), stderr


@pytest.mark.parametrize("command", [
    ["status", "--format", "json"], ["status"], ["check-config", "--show"], ["factors", "zones"], ["version"],
    ["report", "--from", "2026-01-01", "--to", "2026-01-02"], ["print-sample-config"],
    ["discover", "--walk", str(lab_dir() / "arista_7050.snmprec")],
])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, command: list[str]) -> None:
    args = [*command, "-c", str(store_only(tmp_path))] if command[0] in ("status", "check-config", "report") \
        else command
    code, stderr = closed_pipe(*args)
    assert stderr == ""                   # no BrokenPipeError traceback, no "Exception ignored" line
    assert code == 141


def test_device_text_with_escape_sequences_is_shown_escaped(tmp_path: Path) -> None:
    walk = tmp_path / "hostile.snmprec"
    original = (lab_dir() / "arista_7050.snmprec").read_text()
    name_line = "1.3.6.1.2.1.47.1.1.1.1.7.100300100|4|Ethernet1"
    assert name_line in original
    walk.write_text(original.replace(name_line, "1.3.6.1.2.1.47.1.1.1.1.7.100300100|4x|"
                                     + ESCAPES.encode().hex()))
    result = netwatt("discover", "--walk", str(walk))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "Eth\\x1b[2J\\x1b]0;pwned\\x07\\u202e1" in result.stdout
    as_json = json.loads(netwatt("discover", "--walk", str(walk), "--format", "json").stdout)
    assert ESCAPES in {r["component"] for r in as_json["readings"]}      # data stays exact where it is data


def test_text_logs_escape_device_text_but_keep_tracebacks() -> None:
    formatter = TextFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("netwatt.poll", logging.WARNING, __file__, 1, "device %s: %s",
                               ("sw1", ESCAPES + "\nERROR forged"), None)
    assert formatter.format(record) == "WARNING device sw1: Eth\\x1b[2J\\x1b]0;pwned\\x07\\u202e1\\nERROR forged"
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("netwatt", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert formatter.format(record).startswith("ERROR failed\nTraceback (most recent call last):\n")
