"""The inventory of the netwatt configuration file: agent settings, credentials, profiles, sites,
devices and outputs, the part every feature reads.

``parse_inventory`` checks those sections of the file, collecting every error (unknown keys, wrong
types, dangling references, unresolvable secrets) with file, line and key. Devices are checked one by
one and all their problems are reported together. The features' own sections (``wifi:``,
``emissions:``) are parsed by the features; the whole ``Config`` is assembled above them
(agent/config/load.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.errors import ConfigError
from agent.power.profile_files import load_builtin_profiles, parse_profile
from agent.power.profiles import Profile
from agent.settings.address import join_host_port, split_host_port
from agent.settings.http import HttpSettings, parse_http
from agent.settings.netconf import (
    NetconfSettings,
    SshCredential,
    is_ssh_credential,
    parse_netconf_block,
    parse_ssh_credential,
)
from agent.settings.secrets import Secret, secret_at
from agent.yamlfile.section import Section
from collectors.snmp.ciphers import missing_cipher
from collectors.snmp.types import AuthProtocol, PrivProtocol, SnmpTarget, SnmpV2cAuth, SnmpV3Auth

CONFIG_VERSION = 1
# the SNMP client's own protocol names, by the spelling a config may use ("SHA-256" = "SHA256")
AUTH_PROTOCOLS: dict[str, AuthProtocol] = {name: name for name in get_args(AuthProtocol)}
PRIV_PROTOCOLS: dict[str, PrivProtocol] = {name: name for name in get_args(PrivProtocol)}
_Protocol = TypeVar("_Protocol", AuthProtocol, PrivProtocol)
ROLES = ("router", "switch", "wlc", "firewall", "access_point", "other")
OUTPUT_TYPES = ("sqlite", "influxdb_v1", "influxdb_v2", "influxdb_v3")
SNMP_BACKENDS = ("auto", "gufo", "pysnmp")     # collectors.snmp.backends


@dataclass(frozen=True, slots=True)
class AgentSettings:
    interval_s: float = 60.0
    round_interval: bool = True
    collection_jitter_s: float = 0.0
    flush_interval_s: float = 10.0
    flush_jitter_s: float = 0.0
    metric_batch_size: int = 5000
    metric_buffer_limit: int = 1_000_000
    state_directory: str = "/var/lib/netwatt"
    max_in_flight: int = 1000          # upper bound; the live bound adapts (collectors.snmp.limiter)
    hostname: str = ""
    energy_interval_s: float = 900.0   # energy is reported per interval of this length
    max_gap_s: float = 0.0             # longest gap between samples bridged; 0: three poll intervals
    shutdown_timeout_s: float = 10.0   # SIGTERM: finish polls and flush within this
    http: HttpSettings | None = None   # local /healthz and /metrics; off unless configured
    snmp_backend: str = "auto"         # reads: auto (gufo-snmp when it imports) | gufo | pysnmp
    netconf_max_in_flight: int = 16    # NETCONF operations at once (each holds a thread while it blocks)


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    version: Literal["2c", "3"]
    community: Secret | None = None
    username: str = ""
    auth_protocol: AuthProtocol | None = None
    auth_password: Secret | None = None
    priv_protocol: PrivProtocol | None = None
    priv_password: Secret | None = None
    context_name: str = ""

    def snmp_auth(self) -> SnmpV2cAuth | SnmpV3Auth:
        if self.version == "2c":
            assert self.community is not None
            return SnmpV2cAuth(self.community.reveal())
        return SnmpV3Auth(
            self.username,
            auth_protocol=self.auth_protocol,
            auth_password=self.auth_password.reveal() if self.auth_password else None,
            priv_protocol=self.priv_protocol,
            priv_password=self.priv_password.reveal() if self.priv_password else None,
            context_name=self.context_name,
        )


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    timezone: str
    grid_zone: str


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    host: str
    port: int
    site: str
    role: str
    credential: str                      # the SNMP credential; "" for a NETCONF-only device
    profiles: tuple[str, ...] | None     # None: chosen automatically by sysObjectID
    timeout_s: float
    retries: int
    max_repetitions: int
    interval_s: float | None = None
    model: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    line: int | None = None
    netconf: NetconfSettings | None = None
    snmp_backend: str | None = None      # overrides agent.snmp_backend for this device

    @property
    def address(self) -> str:
        return join_host_port(self.host, self.port)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    type: str
    settings: dict[str, Any]
    # where it was written, so errors found when the output is built still name file, line and key
    file: str = field(default="", compare=False)
    path: str = field(default="outputs", compare=False)
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.key_lines.get(key, self.key_lines.get("type")),
                           key=f"{self.path}.{key}")


@dataclass(frozen=True, slots=True)
class Inventory:
    """What netwatt polls and where it writes: every feature reads this, none owns it."""

    file: str
    agent: AgentSettings
    credentials: dict[str, Credential]
    profiles: dict[str, Profile]
    sites: dict[str, Site]
    devices: dict[str, Device]
    outputs: tuple[OutputSpec, ...]
    ssh_credentials: dict[str, SshCredential] = field(default_factory=dict)

    def device(self, name: str) -> Device:
        try:
            return self.devices[name]
        except KeyError:
            known = ", ".join(sorted(self.devices)[:10])
            raise ConfigError(f"no device named {name!r} (devices: {known})", file=self.file) from None

    def snmp_target(self, device: Device) -> SnmpTarget:
        credential = self.credentials[device.credential]
        return SnmpTarget(
            name=device.name, host=device.host, port=device.port, auth=credential.snmp_auth(),
            credential_name=credential.name, timeout_s=device.timeout_s, retries=device.retries,
            max_repetitions=device.max_repetitions,
            backend=device.snmp_backend or self.agent.snmp_backend,
        )


def top_section(data: Any, file: str) -> Section:
    """The file's top mapping, collecting errors, once its version is one this netwatt reads."""
    if data is None:
        raise ConfigError("the file is empty", file=file)
    top = Section(data, "", file=file, line=1, sink=[])
    version = top.integer("version")
    if version != CONFIG_VERSION:
        raise top.error("version", f"config version {version} is not supported (this netwatt reads "
                        f"version {CONFIG_VERSION})")
    return top


def parse_inventory(top: Section, *, env: dict[str, str], builtin_profiles: dict[str, Profile] | None = None,
                    base_dir: Path | None = None) -> tuple[Inventory, dict[str, Section]]:
    """The inventory's sections of ``top``, each section, device and field checked on its own; errors are
    collected in ``top``. Also the sites' sections, for later checks that name a site's line."""
    file = top.file
    agent = top.attempt(AgentSettings(), lambda: _agent(top.section("agent", {}), env))
    credentials: dict[str, Credential] = {}
    ssh_credentials: dict[str, SshCredential] = {}
    broken: set[str] = set()            # defined but wrong: referring to one is not a second error
    for name, s in top.named_sections("credentials"):
        if is_ssh_credential(s):
            ssh = top.attempt(None, _ssh_credential, name, s, env, base_dir)
            if ssh is not None:
                ssh_credentials[name] = ssh
        elif (credential := top.attempt(None, _credential, name, s, env, base_dir)) is not None:
            credentials[name] = credential
        broken |= {name} - set(credentials) - set(ssh_credentials)
    profiles = dict(builtin_profiles if builtin_profiles is not None else load_builtin_profiles())
    for name, s in top.named_sections("profiles"):
        profile = top.attempt(None, parse_profile, s.data, file=file, name=name, path=s.path)
        if profile is not None:
            profiles[name] = profile
    sites: dict[str, Site] = {}
    site_sections: dict[str, Section] = {}
    for name, s in top.named_sections("sites"):
        site = top.attempt(None, _site, name, s)
        sites[name], site_sections[name] = site or Site(name, "UTC", ""), s
    devices: dict[str, Device] = {}
    references = _References(credentials, ssh_credentials, broken, profiles, sites)
    for s in top.sections("devices"):
        device = top.attempt(None, _device, s, references)
        if device is None:
            continue
        if device.name in devices:
            top.report(s.error("name", f"device name {device.name!r} is used twice "
                               f"(first at line {devices[device.name].line})"))
        devices[device.name] = device
    outputs = tuple(o for s in top.sections("outputs") if (o := top.attempt(None, _output, s, env, base_dir))
                    ) or (OutputSpec("sqlite", {}),)
    inventory = Inventory(file, agent, credentials, profiles, sites, devices, outputs, ssh_credentials)
    return inventory, site_sections


@dataclass(frozen=True, slots=True)
class _References:
    """What a device may refer to; names defined but broken are known, so they raise no second error."""

    credentials: dict[str, Credential]
    ssh_credentials: dict[str, SshCredential]
    broken: set[str]
    profiles: dict[str, Profile]
    sites: dict[str, Site]


def _ssh_credential(name: str, s: Section, env: dict[str, str], base_dir: Path | None) -> SshCredential:
    _check_name(s, name)
    return parse_ssh_credential(name, s, env, base_dir)


def _agent(s: Section, env: dict[str, str]) -> AgentSettings:
    # under systemd, StateDirectory= says where state goes ($STATE_DIRECTORY: one per shard)
    d = AgentSettings(state_directory=env.get("STATE_DIRECTORY", "").split(":")[0] or AgentSettings().state_directory)
    settings = AgentSettings(
        interval_s=s.duration("interval", d.interval_s, minimum=1.0),
        round_interval=s.boolean("round_interval", d.round_interval),
        collection_jitter_s=s.duration("collection_jitter", d.collection_jitter_s),
        flush_interval_s=s.duration("flush_interval", d.flush_interval_s, minimum=0.1),
        flush_jitter_s=s.duration("flush_jitter", d.flush_jitter_s),
        metric_batch_size=s.integer("metric_batch_size", d.metric_batch_size, minimum=1),
        metric_buffer_limit=s.integer("metric_buffer_limit", d.metric_buffer_limit, minimum=1),
        state_directory=s.text("state_directory", d.state_directory),
        max_in_flight=s.integer("max_in_flight", d.max_in_flight, minimum=1, maximum=100_000),
        hostname=s.text("hostname", d.hostname),
        energy_interval_s=s.duration("energy_interval", d.energy_interval_s, minimum=1.0),
        max_gap_s=s.duration("max_gap", d.max_gap_s),
        shutdown_timeout_s=s.duration("shutdown_timeout", d.shutdown_timeout_s, minimum=0.1),
        http=parse_http(s.section("http")) if s.has("http") else s.raw("http", None),
        snmp_backend=s.choice("snmp_backend", SNMP_BACKENDS, d.snmp_backend),
        netconf_max_in_flight=s.integer("netconf_max_in_flight", d.netconf_max_in_flight, minimum=1, maximum=512),
    )
    s.finish()
    if settings.collection_jitter_s >= settings.interval_s:
        raise s.error("collection_jitter", "must be shorter than interval")
    return settings


def _credential(name: str, s: Section, env: dict[str, str], base_dir: Path | None) -> Credential:
    _check_name(s, name)
    version = s.choice("version", ("1", "2c", "3"))
    if version == "1":
        raise s.error("version", "SNMPv1 has no GETBULK and no 64-bit counters; use 2c or 3")
    if version == "2c":
        credential = Credential(name, "2c", community=secret_at(s, "community", environ=env, base_dir=base_dir))
        s.finish()
        return credential
    username = s.text("username")
    auth_protocol = _protocol(s, "auth_protocol", AUTH_PROTOCOLS)
    priv_protocol = _protocol(s, "priv_protocol", PRIV_PROTOCOLS)
    if priv_protocol and not auth_protocol:
        raise s.error("priv_protocol", "privacy needs authentication: set auth_protocol too")
    if priv_protocol and (unavailable := missing_cipher(priv_protocol)):
        raise s.error("priv_protocol", unavailable)
    auth_password = secret_at(s, "auth_password", environ=env, base_dir=base_dir) if auth_protocol else None
    priv_password = secret_at(s, "priv_password", environ=env, base_dir=base_dir) if priv_protocol else None
    for key, secret in (("auth_password", auth_password), ("priv_password", priv_password)):
        if secret is not None and len(secret.reveal()) < 8:
            s.report(s.error(key, "SNMPv3 passphrases must be at least 8 characters (RFC 3414)"))
    credential = Credential(name, "3", username=username, auth_protocol=auth_protocol,
                            auth_password=auth_password, priv_protocol=priv_protocol,
                            priv_password=priv_password, context_name=s.text("context_name", ""))
    s.finish()
    return credential


def _protocol(s: Section, key: str, allowed: dict[str, _Protocol]) -> _Protocol | None:
    if not s.has(key):
        s.raw(key, None)
        return None
    value = s.text(key).upper().replace("-", "")
    if value not in allowed:
        raise s.error(key, f"{s.data[key]!r} is not one of: {', '.join(allowed)}")
    return allowed[value]


def _site(name: str, s: Section) -> Site:
    _check_name(s, name)
    site = Site(name, s.text("timezone", "UTC"), s.text("grid_zone", ""))
    s.finish()
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        s.report(s.error("timezone", f"{site.timezone!r} is not a known time zone (e.g. Europe/Paris)"))
        return Site(name, "UTC", site.grid_zone)
    return site


def _device(s: Section, refs: _References) -> Device:
    """Every field checked on its own: a device with several faults shows them all."""
    name = s.attempt("", _device_name, s)
    label = name or s.path
    host, port = s.attempt(("", 161), _address, s)
    site = s.attempt("", _site_of, s, label, refs.sites)
    netconf = (s.attempt(None, lambda: parse_netconf_block(s.section("netconf"), label, refs.ssh_credentials,
                                                           refs.profiles)) if s.has("netconf") else None)
    credential = s.attempt("", _credential_of, s, label, refs, has_netconf=s.has("netconf"))
    chosen = s.attempt(None, _profiles_of, s, label, refs.profiles)
    tags = s.section("tags", {})
    device = Device(
        name=name, host=host, port=port, site=site, role=s.choice("role", ROLES, "other"),
        credential=credential, profiles=chosen,
        timeout_s=s.duration("timeout", 2.0, minimum=0.05, maximum=300.0),
        retries=s.integer("retries", 1, minimum=0, maximum=10),
        max_repetitions=s.integer("max_repetitions", 25, minimum=1, maximum=200),
        interval_s=s.duration("interval", None, minimum=1.0) if s.has("interval") else None,
        model=s.text("model", ""),
        tags={str(k): tags.text(str(k), "") for k in list(tags.data)},
        line=s.line,
        netconf=netconf,
        snmp_backend=s.choice("snmp_backend", SNMP_BACKENDS, None),
    )
    tags.finish()
    if not s.has("interval"):
        s.raw("interval", None)
    s.finish()
    return device


def _device_name(s: Section) -> str:
    name = s.text("name")
    _check_name(s, name, key="name")
    return name


def _site_of(s: Section, device: str, sites: dict[str, Site]) -> str:
    site = s.text("site", "")
    if site and site not in sites:
        raise s.error("site", f"device {device}: unknown site {site!r} (sites: {', '.join(sites) or 'none'})")
    return site


def _credential_of(s: Section, device: str, refs: _References, *, has_netconf: bool) -> str:
    credential = s.text("credential", "" if has_netconf else None) or ""
    if not credential and not has_netconf:
        raise s.error("credential", f"device {device}: is required (an SNMP credential, or a netconf: block)")
    if credential and credential not in refs.credentials and credential not in refs.broken:
        raise s.error("credential", f"device {device}: unknown credential {credential!r} "
                      f"(credentials: {', '.join(refs.credentials) or 'none'})")
    return credential


def _profiles_of(s: Section, device: str, profiles: dict[str, Profile]) -> tuple[str, ...] | None:
    if s.raw("profiles", "auto") == "auto":
        return None
    chosen = tuple(s.text_list("profiles"))
    for profile in chosen:
        if profile not in profiles:
            raise s.error("profiles", f"device {device}: unknown profile {profile!r} "
                          f"(profiles: {', '.join(sorted(profiles))})")
        if profiles[profile].protocol != "snmp":
            raise s.error("profiles", f"device {device}: {profile!r} is a NETCONF profile; "
                          "list it under netconf.profiles")
    return chosen


def _address(s: Section) -> tuple[str, int]:
    try:
        return split_host_port(s.text("address").strip(), default_port=161)
    except ValueError as exc:
        raise s.error("address", str(exc)) from None


_OUTPUT_NUMBERS: dict[str, Callable[[Section, str], object]] = {
    "max_points": lambda s, key: s.integer(key, None, minimum=1, maximum=10**10),
    "max_age": lambda s, key: s.duration(key, None, minimum=60.0, maximum=100 * 366 * 86400.0),
    "timeout": lambda s, key: s.duration(key, None, minimum=0.01, maximum=600.0),
    "metric_batch_size": lambda s, key: s.integer(key, None, minimum=1, maximum=10**7),
}


def _output(s: Section, env: dict[str, str], base_dir: Path | None) -> OutputSpec:
    kind = s.choice("type", OUTPUT_TYPES)
    secrets = {"influxdb_v1": ("password",), "influxdb_v2": ("token",), "influxdb_v3": ("token",)}
    known = {
        "sqlite": ("max_points", "max_age"),
        "influxdb_v1": ("url", "database", "retention_policy", "username", "password", "timeout",
                        "metric_batch_size", "content_encoding"),
        "influxdb_v2": ("url", "org", "bucket", "token", "timeout", "metric_batch_size", "content_encoding"),
        "influxdb_v3": ("url", "database", "token", "timeout", "metric_batch_size", "content_encoding"),
    }[kind]
    settings: dict[str, Any] = {}
    for key in known:
        if not s.has(key):
            s.raw(key, None)
            continue
        secret = key in secrets.get(kind, ())
        settings[key] = secret_at(s, key, environ=env, base_dir=base_dir) if secret else s.raw(key)
        check = _OUTPUT_NUMBERS.get(key)
        if check is not None:       # checked here so a bad number is refused by check-config, not a crash at run
            check(s, key)
    if kind.startswith("influxdb") and "url" not in settings:
        raise s.error("url", f"{kind} needs a url")
    s.finish()
    lines = {key: line for key in ("type", *known) if (line := s.line_of(key)) is not None}
    return OutputSpec(kind, settings, file=s.file, path=s.path, key_lines=lines)


def _check_name(s: Section, name: str, *, key: str = "") -> None:
    s.check_name(name, key=key)
