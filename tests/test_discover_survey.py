"""discover lists every power-like object with a verdict: what a selected profile read, what an
unselected vendor profile or the catalogue knows ("unrecognised"), and the worked example of
docs/profiles.md, run as a user runs it (the commands of that page)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agent.config.load import load_config_text
from agent.discover import discover_recording
from agent.lab import SnmpsimProcess
from agent.poll import Poller
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import Kind, Status
from agent.power.survey import Survey, builtin_catalogue
from collectors.snmp.recorded import RecordedClient
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


def _poll_recording_pinned(walk: Path, pinned: list[str]) -> Any:
    """discover's survey of a recording whose device is pinned to ``pinned`` profiles."""
    profiles = load_builtin_profiles()
    config = load_config_text(
        "version: 1\ncredentials:\n  recording: {version: 2c, community: 'plain:recording'}\n"
        f"devices:\n  - {{name: recording, address: 127.0.0.1, credential: recording, profiles: {pinned}}}\n",
        file="<test>", environ={}, builtin_profiles=profiles)
    client = RecordedClient.from_files({"recording": walk})
    result = asyncio.run(Poller(config, client).poll(config.devices["recording"]))
    survey = Survey.for_device(config.profiles.values(), result.info.profiles)
    survey.add_unrecognised(result, client.recording("recording"))
    return result


def test_entity_sensor_rows_of_a_device_pinned_without_it_are_listed_with_the_fix() -> None:
    """Arista reports its PSU watts in ENTITY-SENSOR; pinned to another profile, discover still
    lists every watts row, unrecognised, with 'add entity_sensor' (none counted)."""
    walk = ROOT / "config" / "lab" / "arista_7050.snmprec"
    watts_rows = [line.split("|")[0] for line in walk.read_text().splitlines()
                  if line.startswith("1.3.6.1.2.1.99.1.1.1.1.") and line.endswith("|6")]
    assert len(watts_rows) == 6
    result = _poll_recording_pinned(walk, ["power_ethernet"])
    rows = {r.address: r for r in result.power.readings}
    for type_oid in watts_rows:
        value_oid = type_oid.replace("1.3.6.1.2.1.99.1.1.1.1.", "1.3.6.1.2.1.99.1.1.1.4.", 1)
        row = rows[value_oid]
        assert (row.status, row.counted, row.profile) == (Status.UNRECOGNISED, False, "entity_sensor")
        assert "add entity_sensor to them" in row.reason
    assert result.power.power_w is None


def test_entity_sensor_watts_filed_under_another_type_are_caught_by_their_units(tmp_path: Path) -> None:
    """No MIB names in the walk: a row of type other(1) whose units text says watts is listed as
    'unrecognised: add a profile' with its OID; a celsius row of the same type is not."""
    walk = tmp_path / "vendor.snmprec"
    walk.write_text(
        "1.3.6.1.2.1.1.1.0|4|some switch\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.3\n"
        "1.3.6.1.2.1.99.1.1.1.1.7|2|1\n1.3.6.1.2.1.99.1.1.1.4.7|2|1234\n1.3.6.1.2.1.99.1.1.1.6.7|4|Watts\n"
        "1.3.6.1.2.1.99.1.1.1.1.8|2|1\n1.3.6.1.2.1.99.1.1.1.4.8|2|41\n1.3.6.1.2.1.99.1.1.1.6.8|4|Celsius\n"
        "1.3.6.1.2.1.99.1.1.1.1.9|2|2\n1.3.6.1.2.1.99.1.1.1.4.9|2|350\n1.3.6.1.2.1.99.1.1.1.6.9|4|mW\n")
    result, skipped = asyncio.run(discover_recording(walk))
    assert skipped == []
    rows = {r.address: r for r in result.power.readings}
    watts = rows["1.3.6.1.2.1.99.1.1.1.4.7"]
    assert (watts.status, watts.raw, watts.value, watts.counted) == (Status.UNRECOGNISED, 1234, None, False)
    assert watts.reason.startswith("add a profile (ENTITY-SENSOR row of type 1")
    assert "'Watts'" in watts.reason
    assert "1.3.6.1.2.1.99.1.1.1.4.8" not in rows
    assert rows["1.3.6.1.2.1.99.1.1.1.4.9"].raw == 350
    assert result.power.power_w is None
