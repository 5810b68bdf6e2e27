"""One series per reading, as a property over every recorded device we have.

InfluxDB keeps one point per series (measurement + full tag set) and timestamp: two lines of one
poll that share both overwrite each other without a word. Every recording (the lab walks, the
golden cases, the recorded NETCONF cases and the shared corpus) is polled through the real code and
its line protocol checked: no two lines share measurement + tags + timestamp, every usable power
reading has its line, and the tags stay the same when every value changes (no value in a tag).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.lab import SnmpsimProcess, lab_config_text, lab_dir
from agent.points.lineprotocol import Point, encode
from agent.points.schema import poll_points
from agent.poll import Poller
from agent.power.readings import PollResult, Quantity, Status
from collectors.snmp.recorded import RecordedClient, parse_snmprec
from collectors.snmp.types import Oid, SnmpValue, parse_oid
from tests.golden_cases import FIXED_TIME, GOLDEN, PROFILES, Case, cases, run_case

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the checkout (or next to the folder of worktrees), when present
CORPUS = next((p / "shared" / "corpus" / "librenms" for p in (ROOT.parent, ROOT.parent.parent)
               if (p / "shared" / "corpus" / "librenms").is_dir()), ROOT.parent / "shared" / "corpus" / "librenms")
WALKS = sorted({*lab_dir().glob("*.snmprec"), *CORPUS.glob("*.snmprec"),
                *(c.walk for c in cases() if c.protocol == "snmp")})
NETCONF_CASES = [c for c in cases() if c.protocol == "netconf"] + [
    Case(folder.name.replace("-", "_"), folder, folder, "", {}, "netconf")
    for folder in sorted((ROOT / "tests" / "cases").glob("*")) if (folder / "capabilities.txt").is_file()]


def series_key(line: str) -> tuple[str, str]:
    """(measurement + tags, timestamp) of a line-protocol line."""
    head, _, rest = line.partition(" ")
    while head.endswith("\\"):                   # an escaped space inside a tag value
        more, _, rest = rest.partition(" ")
        head += " " + more
    return head, rest.rsplit(" ", 1)[1]


def collisions(lines: list[str]) -> list[str]:
    counts = Counter(series_key(line) for line in lines)
    return [line for line in lines if counts[series_key(line)] > 1]


def power_readings(result: PollResult) -> int:
    return sum(1 for r in result.power.readings
               if r.quantity is Quantity.POWER and r.status is Status.OK and r.value is not None)


def poll_walk(walk: Path, values: dict[Oid, SnmpValue] | None = None) -> PollResult:
    name = "dev"
    text = (f"version: 1\ncredentials:\n  rec: {{version: 2c, community: 'plain:x'}}\n"
            f"devices:\n  - {{name: {name}, address: 127.0.0.1, credential: rec}}\n")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    recording = values if values is not None else parse_snmprec(walk.read_text(encoding="utf-8"), source=str(walk))
    poller = Poller(config, RecordedClient({name: recording}), clock=lambda: FIXED_TIME)
    return asyncio.run(poller.poll(config.devices[name]))


def test_every_recording_is_covered() -> None:
    assert len(WALKS) >= 13 + (11 if CORPUS.is_dir() else 0)
    assert {c.name for c in NETCONF_CASES} >= {"nc_iosxe_c9300", "wifi_c9800"}
    assert all((GOLDEN / c.name).is_dir() or c.folder.parent.name == "cases" for c in NETCONF_CASES)


@pytest.mark.parametrize("walk", WALKS, ids=[w.parent.name if w.stem == "walk" else w.stem for w in WALKS])
def test_snmp_walk_has_one_series_per_reading(walk: Path) -> None:
    result = poll_walk(walk)
    lines = encode(poll_points(result)).splitlines()
    assert collisions(lines) == []
    component_lines = [line for line in lines if line.startswith("component_power,")]
    assert len(component_lines) == power_readings(result)


@pytest.mark.parametrize("walk", WALKS, ids=[w.parent.name if w.stem == "walk" else w.stem for w in WALKS])
def test_tags_do_not_change_with_the_values(walk: Path) -> None:
    """Cardinality stays bounded: the same sensors with other values are the same series."""
    first = poll_walk(walk)
    recording = parse_snmprec(walk.read_text(encoding="utf-8"), source=str(walk))
    changed = dict(recording)
    for reading in first.power.readings:
        if reading.source == "snmp" and " x " not in reading.address:
            oid = parse_oid(reading.address)
            value = recording.get(oid)
            if isinstance(value, int) and value > 1:
                changed[oid] = value + 1
            elif isinstance(value, bytes) and value.replace(b".", b"", 1).isdigit() and float(value) > 1:
                changed[oid] = str(float(value) + 1).encode()       # a number sent as text (Moxa, Netonix)
    second = poll_walk(walk, changed)

    def tag_sets(result: PollResult) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {_series(p) for p in poll_points(result)}

    assert tag_sets(first) == tag_sets(second)
    if power_readings(first):                    # the values did change: only the fields show it
        assert [p.fields for p in poll_points(first)] != [p.fields for p in poll_points(second)]


def _series(point: Point) -> tuple[str, tuple[tuple[str, str], ...]]:
    return point.measurement, tuple(sorted(point.tags.items()))


@pytest.mark.integration
@pytest.mark.parametrize("case", NETCONF_CASES, ids=[c.name for c in NETCONF_CASES])
def test_netconf_case_has_one_series_per_reading(case: Case) -> None:
    result = run_case(case)
    lines = encode(poll_points(result)).splitlines()
    assert collisions(lines) == []
    assert len([line for line in lines if line.startswith("component_power,")]) == power_readings(result)


def test_a_collision_is_detected() -> None:
    """The check itself can fail: the same tags at the same second are a collision."""
    lines = ["component_power,component=Eth1,device=d,kind=optic watts=1.0 1",
             "component_power,component=Eth1,device=d,kind=optic watts=2.0 1",
             "component_power,component=Eth\\ 1,device=d,kind=optic watts=2.0 1"]
    assert collisions(lines) == lines[:2]


@pytest.mark.integration
def test_poll_all_line_protocol_over_the_lab(tmp_path: Path, lab: SnmpsimProcess) -> None:
    """What `netwatt poll --all --format lp` prints over the real SNMP lab: every line its own series."""
    config = tmp_path / "lab.yaml"
    config.write_text(lab_config_text(lab, state_directory=tmp_path))
    done = subprocess.run([sys.executable, "-m", "agent.cli", "poll", "-c", str(config), "--all",
                           "--format", "lp"], check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if line.startswith("component_power,")]) > 50
    assert all(",sensor=" in line for line in lines if line.startswith("component_power,"))
    assert collisions(lines) == []
