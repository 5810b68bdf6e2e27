"""Controllers of the config, built on the agent's SNMP reader and a setter (NETCONF types on ncclient)."""

from __future__ import annotations

import logging

from agent.wifi.adapters.base import Controller
from agent.wifi.adapters.snmp import PoeMeter, SnmpController, load_columns
from agent.wifi.settings import ConfigWithWifi
from collectors.snmp.setter import SnmpSetter
from collectors.snmp.types import SnmpClient

log = logging.getLogger("netwatt.wifi")


def build_controllers(config: ConfigWithWifi, reader: SnmpClient, setter: SnmpSetter) -> dict[str, Controller]:
    assert config.wifi is not None
    columns, _power = load_columns()
    controllers: dict[str, Controller] = {}
    for spec in config.wifi.controllers.values():
        if spec.type in columns:
            target = config.snmp_target(config.devices[spec.device])
            controllers[spec.name] = SnmpController(spec, target, config.wifi.access_points, reader=reader,
                                                    setter=setter, columns=columns[spec.type])
        else:
            built = _netconf_controller(config, spec.name)
            if built is not None:
                controllers[spec.name] = built
    return controllers


def _netconf_controller(config: ConfigWithWifi, name: str) -> Controller | None:
    assert config.wifi is not None
    spec = config.wifi.controllers[name]
    if spec.type == "openconfig":
        from agent.wifi.adapters.openconfig import OpenConfigController  # noqa: PLC0415  (NETCONF only if used)
        return OpenConfigController(spec)
    if spec.type == "c9800":
        from agent.wifi.adapters.c9800 import C9800Controller  # noqa: PLC0415
        return C9800Controller(spec)
    log.error("wifi controller %s: unknown type %s", name, spec.type)
    return None


def build_meter(config: ConfigWithWifi, reader: SnmpClient) -> PoeMeter:
    assert config.wifi is not None
    _columns, power = load_columns()
    # a switch polled by another shard is not in this config: those APs' savings are estimated
    switches = {ap.poe.switch for ap in config.wifi.access_points.values()
                if ap.poe is not None and ap.poe.switch in config.devices}
    targets = {name: config.snmp_target(config.devices[name]) for name in switches}
    return PoeMeter(reader, targets, config.wifi.access_points, power)
