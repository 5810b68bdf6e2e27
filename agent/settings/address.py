"""Network addresses in the config: ``host``, ``host:port`` and ``[IPv6]:port``.

One parser for a device's ``address`` and for every ``listen`` key, so they cannot disagree: an IPv6
address goes in brackets, a port is 1..65535, a host is an IP address or a DNS name.
"""

from __future__ import annotations

import ipaddress
import re

from agent.yamlfile.section import Section

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")      # one DNS label (RFC 1123)
_BRACKETED = re.compile(r"\[([^\]]*)\](?::(.*))?")


def split_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """``text`` as (host, port); ValueError says what is wrong. Without ``default_port`` the port is required."""
    host, port_text = text, None
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed:
        host, port_text = bracketed.group(1), bracketed.group(2)
        if ":" not in host:
            raise ValueError(f"{text!r}: only an IPv6 address goes in [brackets]")
    elif text.count(":") == 1:
        host, port_text = text.rsplit(":", 1)
    elif ":" in text and default_port is None:
        raise ValueError(f"{text!r}: an IPv6 address with its port goes in brackets (e.g. [::1]:8470)")
    if port_text is None and default_port is None:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:9469 or [::1]:9469)")
    port = default_port or 0
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5:
            raise ValueError(f"{text!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: port {port} is out of range (1..65535)")
    problem = host_problem(host)
    if problem:
        raise ValueError(f"{text!r}: {problem}")
    return host, port


def join_host_port(host: str, port: int) -> str:
    """The address as the config writes it (IPv6 in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_listen(s: Section, key: str, default: str) -> tuple[str, int]:
    """A ``listen`` key: host and port, both required; a bad one names file, line and key."""
    try:
        return split_host_port(s.text(key, default).strip())
    except ValueError as exc:
        raise s.error(key, str(exc)) from None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_problem(host: str) -> str:
    """Why ``host`` is neither an IP address nor a DNS host name ("" when it is one)."""
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        pass
    if ":" in host:
        return f"{host!r} is not a valid IPv6 address"
    if re.fullmatch(r"[0-9.]+", host):
        return f"{host!r} is not a valid IPv4 address (four numbers 0..255)"
    labels = host.rstrip(".").split(".")
    if (len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        return f"{host!r} is not an IP address or host name"
    return ""
