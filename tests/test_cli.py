"""The command line as a user runs it: the Quick start's demo, poll formats and exit codes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from agent.lab import lab_dir
from tests.agent_process import netwatt

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def test_demo_prints_every_lab_device(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    result = netwatt("demo", "--keep", str(keep))
    assert result.returncode == 0, result.stderr
    # a clean run: no apscheduler warning, no skipped poll, every device polled once per cycle
    assert "WARNING" not in result.stderr, result.stderr
    assert "skipped" not in result.stderr, result.stderr
    names = sorted(p.stem for p in lab_dir().glob("*.snmprec"))
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()}
    for name in names:
        assert name in lines
        assert lines[name].split()[-2:] == ["6", "-"], lines[name]          # polls, error
    assert "495.39" in lines["cisco_asr9901"]
    assert "psu_input" in lines["cisco_asr9901"]
    # no input power on the 2960X: estimated from its measured PoE / PSU efficiency, labelled a lower bound
    assert "estimated" in lines["cisco_c2960x_poe"]
    assert "poe_only_lower_bound" in lines["cisco_c2960x_poe"]
    assert "emissions (Scope 2, location-based)" in result.stdout
    assert "worked example" in result.stdout
    assert "owid-fr-2024" in result.stdout
    # the closing hint is a command that works on what --keep left behind
    hint = result.stdout.splitlines()[-1]
    assert hint.startswith("  full report: netwatt report -c "), hint
    words = shlex.split(hint.removeprefix("  full report: "))
    assert words[3] == str(keep / "netwatt.yaml")
    report = netwatt(*words[1:])
    assert report.returncode == 0, report.stderr
    html = (keep / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Scope 2" in html


def test_demo_without_keep_says_how_to_get_a_report() -> None:
    from agent.demo import report_hint  # noqa: PLC0415
    assert "--keep DIR (./netwatt-demo --keep DIR)" in report_hint(None, "2026-12-07")
    assert report_hint(Path("/k/netwatt.yaml"), "2026-12-07") == (
        "  full report: netwatt report -c /k/netwatt.yaml --from 2026-12-07 --format html -o /k/report.html")


def test_poll_json_contract(lab_config: Path) -> None:
    result = netwatt("poll", "-c", str(lab_config), "--device", "cisco_asr9901", "--format", "json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert {"device", "site", "time", "power_w", "method", "basis", "readings", "errors"} <= set(output)
    assert (output["device"], output["site"], output["power_w"], output["method"], output["basis"]) == (
        "cisco_asr9901", "lab", 495.39, "measured", "psu_input")
    assert output["time"].endswith("Z")
    counted = [r for r in output["readings"] if r["counted"]]
    assert {r["kind"] for r in counted} == {"psu_input"}
    assert all({"component", "kind", "watts", "method", "source", "oid", "raw", "status"} <= set(r)
               for r in counted)


def test_poll_line_protocol(lab_config: Path) -> None:
    result = netwatt("poll", "-c", str(lab_config), "--device", "huawei_s5720", "--format", "lp")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("device_power,basis=chassis,device=huawei_s5720,method=measured,")
    assert " watts=88.74 " in lines[0]
    assert all(line.startswith(("device_power,", "component_power,")) for line in lines)


def test_discover_table_shows_verdicts(lab_config: Path) -> None:
    result = netwatt("discover", "-c", str(lab_config), "--device", "cisco_c9600_svl")
    assert result.returncode == 0, result.stderr
    assert "implausibly small for a module" in result.stdout
    assert "COUNTED" in result.stdout


def test_exit_codes(lab_config: Path, tmp_path: Path) -> None:
    assert netwatt("poll", "-c", str(lab_config), "--device", "nope").returncode == 2
    assert netwatt("poll", "-c", str(tmp_path / "missing.yaml"), "--all").returncode == 2
    dead = tmp_path / "dead.yaml"
    dead.write_text("version: 1\ncredentials:\n  c: {version: 2c, community: 'plain:x'}\n"
                    "devices:\n  - {name: dead, address: '127.0.0.1:9', credential: c, timeout: 0.3s, "
                    "retries: 0}\n")
    result = netwatt("poll", "-c", str(dead), "--device", "dead", "--format", "json")
    assert result.returncode == 1
    # nothing listens on port 9: ICMP port unreachable, reported at once (not a timeout)
    assert json.loads(result.stdout)["errors"][0].startswith("unreachable: port unreachable (ICMP)")
    # bad report arguments are bad usage, as the README's exit-code line says
    for bad in (["--from", "2026-13-01"], ["--from", "2026-01-02", "--to", "2026-01-01"],
                ["--from", "2026-01-01", "--timezone", "Mars/Olympus"]):
        report = netwatt("report", "-c", str(lab_config), *bad)
        assert report.returncode == 2, (bad, report.stderr)
        assert report.stderr.startswith("netwatt: "), report.stderr


def test_run_once_then_status(lab_config: Path) -> None:
    once = netwatt("run", "-c", str(lab_config), "--once")
    assert once.returncode == 0, once.stderr
    table = netwatt("status", "-c", str(lab_config))
    assert table.returncode == 0, table.stderr
    assert "cisco_asr9901" in table.stdout
    assert "495.39" in table.stdout
    assert "outputs: none (points stay in the embedded store)" in table.stdout
    status = json.loads(netwatt("status", "-c", str(lab_config), "--format", "json").stdout)
    devices = {d["device"]: d for d in status["devices"]}
    assert devices["cisco_asr9901"]["power_w"] == 495.39
    # no input power reported: the agent stores a labelled estimate (PoE delivered / PSU efficiency)
    assert devices["cisco_c2960x_poe"]["power_w"] == pytest.approx(104.545455)
    assert devices["cisco_c2960x_poe"]["method"] == "estimated"
    assert all(d["error_streak"] == 0 for d in devices.values())
    assert status["points_stored"] > 13
