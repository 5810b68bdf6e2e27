"""The SNMP collector against real agents on 127.0.0.1: Net-SNMP snmpd (v2c, v3 authPriv) and
misbehaving agents. A failing device is a clear error in its own result; the others are unaffected."""

from __future__ import annotations

import asyncio
import time

import pytest
from pysnmp.proto import rfc1902

from agent.config.load import Config, load_config_text
from agent.poll import Poller
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import PollResult
from collectors.snmp.backends import BackendRouter
from tests.harness.pool import MisbehavingFactory, SnmpdFactory
from tests.harness.snmpd import NetSnmpd
from tests.harness.v3 import V3User

pytestmark = pytest.mark.integration

ENT, SENSOR = "1.3.6.1.2.1.47.1.1.1.1", "1.3.6.1.2.1.99.1.1.1"
NET_SNMP = rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10")
# A small switch: chassis, two PSUs reporting input watts, one optic reporting microwatts.
SWITCH = [
    f"override {ENT}.5.1 integer 3", f'override {ENT}.7.1 octet_str "Chassis"',
    *(line for i, name, watts in ((11, "PSU1 Input Power", 120), (12, "PSU2 Input Power", 95))
      for line in (f"override {ENT}.5.{i} integer 8", f'override {ENT}.7.{i} octet_str "{name}"',
                   f"override {ENT}.4.{i} integer 1",
                   f"override {SENSOR}.1.{i} integer 6", f"override {SENSOR}.2.{i} integer 9",
                   f"override {SENSOR}.3.{i} integer 0", f"override {SENSOR}.4.{i} integer {watts}",
                   f"override {SENSOR}.5.{i} integer 1")),
]
USERS = {
    "sha256aes": V3User("sha256aes", "auth-pass-256", "priv-pass-128", "SHA-256", "AES"),
    "sha512aes256": V3User("sha512aes256", "auth-pass-512", "priv-pass-256", "SHA-512", "AES-256"),
    "shaaes192": V3User("shaaes192", "auth-pass-sha1", "priv-pass-192", "SHA", "AES-192"),
}
NETWATT_PROTOCOLS = {"SHA-256": "SHA256", "SHA-512": "SHA512", "SHA": "SHA", "AES": "AES",
                     "AES-256": "AES256", "AES-192": "AES192"}


@pytest.fixture(scope="module")
def snmpd(snmpd_factory: SnmpdFactory) -> NetSnmpd:
    return snmpd_factory(communities=["netwatt-ro"], v3_users=list(USERS.values()), extra_lines=SWITCH)


def config_for(devices: list[str], credentials: list[str], env: dict[str, str]) -> Config:
    text = "version: 1\ncredentials:\n" + "".join(f"  {c}\n" for c in credentials)
    text += "devices:\n" + "".join(f"  - {d}\n" for d in devices)
    return load_config_text(text, environ=env, builtin_profiles=load_builtin_profiles())


async def poll(config: Config, backend: str) -> dict[str, PollResult]:
    client = BackendRouter(backend)
    try:
        results = await Poller(config, client).poll_many(config.devices.values())
    finally:
        await client.close()
    assert {r.backend for r in results if r.power.readings} <= {backend}
    return {r.device: r for r in results}


def v3_credential(name: str, user: V3User, *, auth: str | None = None, priv: str | None = None) -> str:
    return (f"{name}: {{version: 3, username: {user.username}, "
            f"auth_protocol: {NETWATT_PROTOCOLS[user.auth_protocol]}, auth_password: 'env:{name.upper()}_A', "
            f"priv_protocol: {NETWATT_PROTOCOLS[user.priv_protocol or '']}, "
            f"priv_password: 'env:{name.upper()}_P'}}")


def test_v2c_poll_of_a_real_agent(snmpd: NetSnmpd, snmp_backend: str) -> None:
    config = config_for(
        [f"{{name: sw, address: '127.0.0.1:{snmpd.port}', credential: v2, timeout: 2s}}"],
        ["v2: {version: 2c, community: 'env:COMMUNITY'}"], {"COMMUNITY": "netwatt-ro"})
    result = asyncio.run(poll(config, snmp_backend))["sw"]
    assert result.errors == []
    assert (result.power.power_w, str(result.power.method), result.power.basis) == (215.0, "measured",
                                                                                   "psu_input")
    assert result.info.sys_object_id.startswith("1.3.6.1.4.1.8072.")      # Net-SNMP's own
    assert {r.component for r in result.power.readings if r.counted} == {"PSU1 Input Power",
                                                                          "PSU2 Input Power"}


def test_a_first_v2c_poll_costs_gufo_no_more_requests_than_pysnmp(snmpd: NetSnmpd) -> None:
    """gufo's own GETBULK carries one OID; on v2c netwatt writes GETBULKs with every subtree instead."""
    config = config_for(
        [f"{{name: sw, address: '127.0.0.1:{snmpd.port}', credential: v2, timeout: 2s}}"],
        ["v2: {version: 2c, community: 'env:COMMUNITY'}"], {"COMMUNITY": "netwatt-ro"})
    gufo, pysnmp = (asyncio.run(poll(config, backend))["sw"] for backend in ("gufo", "pysnmp"))
    assert gufo.power.power_w == pysnmp.power.power_w == 215.0
    assert 2 <= gufo.requests <= pysnmp.requests        # the identity GET and at least one GETBULK


@pytest.mark.parametrize("user", sorted(USERS))
def test_v3_authpriv_with_sha2_and_aes(snmpd: NetSnmpd, user: str, snmp_backend: str) -> None:
    u = USERS[user]
    env = {f"{user.upper()}_A": u.auth_password, f"{user.upper()}_P": u.priv_password}
    config = config_for([f"{{name: sw, address: '127.0.0.1:{snmpd.port}', credential: {user}}}"],
                        [v3_credential(user, u)], env)
    result = asyncio.run(poll(config, snmp_backend))["sw"]
    assert result.errors == []
    assert result.power.power_w == 215.0


def test_bad_credentials_fail_only_their_device(snmpd: NetSnmpd, snmp_backend: str) -> None:
    good, u = USERS["sha256aes"], USERS["sha256aes"]
    env = {"GOOD_A": good.auth_password, "GOOD_P": good.priv_password,
           "WRONGAUTH_A": "not-the-auth-pass", "WRONGAUTH_P": good.priv_password,
           "WRONGPRIV_A": good.auth_password, "WRONGPRIV_P": "not-the-priv-pass",
           "COMMUNITY": "wrong-community"}
    address = f"'127.0.0.1:{snmpd.port}'"
    config = config_for(
        [f"{{name: good, address: {address}, credential: good}}",
         f"{{name: wrong-auth, address: {address}, credential: wrongauth, timeout: 1s, retries: 0}}",
         f"{{name: wrong-priv, address: {address}, credential: wrongpriv, timeout: 1s, retries: 0}}",
         f"{{name: wrong-community, address: {address}, credential: v2, timeout: 1s, retries: 0}}"],
        [v3_credential("good", u), v3_credential("wrongauth", u), v3_credential("wrongpriv", u),
         "v2: {version: 2c, community: 'env:COMMUNITY'}"], env)
    results = asyncio.run(poll(config, snmp_backend))
    assert results["good"].errors == []
    assert results["good"].power.power_w == 215.0
    [auth_error] = results["wrong-auth"].errors
    assert auth_error.startswith("auth: SNMPv3 rejected by 127.0.0.1:")
    assert "digest" in auth_error.lower()
    # snmpd drops a packet it cannot decrypt: to the manager that is silence
    assert results["wrong-priv"].errors[0].startswith("timeout: no reply from 127.0.0.1:")
    assert results["wrong-community"].errors == [
        f"timeout: no reply from 127.0.0.1:{snmpd.port} after 1 attempt(s) of 1 s "
        "(wrong community, ACL, or device down)"]
    for name in ("wrong-auth", "wrong-priv", "wrong-community"):
        assert results[name].power.power_w is None
        assert str(results[name].power.method) == "unknown"
        for secret in env.values():
            assert secret not in " ".join(results[name].errors)


def test_broken_agents_are_clear_errors_and_never_stall_the_others(
        snmpd: NetSnmpd, misbehaving_agent_factory: MisbehavingFactory, snmp_backend: str) -> None:
    sys_object_id = "1.3.6.1.2.1.1.2.0"
    wrong_types = misbehaving_agent_factory("wrong_types", {
        sys_object_id: NET_SNMP,
        f"{ENT}.5.1": 3, f"{ENT}.7.1": b"Chassis", f"{ENT}.4.2": 1, f"{ENT}.5.2": 8,
        f"{ENT}.7.2": b"PSU1 Input Power", f"{SENSOR}.1.2": 6, f"{SENSOR}.2.2": 9, f"{SENSOR}.3.2": 0,
        f"{SENSOR}.4.2": b"two hundred", f"{SENSOR}.5.2": 1})
    agents = {mode: misbehaving_agent_factory(mode) for mode in ("silent", "garbage", "non_increasing")}
    slow = misbehaving_agent_factory("slow", {sys_object_id: NET_SNMP},
                                     delay_s=5.0)
    devices = [f"{{name: good, address: '127.0.0.1:{snmpd.port}', credential: v2}}",
               f"{{name: wrong-types, address: '127.0.0.1:{wrong_types.port}', credential: v2}}",
               f"{{name: slow, address: '127.0.0.1:{slow.port}', credential: v2, timeout: 2s, retries: 0}}",
               "{name: unresolvable, address: 'no-such-host.invalid', credential: v2}"]
    devices += [f"{{name: {mode.replace('_', '-')}, address: '127.0.0.1:{agent.port}', credential: v2, "
                "timeout: 2s, retries: 0}" for mode, agent in agents.items()]
    config = config_for(devices, ["v2: {version: 2c, community: 'env:C'}"], {"C": "netwatt-ro"})
    started = time.monotonic()
    results = asyncio.run(poll(config, snmp_backend))
    elapsed = time.monotonic() - started

    assert results["good"].errors == []
    assert results["good"].power.power_w == 215.0
    assert results["good"].elapsed_s < 1.0, "a healthy device waited for the broken ones"
    assert elapsed < 4.0, "devices were polled one after another, not concurrently"

    typed = results["wrong-types"]
    [rejected] = [r for r in typed.power.readings if r.address == f"{SENSOR}.4.2"]
    assert rejected.reason == "expected a number, got OCTET STRING 'two hundred'"
    assert typed.power.power_w is None

    assert results["silent"].errors[0].startswith("timeout: no reply from 127.0.0.1:")
    assert results["slow"].errors[0].startswith("timeout:")
    assert results["garbage"].errors[0].startswith("protocol: undecodable reply")
    non_increasing = results["non-increasing"]
    assert any(e.startswith("non_increasing: agent returned") for e in non_increasing.errors), (
        non_increasing.errors)
    assert results["unresolvable"].errors[0].startswith("unreachable: cannot resolve 'no-such-host.invalid'")
