"""A simulated venue for the Wi-Fi tests: a WLC (AireOS objects) and a PoE switch served by a real snmpd
through writable pass_persist tables. Radios switched off lose their clients; the AP's PoE port draws a
base load plus a share per enabled radio (what the savings measure)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.wifi.adapters.snmp import mac_index

HARNESS = Path(__file__).resolve().parent / "harness" / "writable_table.py"
RADIO_ADMIN = "1.3.6.1.4.1.9.9.513.1.2.1.1.14"
RADIO_CLIENTS = "1.3.6.1.4.1.14179.2.2.2.1.15"
RAW_CLIENTS = "1.3.6.1.4.1.99999.1"          # what the test says is associated; the agent sees it gated
SSID_ADMIN = "1.3.6.1.4.1.14179.2.1.1.1.6"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
POE_ADMIN = "1.3.6.1.2.1.105.1.1.1.3"
POE_POWER = "1.3.6.1.4.1.9.9.402.1.2.1.9"
ROOTS = ("1.3.6.1.4.1.9.9.513", "1.3.6.1.4.1.14179", "1.3.6.1.2.1.105", "1.3.6.1.4.1.9.9.402", IF_ADMIN,
         "1.3.6.1.4.1.99999")
BASE_MW, RADIO_MW = 6500, 4200


@dataclass
class Venue:
    state_file: Path
    aps: dict[str, str] = field(default_factory=dict)       # name -> MAC

    @classmethod
    def create(cls, folder: Path, aps: dict[str, str], *, wlans: dict[int, int] | None = None,
               if_radios: dict[int, int] | None = None, ethernet_macs: dict[str, str] | None = None) -> Venue:
        values: dict[str, Any] = {}
        writable: dict[str, list[int]] = {}
        derived: dict[str, Any] = {}
        for port, (name, mac) in enumerate(aps.items(), start=1):
            index = ".".join(map(str, mac_index(mac)))
            # AIRESPACE tables are indexed by the AP's Ethernet MAC, CISCO-LWAPP ones by its base radio MAC
            eth = ".".join(map(str, mac_index((ethernet_macs or {}).get(name, mac))))
            add = []
            for slot in (0, 1):
                admin = f"{RADIO_ADMIN}.{index}.{slot}"
                values[admin] = ["integer", 1]
                writable[admin] = [1, 2]
                values[f"{RAW_CLIENTS}.{index}.{slot}"] = ["gauge", 0]
                derived[f"{RADIO_CLIENTS}.{eth}.{slot}"] = {
                    "type": "counter", "copy": f"{RAW_CLIENTS}.{index}.{slot}", "gate": [[admin, 1]]}
                add.append([admin, 1, RADIO_MW])
            poe = f"{POE_ADMIN}.1.{port}"
            values[poe] = ["integer", 1]
            writable[poe] = [1, 2]
            derived[f"{POE_POWER}.1.{port}"] = {"type": "gauge", "base": BASE_MW, "gate": [[poe, 1]], "add": add}
        for wlan, state in (wlans or {}).items():
            values[f"{SSID_ADMIN}.{wlan}"] = ["integer", state]
            writable[f"{SSID_ADMIN}.{wlan}"] = [0, 1]
        for if_index, state in (if_radios or {}).items():
            values[f"{IF_ADMIN}.{if_index}"] = ["integer", state]
            writable[f"{IF_ADMIN}.{if_index}"] = [1, 2]
        folder.mkdir(parents=True, exist_ok=True)
        venue = cls(folder / "venue.json", dict(aps))
        venue.state_file.write_text(json.dumps({"values": values, "writable": writable, "derived": derived}))
        venue.state_file.chmod(0o666)
        return venue

    def snmpd_lines(self) -> list[str]:
        return [f"pass_persist .{root} {sys.executable} {HARNESS} {self.state_file} {root}" for root in ROOTS]

    def _state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())  # type: ignore[no-any-return]

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".test.tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)

    def value(self, oid: str) -> Any:
        return self._state()["values"][oid][1]

    def radio_enabled(self, ap: str, slot: int) -> bool:
        return bool(self.value(f"{RADIO_ADMIN}.{'.'.join(map(str, mac_index(self.aps[ap])))}.{slot}") == 1)

    def set_radio(self, ap: str, slot: int, enabled: bool) -> None:
        state = self._state()
        state["values"][f"{RADIO_ADMIN}.{'.'.join(map(str, mac_index(self.aps[ap])))}.{slot}"][1] = 1 if enabled else 2
        self._write(state)

    def set_clients(self, ap: str, slot: int, clients: int) -> None:
        state = self._state()
        state["values"][f"{RAW_CLIENTS}.{'.'.join(map(str, mac_index(self.aps[ap])))}.{slot}"][1] = clients
        self._write(state)

    def set_flag(self, name: str, value: bool) -> None:
        state = self._state()
        state[name] = value
        self._write(state)


def cli_setup(text: str, folder: Path, monkeypatch: Any, env: dict[str, str], clock: Any) -> Path:
    """The config file the CLI reads, its env references set and the CLI's clock injected."""
    import agent.wifi.cli  # noqa: PLC0415
    path = folder / "velodrome.yaml"
    path.write_text(text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(agent.wifi.cli, "wall_clock", clock)
    return path
