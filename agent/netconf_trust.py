"""``netwatt trust --device NAME``: trust on first use, made explicit.

Connects (key exchange only, no login), shows the key's fingerprint and what is recorded for the
device, and records the key in the agent's known_hosts after a yes (or with ``--yes``). Nothing is
ever trusted without this command or a pinned ``host_key`` in the config.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.errors import ConfigError, NetwattError
from agent.settings.config import Inventory
from agent.settings.netconf import known_hosts_path
from collectors.netconf import fetch_host_key, record_host_key
from collectors.netconf.hostkeys import known_fingerprints


def trust_device(config: Inventory, name: str, *, assume_yes: bool, ask: Callable[[str], str],
                 say: Callable[[str], None]) -> bool:
    """True when the key is (now) trusted; False when the user declined."""
    device = config.device(name)
    settings = device.netconf
    if settings is None:
        raise ConfigError(f"device {name} has no netconf: block; trust applies to SSH host keys", file=config.file)
    try:
        key = fetch_host_key(device.host, settings.port, timeout_s=settings.timeout_s)
    except Exception as exc:          # socket errors and paramiko's SSHException family
        raise NetwattError(f"device {name}: cannot read the SSH host key of {device.host}:{settings.port}: "
                           f"{exc.__class__.__name__}: {exc}") from None
    say(f"device {name} at {device.host}:{settings.port} presents a {key.key_type} key\n  {key.fingerprint}")
    if settings.host_key:
        verdict = "matches" if settings.host_key == key.fingerprint else "does NOT match"
        say(f"the config pins host_key {settings.host_key}: it {verdict}; known_hosts is not used for this device")
        return settings.host_key == key.fingerprint
    known_hosts = str(known_hosts_path(config.agent.state_directory))
    recorded = known_fingerprints(known_hosts, device.host, settings.port)
    if recorded.get(key.key_type) == key.fingerprint:
        say(f"already trusted in {known_hosts}")
        return True
    if recorded:
        listed = ", ".join(f"{t} {f}" for t, f in sorted(recorded.items()))
        say(f"WARNING: {known_hosts} records a DIFFERENT key for this device: {listed}\n"
            "  if the device was not replaced or re-keyed, someone may be intercepting the connection")
    answer = "y" if assume_yes else ask(f"record this key for {name} in {known_hosts}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        say("not recorded")
        return False
    record_host_key(known_hosts, device.host, settings.port, key)
    say(f"recorded in {known_hosts}")
    return True
