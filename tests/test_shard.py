"""`netwatt run --shard K/N`: every device in exactly one shard, stable, and a new shard moves ~1/N."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.lab import SnmpsimProcess, lab_config_text
from agent.shard import SHARDS_ENV, Shard, auto_shard, owns, parse_shard, restrict, shard_of
from agent.store.sqlite import Store
from tests.agent_process import ROOT, netwatt

NAMES = [f"sw-{site}-{i:05d}" for site in ("par", "fra", "nyc") for i in range(3400)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_every_device_is_in_exactly_one_shard_and_shards_are_balanced(count: int) -> None:
    shards = [Shard(k, count) for k in range(1, count + 1)]
    members = [{n for n in NAMES if s.owns(n)} for s in shards]
    assert set().union(*members) == set(NAMES)
    assert sum(len(m) for m in members) == len(NAMES)          # disjoint
    for m in members:
        assert abs(len(m) - len(NAMES) / count) < 0.1 * len(NAMES) / count + 30


@pytest.mark.parametrize("count", [2, 3, 4, 8])
def test_adding_a_shard_moves_about_one_in_n_and_only_to_the_new_shard(count: int) -> None:
    moved = [n for n in NAMES if shard_of(n, count) != shard_of(n, count + 1)]
    assert {shard_of(n, count + 1) for n in moved} == {count + 1}
    assert abs(len(moved) / len(NAMES) - 1 / (count + 1)) < 0.02
    # the modulo scheme it replaces would move most devices
    modulo_moved = sum(1 for n in NAMES if hash_mod(n, count) != hash_mod(n, count + 1))
    assert modulo_moved > 0.5 * len(NAMES)


def hash_mod(name: str, count: int) -> int:
    import hashlib  # noqa: PLC0415
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") % count


def test_the_assignment_is_stable_across_runs() -> None:
    # fixed values: a change of hash would silently reshuffle every deployed fleet
    assert [shard_of(n, 4) for n in ("core-1", "core-2", "wlc-paris", "sw-0001")] == [3, 4, 2, 4]
    assert [shard_of(f"d{i}", 5) for i in range(8)] == [3, 5, 5, 5, 3, 2, 3, 3]


def test_shard_argument_forms() -> None:
    assert parse_shard("2/4") == parse_shard("2-4") == parse_shard(" 2 / 4 ") == Shard(2, 4)
    for bad in ("0/4", "5/4", "2", "a/b", "2/4/1", ""):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    assert owns("anything", None)
    assert owns("wlc-1", Shard(shard_of("wlc-1", 3), 3))


def test_restrict_gives_each_shard_its_devices_and_own_state() -> None:
    text = ("version: 1\nagent: {state_directory: /var/lib/netwatt, hostname: poller}\n"
            "credentials:\n  c: {version: 2c, community: 'plain:x'}\ndevices:\n"
            + "".join(f"  - {{name: d{i}, address: 10.0.0.{i + 1}, credential: c}}\n" for i in range(20)))
    config = load_config_text(text, environ={})
    parts = [restrict(config, Shard(k, 3)) for k in (1, 2, 3)]
    assert sorted(n for p in parts for n in p.devices) == sorted(config.devices)
    assert [p.agent.state_directory for p in parts] == [f"/var/lib/netwatt/shard-{k}-of-3" for k in (1, 2, 3)]
    assert parts[0].agent.hostname == "poller-shard-1-of-3"
    assert parts[0].outputs == config.outputs
    assert restrict(config, None) is config


@pytest.mark.integration
def test_run_once_per_shard_polls_each_device_once(lab: SnmpsimProcess, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "netwatt.yaml"
    config.write_text(lab_config_text(lab, state_directory=state, interval_s=1))
    seen: dict[str, str] = {}
    for shard in ("1/3", "2-3", "3/3"):
        done = netwatt("run", "--once", "--shard", shard, "-c", str(config))
        assert done.returncode == 0, done.stderr
        store = Store(state / f"shard-{shard[0]}-of-3")
        try:
            for status in store.device_statuses():
                assert status.polls == 1
                assert status.device not in seen, f"{status.device} in shards {seen.get(status.device)} and {shard}"
                seen[status.device] = shard
        finally:
            store.close()
    assert sorted(seen) == sorted(lab.communities)
    assert {seen[d] for d in seen} == {"1/3", "2-3", "3/3"}
    bad = netwatt("run", "--once", "--shard", "4/3", "-c", str(config))
    assert bad.returncode == 2
    assert "K must be between 1 and N" in bad.stderr


def test_each_wifi_controller_is_run_by_exactly_one_shard() -> None:
    controllers = [f"wlc-{i}" for i in range(6)]
    text = ("version: 1\ncredentials:\n  c: {version: 2c, community: 'plain:x'}\n"
            "sites: {venue: {timezone: Europe/Paris}}\ndevices:\n"
            + "".join(f"  - {{name: {c}, address: 10.0.1.{i + 1}, credential: c}}\n" for i, c in enumerate(controllers))
            + "  - {name: poe-sw, address: 10.0.2.1, credential: c}\n"
            "wifi:\n  controllers:\n"
            + "".join(f"    {c}: {{type: aireos, device: {c}}}\n" for c in controllers)
            + "  access_points:\n"
            + "".join(f'    - {{name: ap-{i}, controller: {c}, mac: "00:00:00:00:00:0{i}", '
                      f'radios: [{{slot: 0, band: "5"}}], poe: {{switch: poe-sw, port: "1.{i}"}}}}\n'
                      for i, c in enumerate(controllers))
            + "  groups:\n    all: {site: venue, scope: radio, default: 'off', coverage_floor: 1, aps: ["
            + ", ".join(f"ap-{i}" for i in range(len(controllers))) + "]}\n")
    config = load_config_text(text, environ={})
    parts = [restrict(config, Shard(k, 3)) for k in (1, 2, 3)]
    owned = [set(p.wifi.controllers) if p.wifi else set() for p in parts]
    assert sorted(c for o in owned for c in o) == controllers                  # each once, none lost
    for part, mine in zip(parts, owned, strict=True):
        if part.wifi is None:
            continue
        assert all(part.wifi.controllers[c].device in part.devices for c in mine)   # it polls what it switches
        assert {a.controller for a in part.wifi.access_points.values()} == mine
        [group] = part.wifi.groups.values()
        assert {t.controller for t in group.targets} == mine
        assert group.coverage_floor == 1
        # the controllers and the savings meter build from the shard's own config
        from agent.wifi.adapters.factory import build_controllers, build_meter  # noqa: PLC0415
        from collectors.snmp.pysnmp_client import PysnmpClient  # noqa: PLC0415
        from collectors.snmp.setter import PysnmpSetter  # noqa: PLC0415
        assert set(build_controllers(part, PysnmpClient(), PysnmpSetter())) == mine
        meter = build_meter(part, PysnmpClient())
        assert set(meter.targets) == ({"poe-sw"} & set(part.devices))


# -- --shard auto: a StatefulSet pod's ordinal and $NETWATT_SHARDS -------------------------------------

POD_NAMES = [f"netwatt-{ordinal}" for ordinal in range(4)]


def test_auto_shard_takes_k_from_the_pod_ordinal_and_n_from_the_environment() -> None:
    shards = [auto_shard(name, {SHARDS_ENV: "4"}) for name in POD_NAMES]
    assert shards == [Shard(1, 4), Shard(2, 4), Shard(3, 4), Shard(4, 4)]
    # the same jump hash as --shard K/N: pod netwatt-K polls what `--shard K+1/4` polls
    for shard in shards:
        assert {n for n in NAMES if shard.owns(n)} == {n for n in NAMES if parse_shard(f"{shard.index}/4").owns(n)}
    assert set().union(*({n for n in NAMES if s.owns(n)} for s in shards)) == set(NAMES)
    assert auto_shard("netwatt-poller-12", {SHARDS_ENV: " 13 "}) == Shard(13, 13)


@pytest.mark.parametrize(("hostname", "environ", "message"), [
    ("netwatt", {SHARDS_ENV: "4"}, "host name 'netwatt' does not end in -<ordinal>"),
    ("netwatt-a", {SHARDS_ENV: "4"}, "does not end in -<ordinal>"),
    ("netwatt-1", {}, "NETWATT_SHARDS is not set"),
    ("netwatt-1", {SHARDS_ENV: ""}, "NETWATT_SHARDS is not set"),
    ("netwatt-1", {SHARDS_ENV: "four"}, "NETWATT_SHARDS='four' is not a positive whole number"),
    ("netwatt-0", {SHARDS_ENV: "0"}, "is not a positive whole number"),
    ("netwatt-4", {SHARDS_ENV: "4"}, "pod ordinal 4 (netwatt-4) but NETWATT_SHARDS=4"),
])
def test_auto_shard_errors_say_what_is_wrong(hostname: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        auto_shard(hostname, environ)


@pytest.mark.integration
def test_run_shard_auto_in_pods_netwatt_0_to_3(lab: SnmpsimProcess, tmp_path: Path) -> None:
    """`netwatt run --once --shard auto` under the host names netwatt-0..netwatt-3 (a UTS namespace each,
    as root: CI runs as root) polls every lab device exactly once, where `--shard K/4` would."""
    unshare = shutil.which("unshare")
    assert unshare is not None, "this test sets host names with unshare (util-linux)"
    assert os.geteuid() == 0, "this test sets host names: it needs root (CI runs as root)"
    state = tmp_path / "state"
    config = tmp_path / "netwatt.yaml"
    config.write_text(lab_config_text(lab, state_directory=state, interval_s=1))
    seen: dict[str, int] = {}
    for ordinal, pod in enumerate(POD_NAMES):
        script = f'hostname {pod} && exec "$0" -m agent.cli run --once --shard auto -c "$1"'
        done = subprocess.run([unshare, "--uts", "sh", "-c", script, sys.executable, str(config)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, SHARDS_ENV: "4"})
        assert done.returncode == 0, done.stderr
        store = Store(state / f"shard-{ordinal + 1}-of-4")
        try:
            for status in store.device_statuses():
                assert status.device not in seen
                assert shard_of(status.device, 4) == ordinal + 1
                seen[status.device] = ordinal + 1
        finally:
            store.close()
    assert sorted(seen) == sorted(lab.communities)
    bad = netwatt("run", "--once", "--shard", "auto", "-c", str(config), env={SHARDS_ENV: "x"})
    assert bad.returncode == 2
    assert "--shard auto:" in bad.stderr
