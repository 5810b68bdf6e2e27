"""discover lists every power-like object with a verdict: what a selected profile read, what an
unselected vendor profile or the catalogue knows ("unrecognised"), and the worked example of
docs/profiles.md, run as a user runs it (the commands of that page)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.discover import discover_recording
from agent.lab import SnmpsimProcess
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import Kind, Status
from agent.power.survey import Survey, builtin_catalogue
from tests.agent_process import netwatt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_WALK = "docs/examples/energywise.snmprec"
EXAMPLE_PROFILE = "docs/examples/cisco_energywise.yaml"


def _readings(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["oid"]: r for r in output["readings"]}


def test_worked_example_unrecognised_then_counted_with_the_new_profile() -> None:
    before = netwatt("discover", "--walk", EXAMPLE_WALK, "--format", "json")
    assert before.returncode == 0, before.stderr
    rows = _readings(json.loads(before.stdout))
    usage = "1.3.6.1.4.1.9.9.683.1.6.1.8.1000"
    assert rows[usage]["status"] == "unrecognised"
    assert "add a profile (CISCO-ENERGYWISE-MIB::cewEntEnergyUsage" in rows[usage]["reason"]
    assert json.loads(before.stdout)["power_w"] is None

    after = netwatt("discover", "--walk", EXAMPLE_WALK, "--profile", EXAMPLE_PROFILE, "--format", "json")
    assert after.returncode == 0, after.stderr
    output = json.loads(after.stdout)
    rows = _readings(output)
    assert (output["power_w"], output["basis"]) == (112.0, "chassis")
    assert rows[usage]["counted"] is True
    assert rows["1.3.6.1.4.1.9.9.683.1.6.1.8.1012"]["watts"] == pytest.approx(6.4)       # 64 x 10^-1
    assert rows["1.3.6.1.4.1.9.9.683.1.6.1.8.1012"]["kind"] == "poe_port"
    assert rows["1.3.6.1.4.1.9.9.683.1.6.1.8.1013"]["reason"] == "sensor status 2 is not ok"


def test_the_page_runs_the_commands_this_test_runs() -> None:
    page = (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8")
    assert f"netwatt discover --walk {EXAMPLE_WALK}\n" in page
    assert f"netwatt discover --walk {EXAMPLE_WALK} --profile {EXAMPLE_PROFILE}\n" in page


def test_objects_of_an_unselected_profile_are_unrecognised_with_their_value(tmp_path: Path) -> None:
    walk = tmp_path / "other.snmprec"
    walk.write_text("1.3.6.1.2.1.1.1.0|4|switch\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.7\n"
                    "1.3.6.1.4.1.2011.6.157.1.6.0|2|90430\n1.3.6.1.4.1.31926.2.1.1.42.1|2|12\n")
    result, skipped = asyncio.run(discover_recording(walk))
    assert skipped == []
    rows = {r.address: r for r in result.power.readings}
    huawei = rows["1.3.6.1.4.1.2011.6.157.1.6.0"]
    assert (huawei.status, huawei.value, huawei.counted) == (Status.UNRECOGNISED, 90.43, False)
    assert "profile huawei_energy reads this but does not match sysObjectID 1.3.6.1.4.1.99999.7" in huawei.reason
    radio = rows["1.3.6.1.4.1.31926.2.1.1.42.1"]
    assert (radio.kind, radio.status) == (Kind.RF_OUTPUT, Status.UNRECOGNISED)
    assert radio.reason.startswith("never counted: rf_output")
    assert result.power.power_w is None


def test_catalogue_entries_are_power_like_and_not_already_profiled() -> None:
    profiled = {(*m.table, m.value_column) if m.table else m.scalar
                for p in load_builtin_profiles().values() for m in p.metrics if not m.path}
    for entry in builtin_catalogue():
        assert entry.oid[:7] == (1, 3, 6, 1, 4, 1, entry.oid[6]), entry.name
        assert entry.oid not in profiled, f"{entry.name} is read by a profile: drop it from the catalogue"


@pytest.mark.integration
def test_live_discover_walks_the_enterprise_for_objects_no_pinned_profile_reads(
        lab: SnmpsimProcess, tmp_path: Path) -> None:
    """A Huawei pinned to entity_sensor only: discover still finds hwCurrentPower over UDP."""
    config = tmp_path / "pinned.yaml"
    config.write_text(
        "version: 1\ncredentials:\n  lab: {version: 2c, community: 'plain:huawei_s5720'}\n"
        f"devices:\n  - {{name: s5720, address: '{lab.host}:{lab.port}', credential: lab,"
        " profiles: [entity_sensor], timeout: 5s}\n"
        f"agent: {{state_directory: '{tmp_path}'}}\n")
    result = netwatt("discover", "-c", str(config), "--device", "s5720", "--format", "json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    rows = _readings(output)
    current = rows["1.3.6.1.4.1.2011.6.157.1.6.0"]
    assert current["status"] == "unrecognised"
    assert "pin profiles: [huawei_energy]" in current["reason"]
    assert output["power_w"] is None          # never counted: the device is pinned to entity_sensor


def test_survey_of_a_live_device_stays_in_its_enterprise() -> None:
    survey = Survey.for_device(load_builtin_profiles().values(), [])
    trees = survey.subtrees((1, 3, 6, 1, 4, 1, 2011, 2, 23), everything=False)
    assert trees
    assert all(t[:7] == (1, 3, 6, 1, 4, 1, 2011) or t[:6] != (1, 3, 6, 1, 4, 1) for t in trees)
    assert any(t[:7] == (1, 3, 6, 1, 4, 1, 2011) for t in trees)
    assert len(survey.subtrees(None, everything=True)) > len(trees)
