"""check-config answers every broken config with exit 2 naming the fault (file:line and field), all of a
file's faults in one pass, never a traceback; --show prints the file's own keys and loads back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigErrors
from agent.power.profile_files import load_builtin_profiles
from tests.agent_process import ROOT, netwatt

PROFILES = load_builtin_profiles()
HUGE = "9" * 400


def config(*, agent: str = "", credential: str = "{version: 2c, community: 'plain:public'}",
           site: str = "{timezone: Europe/Paris, grid_zone: FR}", device: str = "",
           address: str = "192.0.2.1", emissions: str = "", top: str = "", version: str = "1") -> str:
    """A valid config; each argument breaks one part of it."""
    return (f"version: {version}\n"
            + (f"agent:\n{agent}\n" if agent else "")
            + f"credentials:\n  lab: {credential}\n"
            + f"sites:\n  paris: {site}\n"
            + "devices:\n  - name: sw1\n"
            + (f"    address: '{address}'\n" if address else "")
            + "    credential: lab\n    site: paris\n"
            + (f"{device}\n" if device else "")
            + (f"emissions:\n{emissions}\n" if emissions else "")
            + (f"{top}\n" if top else ""))


def factor(value: str, unit: str = "g/kWh") -> str:
    return f"  sites:\n    paris:\n      location_factor: {{value: {value}, unit: '{unit}', source: invoice 2026}}"


# (id, config text, text on the line the error must name, what the message must say)
BROKEN = [
    ("misspelt-key", config(address="", device="    adress: 192.0.2.1"), "adress:",
     "devices[0].adress: unknown key; did you mean 'address'?"),
    ("ipv4-octet-300", config(address="300.0.0.2:1161"), "address:", "'300.0.0.2' is not a valid IPv4 address"),
    ("ipv4-three-octets", config(address="10.0.1"), "address:", "'10.0.1' is not a valid IPv4 address"),
    ("ipv6-bad-digit", config(address="[fe80::zz]:161"), "address:", "'fe80::zz' is not a valid IPv6 address"),
    ("port-out-of-range", config(address="192.0.2.1:70000"), "address:", "port 70000 is out of range (1..65535)"),
    ("port-zero", config(address="192.0.2.1:0"), "address:", "port 0 is out of range"),
    ("interval-inf", config(agent="  interval: .inf"), "interval:", "agent.interval: a duration must be finite"),
    ("interval-nan", config(agent="  interval: .nan"), "interval:", "agent.interval: a duration must be finite"),
    ("interval-huge-days", config(agent="  interval: 99999999999999999999d"), "interval:",
     "agent.interval: must be at most 30 days, not 1e+20 days"),
    ("interval-400-digits", config(agent=f"  interval: {HUGE}"), "interval:", "agent.interval: is too large"),
    ("count-400-digits", config(agent=f"  metric_batch_size: {HUGE}"), "metric_batch_size:",
     "must be at most 9007199254740992, not a 400-digit integer"),
    ("timeout-below-1ms", config(device="    timeout: 0.0001s"), "timeout:", "devices[0].timeout: must be at least"),
    ("retries-too-many", config(device="    retries: 99"), "retries:", "devices[0].retries: must be at most 10"),
    ("name-trailing-newline", config(device="").replace("name: sw1", 'name: "sw1\\n"'), "name:",
     "'sw1\\n' is not a valid name"),
    ("role-typo", config(device="    role: swich"), "role:", "did you mean 'switch'?"),
    ("unknown-credential", config().replace("credential: lab", "credential: labb"), "credential: labb",
     "unknown credential 'labb'"),
    ("unknown-top-key", config(top="devics: []"), "devics:", "devics: unknown key; did you mean 'devices'?"),
    ("config-version", config(version="2"), "version:", "config version 2 is not supported"),
    ("grid-zone-uk", config(site="{grid_zone: UK}"), "grid_zone", "unknown grid zone 'UK': did you mean 'GB'"),
    ("grid-zone-el", config(site="{grid_zone: EL}"), "grid_zone", "did you mean 'GR' (Greece)"),
    ("grid-zone-made-up", config(site="{grid_zone: QQ}"), "grid_zone", "unknown grid zone 'QQ'"),
    ("factor-negative", config(emissions=factor("-5")), "location_factor", "-5 g/kWh: a factor cannot be negative"),
    ("factor-zero", config(emissions=factor("0")), "location_factor", "a factor must be more than 0"),
    ("factor-1e9", config(emissions=factor("1e9")), "location_factor",
     "1e+09 g/kWh: a factor above 2,000 g/kWh is not credible"),
    ("factor-lb-per-mwh", config(emissions=factor("4500", "lb/MWh")), "location_factor",
     "a factor above 2,000 g/kWh (4,409.25 lb/MWh) is not credible"),
    ("factor-nan", config(emissions=factor(".nan")), "location_factor", "must be a finite number"),
    ("contract-share", config(emissions="  sites:\n    paris:\n      contracts:\n"
                                        "        - {kind: eac, share: 1.5, value: 0, source: GO 2026}"),
     "share: 1.5", "a share of the consumption is from 0 to 1, not 1.5"),
    ("timezone", config(site="{timezone: Europe/Pariss, grid_zone: FR}"), "timezone",
     "'Europe/Pariss' is not a known time zone"),
]


@pytest.mark.parametrize(("text", "at", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_config_exits_2_naming_file_line_and_fault(tmp_path: Path, text: str, at: str, expected: str) -> None:
    path = tmp_path / "netwatt.yaml"
    path.write_text(text)
    line = next(n for n, content in enumerate(text.splitlines(), start=1) if at in content)
    result = netwatt("check-config", "-c", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{path}:{line}: " in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    assert "is required" not in result.stderr          # no consequent noise


def test_there_are_at_least_twenty_broken_configs() -> None:
    assert len(BROKEN) >= 20
    assert len({case[0] for case in BROKEN}) == len(BROKEN)


def test_every_fault_of_a_file_in_one_pass(tmp_path: Path) -> None:
    """Nine faults over two devices, the agent and a site: one run of check-config names them all, in file order."""
    text = config(agent="  interval: .inf\n  max_gap: 99999999999999999999d", site="{grid_zone: UK}",
                  address="300.0.0.2:1161",
                  device="    retries: 99\n    timout: 3s\n    role: swich\n"
                         "  - {name: sw2, adress: 192.0.2.2, credential: lab}\n"
                         "  - {name: sw3, address: '[fe80::zz]', credential: nope}")
    path = tmp_path / "netwatt.yaml"
    path.write_text(text)
    result = netwatt("check-config", "-c", str(path))
    assert result.returncode == 2
    faults = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert len(faults) == 10, result.stderr
    assert [int(line.split(":")[1]) for line in faults] == sorted(int(line.split(":")[1]) for line in faults)
    for expected in ("agent.interval:", "agent.max_gap:", "sites.paris.grid_zone:", "devices[0].address:",
                     "devices[0].retries:", "devices[0].timout: unknown key; did you mean 'timeout'?",
                     "devices[0].role:", "devices[1].adress: unknown key; did you mean 'address'?",
                     "devices[2].address:", "devices[2].credential: device sw3: unknown credential 'nope'"):
        assert sum(expected in line for line in faults) == 1, (expected, result.stderr)


def test_misspelt_key_is_named_before_the_required_key_it_leaves_missing() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config_text(config(address="", device="    adress: 192.0.2.1"), file="t.yaml", environ={},
                         builtin_profiles=PROFILES)
    assert [str(e) for e in caught.value.errors] == [
        "t.yaml:10: devices[0].adress: unknown key; did you mean 'address'?"]


@pytest.mark.parametrize("host", ["192.0.2.1", "core-1.example.net", "localhost", "[2001:db8::1]:1161", "fe80::1",
                                  "sw-7.lab:1161", "10.0.0.1:65535"])
def test_valid_addresses_and_host_names_still_load(host: str) -> None:
    loaded = load_config_text(config(address=host), file="t.yaml", environ={}, builtin_profiles=PROFILES)
    assert loaded.devices["sw1"].host in host


def test_secret_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    secret = tmp_path / "community"
    secret.write_bytes(b"pub\xfflic\n")
    path = tmp_path / "netwatt.yaml"
    path.write_text(config(credential=f"{{version: 2c, community: 'file:{secret}'}}"))
    result = netwatt("check-config", "-c", str(path))
    assert result.returncode == 2
    assert f"{path}:3: credentials.lab.community: file '{secret}' is not UTF-8 text" in result.stderr
    assert "pub" not in result.stderr.replace(str(tmp_path), "")
    assert "Traceback" not in result.stderr


def test_run_refuses_a_broken_interval_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "netwatt.yaml"
    path.write_text(config(agent=f"  interval: .inf\n  state_directory: {tmp_path}\n  energy_interval: {HUGE}"))
    result = netwatt("run", "--once", "-c", str(path))
    assert result.returncode == 2
    assert "agent.interval: a duration must be finite" in result.stderr
    assert "agent.energy_interval: is too large" in result.stderr
    assert "Traceback" not in result.stderr


def show(path: Path, env: dict[str, str] | None = None) -> str:
    result = netwatt("check-config", "-c", str(path), "--show", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_show_prints_the_keys_the_file_uses_and_loads_back(tmp_path: Path) -> None:
    example = ROOT / "config" / "netwatt.example.yaml"
    secrets = tmp_path / "credentials"
    secrets.mkdir()
    for name, value in (("netwatt_snmp-auth", "auth-pass-s3cret"), ("netwatt_snmp-priv", "priv-pass-s3cret"),
                        ("netwatt_netconf-password", "netconf-pass-s3cret")):
        (secrets / name).write_text(value)
    env = {"SNMP_COMMUNITY": "c0mmunity-s3cret", "CREDENTIALS_DIRECTORY": str(secrets)}
    shown = show(example, env)
    for internal in ("interval_s", "timeout_s", "key_lines", "host:", "port: 161", "start_s", "g_per_kwh",
                     "ssh_credentials"):
        assert internal not in shown
    for spelled in ("  interval: 60s\n", "  address: 192.0.2.20:1161\n", "    type: ssh\n", "  max_age: 35d\n",
                    "    community: <secret env:SNMP_COMMUNITY>\n"):
        assert spelled in shown
    assert "s3cret" not in shown
    again = tmp_path / "shown.yaml"
    again.write_text(re.sub(r"<secret ([^>]*)>", r"\1", shown))        # the references, as the file has them
    assert show(again, env) == shown


def test_show_of_a_wifi_config_loads_back(tmp_path: Path) -> None:
    env = {"NETWATT_WLC_COMMUNITY": "wlc-s3cret", "NETWATT_WIFI_TOKEN": "token-s3cret-0123456789"}
    shown = show(ROOT / "config" / "examples" / "velodrome.yaml", env)
    assert "s3cret" not in shown
    for internal in ("evaluate_every_s", "estimates_w", "dead_man_s", "duration_s", "targets:"):
        assert internal not in shown
    assert "  api:\n    listen: 127.0.0.1:8470\n    token: <secret env:NETWATT_WIFI_TOKEN>\n" in shown
    again = tmp_path / "shown.yaml"
    again.write_text(re.sub(r"<secret ([^>]*)>", r"\1", shown))
    assert show(again, env) == shown
