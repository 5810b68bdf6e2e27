"""Guards know what a thing is: the management SSID by its WLAN index (every alias of it), an AP by its MAC
and PoE port, a radio by its slot and ifIndex. A second name for a guarded thing is a config error."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.errors import ConfigError
from agent.wifi.guards import check_target
from agent.wifi.model import Scope, Target

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
ENV = {"NETWATT_WLC_COMMUNITY": "private", "NETWATT_WIFI_TOKEN": "t0ken-for-the-identity-tests"}
WLANS = "wlans: {Velodrome-Ops: 1, Velodrome-Guest: 2}"
OFFICE = '''    - {name: office-01, controller: wlc-1, mac: "00:3a:7d:10:00:06", model: C9130AXI, critical: true,
       radios: [{slot: 0, band: "2.4"}, {slot: 1, band: "5"}], poe: {switch: sw-bowl-1, port: "1.6"}}
'''


def load(old: str, new: str) -> object:
    text = EXAMPLE.read_text()
    assert old in text
    return load_config_text(text.replace(old, new), file="velodrome.yaml", environ=ENV)


def error_of(old: str, new: str) -> str:
    with pytest.raises(ConfigError) as error:
        load(old, new)
    return str(error.value)


def test_alias_refused_at_load_and_at_run_time() -> None:
    text = EXAMPLE.read_text().replace(WLANS, "wlans: {Velodrome-Ops: 1, ops-alias: 1, Velodrome-Guest: 2}")
    with pytest.raises(ConfigError) as error:
        load_config_text(text.replace("ssids: [Velodrome-Guest]", "ssids: [ops-alias]"), file="velodrome.yaml",
                         environ=ENV)
    assert "'ops-alias' is a management SSID (WLAN 1, as Velodrome-Ops), never switched" in str(error.value)
    config = load_config_text(text, file="velodrome.yaml", environ=ENV)      # an alias alone is fine
    assert config.wifi is not None
    guards = config.wifi.guards
    assert check_target(guards, Target("wlc-1", Scope.SSID, ssid="ops-alias")) == "ops-alias is a management SSID"
    assert check_target(guards, Target("wlc-1", Scope.SSID, ssid="Velodrome-Guest")) is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ('{name: conc-02, controller: wlc-1, mac: "00:3a:7d:10:00:05"',
     '{name: conc-02, controller: wlc-1, mac: "00:3A:7D:10:00:06"',
     'office-01: MAC 00:3a:7d:10:00:06 is access point conc-02'),
    ('poe: {switch: sw-bowl-1, port: "1.5"}', 'poe: {switch: sw-bowl-1, port: "1.6"}',
     "office-01: PoE port sw-bowl-1 1.6 is already access point conc-02's"),
    (OFFICE, OFFICE.replace('{slot: 1, band: "5"}', '{slot: 1, band: "5"}, {slot: 1, band: "6"}'),
     "slot 1 is listed twice"),
])
def test_one_thing_under_two_names_is_a_config_error(old: str, new: str, message: str) -> None:
    assert message in error_of(old, new)


def test_one_ifindex_for_two_radios_is_a_config_error() -> None:
    text = """version: 1
credentials: {rw: {version: 2c, community: "plain:private"}}
sites: {lab: {timezone: UTC}}
devices: [{name: sw, address: "127.0.0.1:9", credential: rw}]
wifi:
  controllers: {radios: {type: ifmib, device: sw}}
  access_points:
    - {name: ap1, controller: radios, radios: [{slot: 0, band: "2.4", if_index: 7}]}
    - {name: ap2, controller: radios, critical: true, radios: [{slot: 0, band: "2.4", if_index: 7}]}
  groups: {g: {site: lab, aps: [ap1]}}
"""
    with pytest.raises(ConfigError) as error:
        load_config_text(text, environ={})
    assert "ifIndex 7 is a radio of access point ap1" in str(error.value)


def test_a_critical_radio_makes_its_whole_ap_critical() -> None:
    text = """version: 1
credentials: {rw: {version: 2c, community: "plain:private"}}
sites: {lab: {timezone: UTC}}
devices: [{name: sw, address: "127.0.0.1:9", credential: rw}]
wifi:
  controllers: {radios: {type: ifmib, device: sw}, poe: {type: poe, device: sw}}
  access_points:
    - {name: ap1, controller: radios, radios: [{slot: 0, band: "2.4", if_index: 7, critical: true},
        {slot: 1, band: "5", if_index: 8}], poe: {switch: sw, port: "1.1"}}
  groups: {whole: {site: lab, scope: ap, aps: [ap1]}, radios: {site: lab, aps: [ap1]}}
"""
    config = load_config_text(text, environ={})
    assert config.wifi is not None
    [whole] = config.wifi.groups["whole"].targets
    assert whole.critical                      # PoE off would switch the critical radio off too
    assert [t.critical for t in config.wifi.groups["radios"].targets] == [True, False]
