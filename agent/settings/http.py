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

from agent.settings.address import is_loopback, join_host_port, parse_listen
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
        return join_host_port(self.host, self.port)


def parse_http(s: Section) -> HttpSettings:
    host, port = parse_listen(s, "listen", f"127.0.0.1:{DEFAULT_PORT}")
    allow = s.boolean("allow_non_loopback", False)
    devices, components = _parse_metrics(s.section("metrics")) if s.has("metrics") else (False, False)
    s.finish()
    if not is_loopback(host) and not allow:
        raise s.error("listen", f"{host} is not a loopback address: the health and metrics endpoints are for "
                      "this host only; set allow_non_loopback: true to expose them on purpose")
    return HttpSettings(host, port, allow, devices, components)


def _parse_metrics(s: Section) -> tuple[bool, bool]:
    devices = s.boolean("devices", False)
    components = s.boolean("components", False)
    s.finish()
    if components and not devices:
        raise s.error("components", "needs devices: true (component power is served with the device metrics)")
    return devices, components
