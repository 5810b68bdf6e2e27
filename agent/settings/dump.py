"""``check-config --show``: the configuration as netwatt understood it, in the keys the file uses,
every default filled in and every secret redacted.

The settings dataclasses name things for the code (``interval_s``, ``host`` and ``port``); this
module maps them back to the file's spelling (``interval: 60s``, ``address: host:port``). Generic
rules first (``*_s`` is a duration key without the suffix; bookkeeping fields are left out; an
unset optional is not shown), then the few sections whose shape differs from their dataclass.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import yaml

from agent.settings.address import join_host_port
from agent.settings.config import Config, Credential, Device, OutputSpec, Site
from agent.settings.emissions import Contract, OperatorFactor, Target
from agent.settings.http import HttpSettings
from agent.settings.netconf import SshCredential
from agent.settings.secrets import Secret
from agent.wifi.cron import Cron
from agent.wifi.model import Scope
from agent.wifi.settings import ApiSettings, ControllerSpec, Group, WifiConfig

_BOOKKEEPING = {"line", "file", "path", "key_lines"}      # where a value was read, not a setting


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if 0 < seconds < 1 else f"{seconds:g}s"


def _day(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).date().isoformat()


def _plain(value: Any) -> Any:
    special = _SPECIAL.get(type(value))
    if special is not None:
        return special(value)
    if isinstance(value, Secret):
        return str(value)                    # "<secret env:NAME>": the reference, never the value
    if isinstance(value, Cron):
        return value.text
    if isinstance(value, str):
        return str(value)                    # enums of str as plain text
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass by the generic rules: ``*_s`` durations lose the suffix, unset optionals are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        field_value = getattr(value, f.name)
        if f.name in _BOOKKEEPING or field_value is None:
            continue
        if f.name.endswith("_s") and isinstance(field_value, int | float):
            out[f.name.removesuffix("_s")] = _duration(field_value)
        else:
            out[f.name] = _plain(field_value)
    return out


def _named(value: Any) -> dict[str, Any]:
    """An entry of a mapping keyed by its name (credentials, sites): the name is the key, not a field."""
    return {k: v for k, v in _fields(value).items() if k != "name" and v != ""}


def _device(d: Device) -> dict[str, Any]:
    fields = _fields(d)
    out: dict[str, Any] = {"name": d.name, "address": d.address}
    out.update((k, v) for k, v in fields.items() if k not in ("host", "port") and v != "")
    out["profiles"] = "auto" if d.profiles is None else list(d.profiles)
    if d.netconf is not None:
        out["netconf"]["profiles"] = "auto" if d.netconf.profiles is None else list(d.netconf.profiles)
    return out


def _factor(f: OperatorFactor) -> dict[str, Any]:
    value, _, unit = f.original.partition(" ")
    out: dict[str, Any] = {"value": float(value), "unit": unit, "source": f.source, "basis": str(f.basis),
                           "gas": f.gas, "from": _day(f.start_s), "to": _day(f.end_s)}
    return {k: v for k, v in out.items() if v is not None}


def _contract(c: Contract) -> dict[str, Any]:
    return {"name": c.name, "kind": c.kind, "share": c.share, **_factor(c.factor)}


def _target(t: Target) -> dict[str, Any]:
    return {"baseline_from": _day(t.baseline_from_s), "baseline_to": _day(t.baseline_to_s),
            "reduction_pct": t.reduction_pct, "target_year": t.target_year}


def _output(o: OutputSpec) -> dict[str, Any]:
    return {"type": o.type, **{k: _plain(v) for k, v in o.settings.items()}}


def _http(h: HttpSettings) -> dict[str, Any]:
    return {"listen": h.listen, "allow_non_loopback": h.allow_non_loopback}


def _wifi(w: WifiConfig) -> dict[str, Any]:
    # management_keys is derived from management_ssids (every alias of their WLANs), not a key of the file
    guards = {k: v for k, v in _plain(w.guards).items() if k != "management_keys"}
    return {"evaluate_every": _duration(w.evaluate_every_s), "controllers": _plain(w.controllers),
            "access_points": [_plain(a) for a in w.access_points.values()], "guards": guards,
            "api": _plain(w.api), "estimates": dict(w.estimates_w), "groups": _plain(w.groups)}


def _group(g: Group) -> dict[str, Any]:
    out = {k: v for k, v in _named(g).items() if k not in ("timezone", "targets")}    # timezone: the site's
    if g.scope is Scope.SSID:
        out["controller"] = g.targets[0].controller if g.targets else ""
        out["ssids"] = [t.ssid for t in g.targets]
    else:
        out["aps"] = list(dict.fromkeys(t.ap for t in g.targets))
    return out


def _api(a: ApiSettings) -> dict[str, Any]:
    return {"listen": join_host_port(a.host, a.port), **({"token": str(a.token)} if a.token is not None else {})}


_SPECIAL: dict[type, Any] = {Device: _device, Credential: _named, SshCredential: _named, Site: _named,
                             OperatorFactor: _factor, Contract: _contract, Target: _target, OutputSpec: _output,
                             HttpSettings: _http, WifiConfig: _wifi, Group: _group, ApiSettings: _api,
                             ControllerSpec: _named, datetime: datetime.isoformat}


def dump_config(config: Config) -> str:
    credentials = {name: _plain(c) for name, c in config.credentials.items()}
    credentials.update({name: {"type": "ssh", **_plain(c)} for name, c in config.ssh_credentials.items()})
    data = {
        "version": 1,
        "agent": _plain(config.agent),
        "credentials": credentials,
        "sites": _plain(config.sites),
        "devices": [_plain(d) for d in config.devices.values()],
        "outputs": [_plain(o) for o in config.outputs],
        "emissions": _plain(config.emissions),
    }
    if config.wifi is not None:
        data["wifi"] = _plain(config.wifi)
    custom = sorted(config.profiles)
    return (yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
            + f"# profiles known (built in and from profiles:): {', '.join(custom)}\n")

