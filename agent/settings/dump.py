"""``check-config --show``: the configuration as netwatt understood it, in the keys the file uses,
every default filled in and every secret redacted.

The settings dataclasses name things for the code (``interval_s``, ``host`` and ``port``); this
module maps them back to the file's spelling (``interval: 60s``, ``address: host:port``). Generic
rules first (``*_s`` is a duration key without the suffix; bookkeeping fields are left out; an
unset optional is not shown), then the few inventory sections whose shape differs from their
dataclass. Each feature shows its own section with these rules (``dump_wifi``, ``dump_emissions``);
agent/config/dump.py puts the whole file together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from agent.settings.config import Credential, Device, Inventory, OutputSpec, Site
from agent.settings.http import HttpSettings
from agent.settings.netconf import SshCredential
from agent.settings.secrets import Secret

Shown = Mapping[type, Callable[[Any], Any]]        # the types a section shows its own way
_BOOKKEEPING = {"line", "file", "path", "key_lines"}      # where a value was read, not a setting


def duration(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if 0 < seconds < 1 else f"{seconds:g}s"


def day(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).date().isoformat()


def plain(value: Any, shown: Shown) -> Any:
    """``value`` as YAML-ready data: ``shown`` first, then the generic rules."""
    special = shown.get(type(value))
    if special is not None:
        return special(value)
    if isinstance(value, Secret):
        return str(value)                    # "<secret env:NAME>": the reference, never the value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)                    # enums of str as plain text
    if isinstance(value, set | frozenset):
        return sorted(plain(v, shown) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fields(value, shown)
    if isinstance(value, dict):
        return {str(k): plain(v, shown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, shown) for v in value]
    return value


def fields(value: Any, shown: Shown) -> dict[str, Any]:
    """A dataclass by the generic rules: ``*_s`` durations lose the suffix, unset optionals are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        field_value = getattr(value, f.name)
        if f.name in _BOOKKEEPING or field_value is None:
            continue
        if f.name.endswith("_s") and isinstance(field_value, int | float):
            out[f.name.removesuffix("_s")] = duration(field_value)
        else:
            out[f.name] = plain(field_value, shown)
    return out


def named(value: Any, shown: Shown) -> dict[str, Any]:
    """An entry of a mapping keyed by its name (credentials, sites): the name is the key, not a field."""
    return {k: v for k, v in fields(value, shown).items() if k != "name" and v != ""}


def _device(d: Device) -> dict[str, Any]:
    shown = fields(d, _SHOWN)
    out: dict[str, Any] = {"name": d.name, "address": d.address}
    out.update((k, v) for k, v in shown.items() if k not in ("host", "port") and v != "")
    out["profiles"] = "auto" if d.profiles is None else list(d.profiles)
    if d.netconf is not None:
        out["netconf"]["profiles"] = "auto" if d.netconf.profiles is None else list(d.netconf.profiles)
    return out


def _output(o: OutputSpec) -> dict[str, Any]:
    return {"type": o.type, **{k: plain(v, _SHOWN) for k, v in o.settings.items()}}


def _http(h: HttpSettings) -> dict[str, Any]:
    return {"listen": h.listen, "allow_non_loopback": h.allow_non_loopback}


def _named(value: Any) -> dict[str, Any]:
    return named(value, _SHOWN)


_SHOWN: Shown = {Device: _device, Credential: _named, SshCredential: _named, Site: _named, OutputSpec: _output,
                 HttpSettings: _http}


def dump_inventory(inventory: Inventory) -> dict[str, Any]:
    """The inventory's sections, in the file's order."""
    credentials = {name: plain(c, _SHOWN) for name, c in inventory.credentials.items()}
    credentials.update({name: {"type": "ssh", **plain(c, _SHOWN)} for name, c in inventory.ssh_credentials.items()})
    return {
        "version": 1,
        "agent": plain(inventory.agent, _SHOWN),
        "credentials": credentials,
        "sites": plain(inventory.sites, _SHOWN),
        "devices": [plain(d, _SHOWN) for d in inventory.devices.values()],
        "outputs": [plain(o, _SHOWN) for o in inventory.outputs],
    }
