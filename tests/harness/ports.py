"""Free loopback ports, and a check that a port is held only by the server we started."""

from __future__ import annotations

import os
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"


def _free_port(kind: socket.SocketKind) -> int:
    # Port 0 lets the kernel pick a port nobody holds; no SO_REUSEADDR so a shared port is never chosen.
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    return _free_port(socket.SOCK_DGRAM)


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return _free_port(socket.SOCK_STREAM)


def _udp_inodes(port: int) -> set[str]:
    """Inodes of every UDP/UDP6 socket bound to `port` (Linux /proc; empty elsewhere)."""
    inodes: set[str] = set()
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _pid_socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def foreign_udp_holders(pid: int, port: int) -> bool:
    """True when a process other than `pid` also holds UDP `port`.

    Two SO_REUSEADDR sockets can share a UDP port silently, and then the other one may answer our probes.
    """
    holders = _udp_inodes(port)
    if not holders:
        return False
    return not holders <= _pid_socket_inodes(pid)
