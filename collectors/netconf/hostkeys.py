"""SSH host keys: OpenSSH fingerprints, our own known_hosts file, and fetching a key to trust it.

The known_hosts file lives in the agent's state directory (systemd's DynamicUser has no home, and
``~/.ssh`` of whoever runs netwatt must never be trusted implicitly). Keys are stored in OpenSSH
format under ``[host]:port``, so ``ssh-keygen -F`` and ``ssh -o UserKnownHostsFile`` read it too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import paramiko

_LOCK = threading.Lock()          # one writer at a time within the process


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:<base64>`` form, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


_CACHE: dict[str, tuple[tuple[int, int], paramiko.HostKeys]] = {}


def _host_keys(known_hosts: str) -> paramiko.HostKeys | None:
    """The parsed file, read again only when it changed: parsing it per connection is quadratic
    over a fleet (ncclient #31: minutes for 500 hosts)."""
    try:
        stat = os.stat(known_hosts)
    except OSError:
        return None
    version = (stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _CACHE.get(known_hosts)
        if cached is None or cached[0] != version:
            cached = _CACHE[known_hosts] = (version, paramiko.HostKeys(known_hosts))
        return cached[1]


def known_keys(known_hosts: str, host: str, port: int) -> dict[str, paramiko.PKey]:
    """Key type -> key recorded for ``[host]:port`` (or ``host``), plain or hashed entries."""
    keys = _host_keys(known_hosts) if known_hosts else None
    found: dict[str, paramiko.PKey] = {}
    if keys is None:
        return found
    for name in (host_entry(host, port), host):
        entry = keys.lookup(name)
        if entry is not None:
            for key_type in entry:
                found.setdefault(key_type, entry[key_type])
    return found


def known_fingerprints(known_hosts: str, host: str, port: int) -> dict[str, str]:
    """Key type -> fingerprint recorded for this host; {} when none."""
    return {key_type: fingerprint(key) for key_type, key in known_keys(known_hosts, host, port).items()}


@dataclass(frozen=True, slots=True)
class PresentedKey:
    key_type: str
    base64: str
    fingerprint: str


def fetch_host_key(host: str, port: int, *, timeout_s: float = 10.0) -> PresentedKey:
    """Connect, run the SSH key exchange only (no login) and return the key the server presents."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout_s
    try:
        transport.start_client(timeout=timeout_s)
        key = transport.get_remote_server_key()
        return PresentedKey(key.get_name(), key.get_base64(), fingerprint(key))
    finally:
        transport.close()
        sock.close()


def record_host_key(known_hosts: str, host: str, port: int, key: PresentedKey) -> None:
    """Add (or replace) this host's key of that type in the known_hosts file, atomically."""
    path = Path(known_hosts)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = host_entry(host, port)
    with _LOCK:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        kept = [line for line in lines if not _same_entry(line, entry, key.key_type)]
        kept.append(f"{entry} {key.key_type} {key.base64}")
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)


def _same_entry(line: str, entry: str, key_type: str) -> bool:
    fields = line.split()
    return len(fields) >= 3 and entry in fields[0].split(",") and fields[1] == key_type
