"""NETCONF settings: the SSH credential kind and a device's ``netconf:`` block, checked like the rest.

    credentials:
      nc-admin: {type: ssh, username: netwatt, password: env:NC_PASSWORD}
    devices:
      - name: core-1
        address: 192.0.2.10
        netconf: {credential: nc-admin, port: 830, host_key: "SHA256:...", profiles: auto}

Host keys are verified always: against the pinned ``host_key`` fingerprint when set, otherwise
against ``known_hosts`` in the agent's state directory (``netwatt trust --device NAME`` records
a key there after showing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.power.profiles import Profile
from agent.settings.secrets import Secret, secret_at
from agent.yamlfile.section import Section
from collectors.netconf.types import DEFAULT_PORT, HostKeyCheck, NetconfAuth, NetconfTarget, normalise_fingerprint

KNOWN_HOSTS_FILE = "known_hosts"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SshCredential:
    name: str
    username: str
    password: Secret | None = None
    private_key: str | None = None               # path of an unencrypted OpenSSH private key file


@dataclass(frozen=True, slots=True)
class NetconfSettings:
    credential: str
    port: int = DEFAULT_PORT
    host_key: str = ""                           # pinned "SHA256:..." fingerprint; "" = known_hosts
    profiles: tuple[str, ...] | None = None      # None: chosen from the capabilities in <hello>
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES


def is_ssh_credential(s: Section) -> bool:
    return s.data.get("type") == "ssh"


def parse_ssh_credential(name: str, s: Section, env: dict[str, str], base_dir: Path | None) -> SshCredential:
    s.choice("type", ("ssh",))
    username = s.text("username")
    password = secret_at(s, "password", environ=env, base_dir=base_dir) if s.has("password") else None
    private_key = s.text("private_key", "") or None
    if private_key is not None:
        key_path = Path(private_key)
        if not key_path.is_absolute() and base_dir is not None:
            key_path = base_dir / key_path
        if not key_path.is_file():
            raise s.error("private_key", f"{str(key_path)!r} is not a readable file")
        private_key = str(key_path)
    if password is None and private_key is None:
        raise s.error("username", f"SSH credential {name}: set password (a secret reference) or private_key")
    s.finish()
    return SshCredential(name, username, password, private_key)


def parse_netconf_block(s: Section, device: str, ssh_credentials: dict[str, SshCredential],
                        profiles: dict[str, Profile]) -> NetconfSettings:
    credential = s.text("credential")
    if credential not in ssh_credentials:     # reported, and the rest of the block is still checked
        s.report(s.error("credential", f"device {device}: unknown SSH credential {credential!r} "
                         f"(SSH credentials: {', '.join(sorted(ssh_credentials)) or 'none'}; "
                         "an SSH credential has type: ssh)"))
    host_key = s.text("host_key", "")
    if host_key:
        try:
            host_key = normalise_fingerprint(host_key)
        except ValueError as exc:
            raise s.error("host_key", str(exc)) from None
    wanted = s.raw("profiles", "auto")
    chosen: tuple[str, ...] | None = None
    if wanted != "auto":
        chosen = tuple(s.text_list("profiles"))
        netconf_profiles = sorted(n for n, p in profiles.items() if p.protocol == "netconf")
        for name in chosen:
            if name not in netconf_profiles:
                raise s.error("profiles", f"device {device}: {name!r} is not a NETCONF profile "
                              f"(NETCONF profiles: {', '.join(netconf_profiles)})")
    settings = NetconfSettings(
        credential=credential, port=s.integer("port", DEFAULT_PORT, minimum=1, maximum=65535), host_key=host_key,
        profiles=chosen, timeout_s=s.duration("timeout", DEFAULT_TIMEOUT_S, minimum=0.1),
        max_reply_bytes=s.integer("max_reply_bytes", DEFAULT_MAX_REPLY_BYTES, minimum=4096),
    )
    s.finish()
    return settings


def known_hosts_path(state_directory: str) -> Path:
    """Our own known_hosts, next to the store (systemd's DynamicUser has no home)."""
    return Path(state_directory) / KNOWN_HOSTS_FILE


def netconf_target(name: str, host: str, settings: NetconfSettings, credential: SshCredential,
                   state_directory: str) -> NetconfTarget:
    auth = NetconfAuth(credential.username, credential.password.reveal() if credential.password else None,
                       key_file=credential.private_key)
    return NetconfTarget(
        name=name, host=host, port=settings.port, auth=auth,
        host_keys=HostKeyCheck(known_hosts=str(known_hosts_path(state_directory)), pinned=settings.host_key),
        timeout_s=settings.timeout_s, max_reply_bytes=settings.max_reply_bytes, credential_name=credential.name)
