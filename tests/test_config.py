"""Config loading: the example is valid, and every kind of bad input names file, line and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config.dump import dump_config
from agent.config.load import load_config, load_config_text
from agent.errors import ConfigError, ConfigErrors
from agent.power.profile_files import load_builtin_profiles

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "netwatt.example.yaml"
PROFILES = load_builtin_profiles()
SECRET_VALUES = {"SNMP_COMMUNITY": "c0mmunity-s3cret"}


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    (tmp_path / "netwatt_snmp-auth").write_text("auth-pass-s3cret\n")
    (tmp_path / "netwatt_snmp-priv").write_text("priv-pass-s3cret\n")
    (tmp_path / "netwatt_netconf-password").write_text("netconf-pass-s3cret\n")
    return tmp_path


def example_env(credentials_dir: Path) -> dict[str, str]:
    return {**SECRET_VALUES, "CREDENTIALS_DIRECTORY": str(credentials_dir)}


def load(text: str, env: dict[str, str] | None = None) -> object:
    return load_config_text(text, file="test.yaml", environ=env or {}, builtin_profiles=PROFILES)


BASE = """\
version: 1
credentials:
  lab: {version: 2c, community: "env:COMM"}
sites:
  paris: {timezone: Europe/Paris, grid_zone: FR}
devices:
  - {name: sw1, address: "192.0.2.1", site: paris, credential: lab}
"""


def error_of(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(text, {"COMM": "public", **(env or {})})
    return caught.value


def test_example_config_is_valid(credentials_dir: Path) -> None:
    config = load_config(EXAMPLE, environ=example_env(credentials_dir), builtin_profiles=PROFILES)
    assert set(config.devices) == {"core-1", "sw-7", "edge-3"}
    sw7 = config.devices["sw-7"]
    assert (sw7.host, sw7.port, sw7.timeout_s, sw7.interval_s) == ("192.0.2.20", 1161, 2.0, 300.0)
    assert config.devices["core-1"].profiles is None          # auto
    assert config.credentials["core-v3"].priv_protocol == "AES256"
    assert config.agent.collection_jitter_s == 5.0
    edge = config.devices["edge-3"].netconf
    assert edge is not None
    assert (config.devices["edge-3"].credential, edge.port, edge.profiles) == ("", 830, ("junos_power_usage",))
    assert config.devices["core-1"].netconf is not None


def test_minimal_config_defaults() -> None:
    config = load(BASE, {"COMM": "public"})
    device = config.devices["sw1"]  # type: ignore[attr-defined]
    assert (device.port, device.timeout_s, device.retries, device.max_repetitions) == (161, 2.0, 1, 25)
    assert [o.type for o in config.outputs] == ["sqlite"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (BASE + "  - {name: sw2, address: 192.0.2.2, site: paris, credential: lab, timout: 2}\n",
         8, "devices[1].timout", "unknown key; did you mean 'timeout'?"),
        (BASE.replace("version: 1", "version: 2"), 1, "version", "not supported"),
        (BASE + "  - {name: sw2, address: 192.0.2.2, credential: nope}\n",
         8, "devices[1].credential", "unknown credential 'nope'"),
        (BASE + "  - {name: sw2, address: 192.0.2.2, site: lyon, credential: lab}\n",
         8, "devices[1].site", "unknown site 'lyon'"),
        (BASE + "  - {name: sw2, address: 192.0.2.2, credential: lab, retries: many}\n",
         8, "devices[1].retries", "must be an integer"),
        (BASE + "  - {name: sw2, address: '192.0.2.2:99999', credential: lab}\n",
         8, "devices[1].address", "out of range"),
        (BASE + "  - {name: sw2, address: 'not a host!', credential: lab}\n",
         8, "devices[1].address", "not an IP address or host name"),
        (BASE + "  - {name: sw1, address: 192.0.2.2, credential: lab}\n",
         8, "devices[1].name", "used twice (first at line 7)"),
        (BASE + "  - {name: sw2, address: 192.0.2.2, credential: lab, profiles: [nope]}\n",
         8, "devices[1].profiles", "unknown profile 'nope'"),
        (BASE + "  - {name: sw2, address: 192.0.2.2, credential: lab, timeout: soon}\n",
         8, "devices[1].timeout", "not a duration"),
        (BASE.replace('community: "env:COMM"', 'community: "env:MISSING_VAR"'),
         3, "credentials.lab.community", "environment variable MISSING_VAR is not set"),
        (BASE.replace('community: "env:COMM"', "community: public"),
         3, "credentials.lab.community", "never the secret itself"),
        (BASE.replace("timezone: Europe/Paris", "timezone: Mars/Olympus"),
         5, "sites.paris.timezone", "not a known time zone"),
        (BASE + "agent: {interval: 10s, collection_jitter: 20s}\n",
         8, "agent.collection_jitter", "shorter than interval"),
        (BASE.replace("version: 1", "version: 1\nversion: 1"), 2, "version", "duplicate key"),
    ],
)
def test_bad_config_names_file_line_and_key(text: str, line: int, key: str, message: str) -> None:
    error = error_of(text)
    found = error.errors[0] if isinstance(error, ConfigErrors) else error
    assert found.file == "test.yaml"
    assert (found.line, found.key) == (line, key)
    assert message in found.message
    assert str(found).startswith(f"test.yaml:{line}: {key}:")


V3 = """\
version: 1
credentials:
  v3: {version: 3, username: u, auth_protocol: %s, auth_password: "env:A", priv_protocol: %s,
       priv_password: "env:P"}
devices: []
"""


@pytest.mark.parametrize(
    ("auth", "priv", "env", "message"),
    [
        ("SHA999", "AES", {"A": "x" * 8, "P": "y" * 8}, "'SHA999' is not one of"),
        ("SHA256", "BLOWFISH", {"A": "x" * 8, "P": "y" * 8}, "'BLOWFISH' is not one of"),
        ("SHA256", "AES", {"A": "short", "P": "y" * 8}, "at least 8 characters"),
    ],
)
def test_bad_snmpv3_credentials(auth: str, priv: str, env: dict[str, str], message: str) -> None:
    assert message in str(error_of(V3 % (auth, priv), env))


def test_v3_protocol_spellings_are_normalised() -> None:
    config = load(V3 % ("sha-256", "aes256"), {"A": "x" * 8, "P": "y" * 8})
    credential = config.credentials["v3"]  # type: ignore[attr-defined]
    assert (credential.auth_protocol, credential.priv_protocol) == ("SHA256", "AES256")


def test_a_cipher_pysnmp_cannot_run_here_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from collectors.snmp import ciphers  # noqa: PLC0415
    assert ciphers.missing_cipher("AES256") is None          # the declared cryptography provides it
    monkeypatch.setattr(ciphers, "_module_works", lambda module: not module.endswith(".aes"))
    error = error_of(V3 % ("SHA256", "AES256"), {"A": "x" * 8, "P": "y" * 8})
    assert "credentials.v3.priv_protocol: AES256 privacy needs cryptography>=47" in str(error)
    assert load(V3 % ("SHA256", "DES"), {"A": "x" * 8, "P": "y" * 8}) is not None


def test_check_config_names_the_missing_cipher_of_an_old_cryptography(tmp_path: Path) -> None:
    """The real probe, with cryptography as Debian 12 ships it (no decrepit CFB): exit 2, said once."""
    path = tmp_path / "v3.yaml"
    path.write_text(V3.replace("devices: []", "devices:\n  - {name: core-1, address: 192.0.2.1, credential: v3}")
                    % ("SHA256", "AES"))
    hide_cfb = ("import sys; sys.modules['cryptography.hazmat.decrepit.ciphers.modes'] = None; "
                "from agent.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", hide_cfb, "check-config", "-c", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "A": "x" * 8, "P": "y" * 8})
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: credentials.v3.priv_protocol: AES privacy needs cryptography>=47" in result.stderr


def test_every_device_problem_is_reported_at_once() -> None:
    text = BASE + ("  - {name: a, address: 192.0.2.2, credential: nope}\n"
                   "  - {name: b, address: 192.0.2.3, credential: lab, color: red}\n")
    error = error_of(text)
    assert isinstance(error, ConfigErrors)
    assert [(e.line, e.key) for e in error.errors] == [(8, "devices[1].credential"), (9, "devices[2].color")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ndevices: [\n", "not valid YAML"),
        ("", "the file is empty"),
        ("- just\n- a list\n", "must be a mapping"),
        ("version: 1\nx: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        # exponential alias expansion must not be walked: the unknown key is reported first
        ("version: 1\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
         "unknown key"),
    ],
)
def test_malformed_and_hostile_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(text)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\n\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"binary.yaml: not UTF-8"):
        load_config(binary, environ={}, builtin_profiles=PROFILES)
    with pytest.raises(ConfigError, match=r"missing.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml", environ={}, builtin_profiles=PROFILES)


def test_secret_file_reference_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "community.txt").write_text("from-a-file\n")
    path = tmp_path / "netwatt.yaml"
    path.write_text(BASE.replace("env:COMM", "file:community.txt"))
    config = load_config(path, environ={}, builtin_profiles=PROFILES)
    assert config.credentials["lab"].snmp_auth().community == "from-a-file"  # type: ignore[union-attr]


def test_dump_never_shows_a_secret(credentials_dir: Path) -> None:
    config = load_config(EXAMPLE, environ=example_env(credentials_dir), builtin_profiles=PROFILES)
    dumped = dump_config(config)
    assert "<secret env:SNMP_COMMUNITY>" in dumped
    assert "<secret credential:netwatt_snmp-auth>" in dumped
    for secret in ("c0mmunity-s3cret", "auth-pass-s3cret", "priv-pass-s3cret", "netconf-pass-s3cret"):
        assert secret not in dumped
        assert secret not in repr(config)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60, cwd=ROOT, check=False)


def test_check_config_cli_exit_codes(tmp_path: Path, credentials_dir: Path) -> None:
    env = {**os.environ, **example_env(credentials_dir)}
    ok = run_cli("check-config", "-c", str(EXAMPLE), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "3 devices, 3 credentials" in ok.stdout
    shown = run_cli("check-config", "-c", str(EXAMPLE), "--show", env=env)
    assert shown.returncode == 0
    assert "c0mmunity-s3cret" not in shown.stdout + shown.stderr
    assert "netconf-pass-s3cret" not in shown.stdout + shown.stderr
    assert "<secret credential:netwatt_netconf-password>" in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "  - {name: x, address: 192.0.2.9, credential: lab, bogus: 1}\n")
    failed = run_cli("check-config", "-c", str(bad), env={**env, "COMM": "c0mmunity-s3cret"})
    assert failed.returncode == 2
    assert f"{bad}:8: devices[1].bogus: unknown key" in failed.stderr
    assert "c0mmunity-s3cret" not in failed.stderr


def test_bad_output_settings_fail_check_config_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "outputs.yaml"
    path.write_text("version: 1\ncredentials: {}\ndevices: []\noutputs:\n  - type: sqlite\n"
                    "  - type: influxdb_v2\n    url: 'http://influx.example:8086'\n    org: ops\n"
                    "    bucket: netwatt\n    token: 'env:TOKEN'\n    content_encoding: brotli\n")
    result = run_cli("check-config", "-c", str(path), env={**os.environ, "TOKEN": "t0ken-s3cret"})
    assert result.returncode == 2
    assert f"{path}:11: outputs[1].content_encoding: influxdb_v2 output: content_encoding must be one of" in (
        result.stderr)
    assert "t0ken-s3cret" not in result.stderr


def _fleet_file(tmp_path: Path, devices: int, *, broken_line: bool = False) -> Path:
    lines = ["version: 1", "credentials:", "  c: {version: 2c, community: env:FLEET_COMMUNITY}", "devices:"]
    lines += [f"  - {{name: d{i:05d}, address: 10.{i // 65536}.{(i // 256) % 256}.{i % 256}, credential: c}}"
              for i in range(devices)]
    if broken_line:
        lines.append("  - {name: bad, address: 10.255.255.1, credential: nope}")
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_large_config_is_parsed_in_a_child_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's memory: a big file's YAML garbage stays in a throwaway process (agent/config/isolated.py)."""
    from agent.config import isolated  # noqa: PLC0415
    monkeypatch.setenv("FLEET_COMMUNITY", "s3cret-community")
    path = _fleet_file(tmp_path, 3000)
    here = load_config(path)
    with monkeypatch.context() as patched:        # the parent must not parse: the child did
        patched.setattr(isolated, "load_config", lambda *_a, **_k: pytest.fail("parsed in the agent's process"))
        child = isolated.load_config_isolated(path, from_bytes=1)
    assert child.devices == here.devices
    assert dump_config(child) == dump_config(here)
    assert child.snmp_target(child.devices["d02999"]) == here.snmp_target(here.devices["d02999"])   # secrets too


def test_isolated_parsing_reports_errors_and_skips_small_files(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.config import isolated  # noqa: PLC0415
    monkeypatch.setenv("FLEET_COMMUNITY", "x")
    broken = _fleet_file(tmp_path, 3000, broken_line=True)
    with pytest.raises(ConfigErrors) as caught:      # the same message as an in-process parse
        isolated.load_config_isolated(broken, from_bytes=1)
    assert f"{broken}:3005: devices[3000].credential:" in str(caught.value)
    small = _fleet_file(tmp_path, 10)
    monkeypatch.setattr(subprocess, "run", lambda *_a, **_k: pytest.fail("a child for a small file"))
    assert small.stat().st_size < isolated.ISOLATE_FROM_BYTES
    assert len(isolated.load_config_isolated(small).devices) == 10
