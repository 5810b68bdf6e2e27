"""``agent.http``: the local HTTP endpoints (``/healthz``, ``/metrics``), off unless configured.

    agent:
      http: {listen: "127.0.0.1:9469"}

Loopback only, unless ``allow_non_loopback: true`` says the operator means it. ``metrics`` adds the
data itself to ``/metrics`` (agent/views/prometheus.py), off by default:

    agent:
      http: {listen: "127.0.0.1:9469", metrics: {devices: true, components: false}}
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.httpapi import is_loopback
from agent.yamlfile.section import Section

DEFAULT_PORT = 9469


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    allow_non_loopback: bool = False
    device_metrics: bool = False        # per-device power, energy and emissions on /metrics
    component_metrics: bool = False     # per-component power too (more series: PSUs, modules)

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_http(s: Section) -> HttpSettings:
    listen = s.text("listen", f"127.0.0.1:{DEFAULT_PORT}").strip()
    allow = s.boolean("allow_non_loopback", False)
    devices, components = _parse_metrics(s.section("metrics")) if s.has("metrics") else (False, False)
    s.finish()
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise s.error("listen", f"{listen!r} is not host:port (e.g. 127.0.0.1:{DEFAULT_PORT} or [::1]:{DEFAULT_PORT})")
    if not is_loopback(host) and not allow:
        raise s.error("listen", f"{host} is not a loopback address: the health and metrics endpoints are for "
                      "this host only; set allow_non_loopback: true to expose them on purpose")
    return HttpSettings(host, int(port_text), allow, devices, components)


def _parse_metrics(s: Section) -> tuple[bool, bool]:
    devices = s.boolean("devices", False)
    components = s.boolean("components", False)
    s.finish()
    if components and not devices:
        raise s.error("components", "needs devices: true (component power is served with the device metrics)")
    return devices, components
