"""The InfluxDB outputs and ``build_output``: one ``Output`` per configured ``outputs[]`` entry.

- ``influxdb_v1``: ``InfluxDBv1Output`` (``/write``, Basic auth, urllib3)
- ``influxdb_v2``: ``InfluxDBv2Output`` (``/api/v2/write`` through influxdb-client, SYNCHRONOUS)
- ``influxdb_v3``: ``InfluxDBv3Output`` (``/api/v3/write_lp``, Bearer token, urllib3)
"""

from __future__ import annotations

from agent.errors import ConfigError
from agent.settings.config import AgentSettings, OutputSpec

from .base import Output
from .influxdb_v1 import InfluxDBv1Output
from .influxdb_v2 import InfluxDBv2Output
from .influxdb_v3 import InfluxDBv3Output

__all__ = ["InfluxDBv1Output", "InfluxDBv2Output", "InfluxDBv3Output", "build_output"]

_OUTPUTS: dict[str, type[InfluxDBv1Output] | type[InfluxDBv2Output] | type[InfluxDBv3Output]] = {
    "influxdb_v1": InfluxDBv1Output,
    "influxdb_v2": InfluxDBv2Output,
    "influxdb_v3": InfluxDBv3Output,
}


def build_output(spec: OutputSpec, agent: AgentSettings) -> Output:
    """The output for `spec`; ConfigError (naming the output and key, never a secret) if unusable."""
    kind = _OUTPUTS.get(spec.type)
    if kind is None:
        raise ConfigError(f"{spec.type!r} is not an InfluxDB output (known: {', '.join(_OUTPUTS)})",
                          key="outputs.type")
    return kind(spec, agent)
