"""The Wi-Fi service wired to the agent's store and SNMP reader, for the daemon, the CLI and the API."""

from __future__ import annotations

from agent.clock import Clock, wall_clock
from agent.points.lineprotocol import Point
from agent.store.sqlite import Store, stored
from agent.wifi.adapters.factory import build_controllers, build_meter
from agent.wifi.interlock import ApplyLock
from agent.wifi.service import WifiService
from agent.wifi.settings import ConfigWithWifi
from agent.wifi.store import WifiStore
from collectors.snmp.setter import PysnmpSetter, SnmpSetter
from collectors.snmp.types import SnmpClient


def reconfigure_wifi(service: WifiService, config: ConfigWithWifi, reader: SnmpClient) -> None:
    """SIGHUP: new groups, rules, guards and controllers for the next round; the store stays."""
    assert config.wifi is not None
    service.reconfigure(config.wifi, build_controllers(config, reader, PysnmpSetter()),
                        meter=build_meter(config, reader))


def open_wifi(config: ConfigWithWifi, store: Store, reader: SnmpClient, *, setter: SnmpSetter | None = None,
              clock: Clock = wall_clock, settle_s: float = 2.0,
              retry_delay_s: float = 1.0, lock_wait_s: float = 0.0) -> WifiService:
    """``lock_wait_s``: how long an apply round waits for another process's (the agent skips a busy
    round, the next one comes; a person at the CLI can wait a little)."""
    assert config.wifi is not None

    def sink(points: list[Point]) -> None:
        store.commit([], stored(points))

    controllers = build_controllers(config, reader, setter or PysnmpSetter())
    return WifiService(config.wifi, WifiStore(store), controllers, clock=clock, meter=build_meter(config, reader),
                       sink=sink, settle_s=settle_s, retry_delay_s=retry_delay_s,
                       apply_lock=ApplyLock(config.agent.state_directory), lock_wait_s=lock_wait_s)
