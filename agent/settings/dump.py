"""``check-config --show``: the configuration as netwatt understood it, every secret redacted."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from agent.settings.config import Config
from agent.settings.secrets import Secret
from agent.wifi.cron import Cron


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return str(value)                    # "<secret env:NAME>": the reference, never the value
    if isinstance(value, Cron):
        return value.text
    if isinstance(value, str):
        return str(value)                    # enums of str as plain text
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in ("line",)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dump_config(config: Config) -> str:
    data = {
        "version": 1,
        "agent": _plain(config.agent),
        "credentials": _plain(config.credentials),
        "ssh_credentials": _plain(config.ssh_credentials),
        "sites": _plain(config.sites),
        "devices": [_plain(d) for d in config.devices.values()],
        "outputs": [_plain(o) for o in config.outputs],
        "profiles": sorted(config.profiles),
        "emissions": _plain(config.emissions),
    }
    if config.wifi is not None:
        data["wifi"] = _plain(config.wifi)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
