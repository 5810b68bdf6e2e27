"""NETCONF in the agent: configuration checks, trust on first use, discover/poll as a user runs them,
and one device read over SNMP and NETCONF without double counting. Real servers only: the canned
NETCONF server over real SSH, snmpsim for the SNMP side."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import struct
from pathlib import Path

import pytest

from agent.config.dump import dump_config
from agent.config.load import load_config_text
from agent.errors import ConfigError, ConfigErrors
from agent.lab import SnmpsimProcess
from agent.poll import Poller
from agent.power.profile_files import load_builtin_profiles, parse_profile
from agent.power.readings import Kind, PollResult, Status
from agent.power.yang_normalise import _number
from agent.store.sqlite import Store
from agent.yamlfile.load import load_yaml_text
from collectors.snmp.pysnmp_client import PysnmpClient
from collectors.snmp.recorded import RecordedClient
from tests.agent_process import netwatt
from tests.harness.netconf_canned import CannedNetconfServer
from tests.harness.netconf_pool import NetconfServerPool
from tests.harness.netconfd import ssh_keygen

GOLDEN = Path(__file__).resolve().parent / "golden"
PROFILES = load_builtin_profiles()

BASE = """\
version: 1
credentials:
  nc: {type: ssh, username: netwatt, password: "env:NC_PASS"}
  snmp: {version: 2c, community: "env:COMM"}
devices:
"""
ENV = {"NC_PASS": "s3cret-nc", "COMM": "public"}


def error_of(text: str) -> ConfigError:
    with pytest.raises((ConfigError, ConfigErrors)) as caught:
        load_config_text(text, file="test.yaml", environ=ENV, builtin_profiles=PROFILES)
    error = caught.value
    return error.errors[0] if isinstance(error, ConfigErrors) else error


@pytest.mark.parametrize(("device", "key", "message"), [
    ("{name: r1, address: 192.0.2.1, netconf: {credential: snmp}}", "devices[0].netconf.credential",
     "unknown SSH credential 'snmp'"),
    ("{name: r1, address: 192.0.2.1, netconf: {credential: nc, host_key: 'MD5:aa:bb'}}",
     "devices[0].netconf.host_key", "not an OpenSSH SHA256 fingerprint"),
    ("{name: r1, address: 192.0.2.1, netconf: {credential: nc, profiles: [entity_sensor]}}",
     "devices[0].netconf.profiles", "'entity_sensor' is not a NETCONF profile"),
    ("{name: r1, address: 192.0.2.1, credential: snmp, profiles: [junos_power_usage]}",
     "devices[0].profiles", "'junos_power_usage' is a NETCONF profile"),
    ("{name: r1, address: 192.0.2.1, netconf: {credential: nc, prot: 830}}", "devices[0].netconf.prot",
     "unknown key; did you mean 'port'?"),
    ("{name: r1, address: 192.0.2.1, netconf: {credential: nc, port: 70000}}", "devices[0].netconf.port",
     "at most 65535"),
    ("{name: r1, address: 192.0.2.1}", "devices[0].credential", "an SNMP credential, or a netconf: block"),
])
def test_netconf_block_errors_name_file_line_and_key(device: str, key: str, message: str) -> None:
    error = error_of(BASE + f"  - {device}\n")
    assert (error.file, error.line, error.key) == ("test.yaml", 6, key)
    assert message in error.message


def test_ssh_credential_needs_a_secret_reference() -> None:
    error = error_of(BASE.replace('password: "env:NC_PASS"', "password: hunter2") + "  []\n")
    assert (error.line, error.key) == (3, "credentials.nc.password")
    assert "never the secret itself" in error.message
    error = error_of(BASE.replace(', password: "env:NC_PASS"', "") + "  []\n")
    assert "set password (a secret reference) or private_key" in error.message


def test_netconf_only_device_and_dump_without_secrets() -> None:
    config = load_config_text(BASE + "  - {name: r1, address: 192.0.2.1, netconf: {credential: nc, "
                              "host_key: 'SHA256:" + "A" * 43 + "='}}\n", file="t.yaml", environ=ENV,
                              builtin_profiles=PROFILES)
    device = config.devices["r1"]
    assert device.credential == ""
    assert device.netconf is not None
    assert (device.netconf.port, device.netconf.host_key) == (830, "SHA256:" + "A" * 43)
    dumped = dump_config(config)
    assert "s3cret-nc" not in dumped
    assert "<secret env:NC_PASS>" in dumped


@pytest.mark.parametrize(("change", "key", "message"), [
    (("value: oc:state/oc:used-power", "value: x:state/oc:used-power"), "metrics[0].value",
     "prefix 'x' is not declared"),
    (("path: /oc:components/oc:component", "path: /components/oc:component"), "metrics[0].path",
     "needs a namespace prefix"),
    (("label: '{type} {name}'", "label: '{kind}'"), "metrics[0].label", "unknown placeholder {kind}"),
    (("decode: ieeefloat32", "decode: float64"), "metrics[2].decode", "is not one of"),
    (("capacity_column: capacity", "capacity_column: rating"), "metrics[2].capacity_column",
     "'rating' is not a declared column"),
    (("{label: 'CHASSIS', kind: chassis}", "{entity_class: [chassis], kind: chassis}"), "metrics[0].classify",
     "entity_class needs the SNMP entity table"),
])
def test_yang_profile_errors_name_file_line_and_key(change: tuple[str, str], key: str, message: str) -> None:
    source = (Path(__file__).resolve().parent.parent / "config/profiles/openconfig_platform.yaml").read_text()
    assert change[0] in source
    text = source.replace(change[0], change[1], 1)
    with pytest.raises(ConfigError) as caught:
        parse_profile(load_yaml_text(text, "oc.yaml"), file="oc.yaml")
    assert caught.value.key == key
    assert caught.value.line is not None
    assert message in caught.value.message


def test_ieeefloat32_base64_and_decimal_text() -> None:
    encoded = base64.b64encode(struct.pack(">f", 301.25)).decode()
    assert _number(encoded, "ieeefloat32") == 301.25
    assert _number("301.25", "ieeefloat32") == 301.25      # implementations that send decimal text
    assert _number("AAAA", "ieeefloat32") is None           # 3 bytes: not a float32
    assert _number("10.89", "") == 10.89                    # decimal64
    assert _number("-", "") is None


def _config_text(state: Path, server: CannedNetconfServer, name: str) -> str:
    return (f"version: 1\nagent: {{state_directory: '{state}'}}\ncredentials:\n"
            f"{server.credential_yaml('nc', 'env:NC_PASS')}devices:\n"
            f"  - {{name: {name}, address: {server.host}, {server.netconf_yaml('nc', '5s')}}}\n")


@pytest.mark.integration
def test_trust_on_first_use_then_poll(netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    server = netconf_servers.canned(GOLDEN / "nc_openconfig" / "netconf")
    state = tmp_path / "state"
    config = tmp_path / "netwatt.yaml"
    config.write_text(_config_text(state, server, "oc1"))
    env = {"NC_PASS": server.password}
    presented = server.host_key_fingerprint()

    first = netwatt("poll", "-c", str(config), "--device", "oc1", env=env)
    assert first.returncode == 1
    output = json.loads(first.stdout)
    assert output["power_w"] is None
    assert output["errors"] == [f"host_key: device oc1: unknown SSH host key {presented} at "
                                f"{server.host}:{server.port}; nothing is recorded for it (run `netwatt trust "
                                f"--device oc1` or pin host_key) (connect)"]

    declined = netwatt("trust", "-c", str(config), "--device", "oc1", env=env)     # stdin is not a terminal
    assert declined.returncode == 1
    assert presented in declined.stdout
    assert "not recorded" in declined.stdout
    assert not (state / "known_hosts").exists()

    accepted = netwatt("trust", "-c", str(config), "--device", "oc1", "--yes", env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert f"[{server.host}]:{server.port} ssh-ed25519 " in (state / "known_hosts").read_text()

    polled = netwatt("--debug", "poll", "-c", str(config), "--device", "oc1", env=env)
    assert polled.returncode == 0, polled.stdout + polled.stderr
    result = json.loads(polled.stdout)
    assert (result["power_w"], result["basis"], result["profiles"]) == (612.0, "chassis", ["openconfig_platform"])
    assert server.password not in polled.stdout + polled.stderr

    once = netwatt("run", "-c", str(config), "--once", env=env)
    assert once.returncode == 0, once.stderr
    stored = [p.line for p in Store(state).points()]
    assert any(line.startswith("device_power,") and "device=oc1" in line and "watts=612" in line for line in stored)

    discovered = netwatt("discover", "-c", str(config), "--device", "oc1", env=env)
    assert discovered.returncode == 0, discovered.stderr
    assert "oc-psu:output-power" in discovered.stdout
    assert "COUNTED" in discovered.stdout


@pytest.mark.integration
def test_changed_key_is_refused_and_shown_by_trust(netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    server = netconf_servers.canned(GOLDEN / "nc_junos_mx" / "netconf")
    state = tmp_path / "state"
    state.mkdir()
    other = tmp_path / "old_key"
    ssh_keygen(other, "the device before")
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    (state / "known_hosts").write_text(f"[{server.host}]:{server.port} {key_type} {key}\n")
    config = tmp_path / "netwatt.yaml"
    config.write_text(_config_text(state, server, "mx1"))
    env = {"NC_PASS": server.password}

    polled = netwatt("poll", "-c", str(config), "--device", "mx1", env=env)
    assert polled.returncode == 1
    [error] = json.loads(polled.stdout)["errors"]
    old = CannedNetconfServer.fingerprint_of(other.with_suffix(".pub"))
    assert "device mx1" in error
    assert "CHANGED" in error
    assert server.host_key_fingerprint() in error
    assert old in error

    shown = netwatt("trust", "-c", str(config), "--device", "mx1", env=env)
    assert shown.returncode == 1
    assert "records a DIFFERENT key" in shown.stdout
    assert old in shown.stdout


@pytest.mark.integration
def test_snmp_for_poe_netconf_for_power(lab: SnmpsimProcess, netconf_servers: NetconfServerPool,
                                        tmp_path: Path) -> None:
    """The brief's example: PoE over SNMP (a 2960X walk), the device total over NETCONF."""
    result = _poll_mixed(lab, netconf_servers, tmp_path, "cisco_c2960x_poe", "nc_openconfig")
    assert result.errors == []
    assert (result.power.power_w, result.power.basis) == (612.0, "chassis")
    snmp_poe = [r for r in result.power.readings if r.source == "snmp" and r.kind is Kind.POE_PORT]
    assert snmp_poe
    assert not any(r.counted for r in snmp_poe)
    assert {r.source for r in result.power.readings if r.counted} == {"netconf"}


@pytest.mark.integration
def test_same_kind_over_both_protocols_counts_once(lab: SnmpsimProcess, netconf_servers: NetconfServerPool,
                                                   tmp_path: Path) -> None:
    # Aruba CX (SNMP) reads PSU output 129 W; the NETCONF side reads PEM output 1121 W: never 1250 W.
    result = _poll_mixed(lab, netconf_servers, tmp_path, "arubacx_6300", "nc_junos_mx")
    assert result.errors == []
    assert (result.power.power_w, result.power.basis) == (1121.0, "psu_output")
    snmp_psu = [r for r in result.power.readings if r.source == "snmp" and r.kind is Kind.PSU_OUTPUT]
    assert snmp_psu
    assert all(r.status is Status.DUPLICATE and "also read over NETCONF" in r.reason for r in snmp_psu)
    assert not any(r.counted for r in snmp_psu)


def _poll_mixed(lab: SnmpsimProcess, servers: NetconfServerPool, tmp_path: Path, walk: str,
                case: str) -> PollResult:
    server = servers.canned(GOLDEN / case / "netconf")
    state = tmp_path / "state"
    server.trust_in(state)
    text = (f"version: 1\nagent: {{state_directory: '{state}'}}\ncredentials:\n{server.credential_yaml('nc')}"
            f"  lab: {{version: 2c, community: 'plain:{walk}'}}\n"
            f"devices:\n  - {{name: mix1, address: '{lab.host}:{lab.port}', credential: lab, "
            f"{server.netconf_yaml('nc', '5s')}}}\n")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)

    async def run() -> PollResult:
        client = PysnmpClient()
        try:
            return await Poller(config, client).poll(config.devices["mix1"])
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.mark.integration
def test_private_key_login_from_config_against_netconfd(netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    """An SSH credential with only a private key logs in to real sshd + netconfd; netconfd serves no
    power model, so the poll ends with the no-profile error, not an authentication one."""
    server = netconf_servers.netconfd()
    state = tmp_path / "state"
    state.mkdir()
    (state / "known_hosts").write_text(server.known_hosts.read_text())
    text = (f"version: 1\nagent: {{state_directory: '{state}'}}\n"
            f"credentials:\n  key: {{type: ssh, username: {server.username}, private_key: '{server.key_file}'}}\n"
            f"devices:\n  - {{name: yuma1, address: {server.host}, "
            f"netconf: {{credential: key, port: {server.port}}}}}\n")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    assert config.ssh_credentials["key"].password is None

    async def run() -> PollResult:
        client = PysnmpClient()
        try:
            return await Poller(config, client).poll(config.devices["yuma1"])
        finally:
            await client.close()

    result = asyncio.run(run())
    [error] = result.errors
    assert re.fullmatch(r"device yuma1: no NETCONF profile matches the \d\d+ capabilities it announced", error)
    assert result.power.power_w is None


@pytest.mark.integration
def test_profiles_chosen_from_the_yang_library(netconf_servers: NetconfServerPool, tmp_path: Path) -> None:
    """A device that lists its YANG 1.1 modules only in the YANG library (RFC 7895), not in <hello>."""
    replies = tmp_path / "replies"
    shutil.copytree(GOLDEN / "nc_iosxe_c9300" / "netconf", replies)
    (replies / "capabilities.txt").write_text("urn:ietf:params:netconf:capability:yang-library:1.0"
                                              "?revision=2016-06-21&module-set-id=7a3c\n")
    data = (replies / "data.xml").read_text()
    library = ('  <modules-state xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library">\n' + "".join(
        f"    <module><name>{name}</name><revision>{rev}</revision><namespace>http://cisco.com/ns/yang/{name}"
        f"</namespace><conformance-type>implement</conformance-type></module>\n"
        for name, rev in (("Cisco-IOS-XE-environment-oper", "2022-11-01"), ("Cisco-IOS-XE-poe-oper", "2023-07-01")))
        + "  </modules-state>\n")
    (replies / "data.xml").write_text(data.replace("</data>", library + "</data>"))
    server = netconf_servers.canned(replies)
    state = tmp_path / "state"
    server.trust_in(state)
    text = (f"version: 1\nagent: {{state_directory: '{state}'}}\ncredentials:\n{server.credential_yaml('nc')}"
            f"devices:\n  - {{name: xe1, address: {server.host}, {server.netconf_yaml('nc')}}}\n")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    poller = Poller(config, RecordedClient.from_files({}))     # NETCONF only: no SNMP traffic
    first = asyncio.run(poller.poll(config.devices["xe1"]))
    assert first.errors == []
    assert first.info.profiles == ["cisco_xe_environment", "cisco_xe_poe"]
    assert (first.power.power_w, first.power.basis) == (148.0, "psu_output")
    assert first.requests == 2                  # modules-state, then the power <get>
    again = asyncio.run(poller.poll(config.devices["xe1"]))
    assert again.requests == 1                  # the module list is kept for an hour
    assert again.power.power_w == 148.0


@pytest.mark.integration
def test_netconf_max_in_flight_bounds_concurrent_operations(netconf_servers: NetconfServerPool,
                                                            tmp_path: Path) -> None:
    """agent.netconf_max_in_flight: 1 and three devices answering in 0.6 s: they take turns (> 1.8 s),
    and queueing for the one thread is not a device's timeout (every device has its power)."""
    import time  # noqa: PLC0415
    server = netconf_servers.canned(GOLDEN / "nc_openconfig" / "netconf", delay_s=0.6)
    state = tmp_path / "state"
    server.trust_in(state)
    devices = "".join(f"  - {{name: oc{i}, address: {server.host}, {server.netconf_yaml('nc', '5s')}}}\n"
                      for i in range(3))
    text = (f"version: 1\nagent: {{state_directory: '{state}', netconf_max_in_flight: 1}}\n"
            f"credentials:\n{server.credential_yaml('nc')}devices:\n{devices}")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    assert config.agent.netconf_max_in_flight == 1

    async def run() -> list[PollResult]:
        return await Poller(config, RecordedClient.from_files({})).poll_many(config.devices.values())

    started = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - started > 1.8          # with 16 threads: ~1.1 s
    assert [(r.errors, r.power.power_w) for r in results] == [([], 612.0)] * 3
    with pytest.raises(ConfigError, match="netconf_max_in_flight"):
        load_config_text(text.replace("netconf_max_in_flight: 1", "netconf_max_in_flight: 0"), environ={},
                         builtin_profiles=PROFILES)
