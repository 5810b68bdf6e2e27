"""The shipped Grafana files: provisioning and dashboards load and follow the rules, and EVERY panel
query runs, as Grafana would send it (variables and macros substituted), against a real InfluxDB 1.x
filled by a real `netwatt run` on the lab, returning data of the expected shape.

The run includes a Wi-Fi controller (AireOS objects on a writable snmpd, tests/wifi_venue.py) with one
group the agent keeps dark and one it keeps lit, so the Wi-Fi panels read what `netwatt run` wrote too.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.lab import SnmpsimProcess, lab_config_text
from agent.store.sqlite import Store
from tests.agent_process import start_agent, wait_for
from tests.harness.influxd import InfluxServer, InfluxServerPool
from tests.harness.line_protocol import parse_line
from tests.harness.pool import SnmpdFactory
from tests.harness.snmpd import NetSnmpd
from tests.wifi_venue import Venue

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "config" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE_UID = "netwatt-influxdb"
DATASOURCE_REF = {"type": "influxdb", "uid": "${datasource}"}
DATABASE = "netwatt_grafana"
SITES = {"paris": ("router", "switch"), "marseille": ("switch", "wlc")}
WIFI_SITE = "marseille"
ACCESS_POINTS = {"ap-dark": "00:3a:7d:10:00:01", "ap-lit": "00:3a:7d:10:00:02"}
RUN_S = 14.0                     # long enough for two energy intervals (5 s) to close
MACRO_INTERVAL = "2s"            # what Grafana would compute for $__interval on this short range
VARIABLE_VALUES = {"price": "0.25", "radio_w": "4", "topn": "5", "scope2": "location", "wifi_every": "1"}


def load_dashboard(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


# -- files and structure ------------------------------------------------------------------------------


def test_datasource_provisioning() -> None:
    data = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "netwatt.yaml").read_text())
    assert data["apiVersion"] == 1
    [source] = data["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "influxdb"
    assert source["access"] == "proxy"
    assert source["jsonData"]["version"] == "InfluxQL"
    # every site-specific value, and the secret, comes from grafana-server's environment
    assert source["url"] == "${NETWATT_INFLUX_URL}"
    assert source["jsonData"]["dbName"] == "${NETWATT_INFLUX_DATABASE}"
    assert source["user"] == "${NETWATT_INFLUX_USER}"
    assert source["secureJsonData"] == {"password": "${NETWATT_INFLUX_PASSWORD}"}
    assert set(source) <= {"name", "uid", "type", "access", "url", "user", "isDefault", "editable", "version",
                           "jsonData", "secureJsonData"}


def test_dashboard_provider_points_at_the_installed_dashboards() -> None:
    data = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "netwatt.yaml").read_text())
    assert data["apiVersion"] == 1
    [provider] = data["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    # the wheel installs config/grafana/dashboards there (pyproject data-files; test_packaging checks it)
    assert provider["options"]["path"] == "/opt/netwatt/share/netwatt/grafana/dashboards"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"share/netwatt/grafana/dashboards" = ["config/grafana/dashboards/*.json"]' in pyproject


def test_dashboards_are_well_formed() -> None:
    assert {p.name for p in DASHBOARDS} == {"netwatt-energy.json", "netwatt-agent.json"}
    uids = [load_dashboard(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    for path in DASHBOARDS:
        board = load_dashboard(path)
        for key in ("uid", "title", "panels", "schemaVersion", "templating", "time", "tags"):
            assert key in board, f"{path.name}: no {key}"
        assert board["id"] is None
        assert "netwatt" in board["tags"]
        ids = [p["id"] for p in board["panels"]] + [p["id"] for p in panels(board) if p not in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "influxdb"
        for variable in variables.values():
            if variable["type"] == "query":
                assert variable["datasource"] == DATASOURCE_REF, f"{path.name}: ${variable['name']}"
        for panel in panels(board):
            where = f"{path.name}: panel {panel['title']!r}"
            assert panel["datasource"] == DATASOURCE_REF, where
            assert panel["targets"], where
            assert panel["description"], where
            assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), where
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE_REF, where
                assert target["rawQuery"] is True, where
                assert "$timeFilter" in target["query"] or target["query"].startswith("SHOW"), where
        used = " ".join(t["query"] for p in panels(board) for t in p["targets"])
        for name in variables:
            if name != "datasource":
                assert f"${name}" in used or any(f"${name}" in v.get("query", "") for v in variables.values()), \
                    f"{path.name}: ${name} is never used"


def test_energy_dashboard_variables_chain_site_role_device() -> None:
    board = load_dashboard(GRAFANA / "dashboards" / "netwatt-energy.json")
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables)[:4] == ["datasource", "site", "role", "device"]
    assert "$site" in variables["role"]["query"]
    assert "$site" in variables["device"]["query"]
    assert "$role" in variables["device"]["query"]


# -- every query against a real InfluxDB filled by a real agent ------------------------------------------


@dataclass(frozen=True)
class Filled:
    influx: InfluxServer
    start_ms: int
    end_ms: int
    store_state: Path
    devices_with_power: set[str]
    energy_kwh: float
    location_kg: float           # location-based CO2e the agent stored
    radio_off_samples: int       # wifi_radio points with enabled=false the agent stored


def fleet_config(lab: SnmpsimProcess, state: Path, influx: InfluxServer, controller: NetSnmpd) -> str:
    """The lab's devices spread over two sites and three roles, plus a Wi-Fi controller, writing to InfluxDB 1.x."""
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    text = text.replace("sites:\n  lab: {timezone: Europe/Paris, grid_zone: FR}\n",
                        "sites:\n" + "".join(f"  {s}: {{timezone: Europe/Paris, grid_zone: FR}}\n" for s in SITES))
    placements = [(site, role) for site, roles in SITES.items() for role in roles]
    lines, placed = [], 0
    for line in text.splitlines():
        if line.startswith("  - {name:"):
            site, role = placements[placed % len(placements)]
            placed += 1
            lines.append(line.replace("site: lab,", f"site: {site}, role: {role},"))
        elif line == "credentials:":
            lines += [line, "  wlc-rw: {version: 2c, community: 'plain:private'}"]
        elif line == "devices:":
            lines += [line, f"  - {{name: wlc-1, address: '{controller.endpoint}', site: {WIFI_SITE}, role: wlc, "
                      "credential: wlc-rw, timeout: 2}"]
        else:
            lines.append(line)
    radios = '[{slot: 0, band: "2.4"}, {slot: 1, band: "5"}]'
    aps = "".join(f'    - {{name: {name}, controller: wlc-1, mac: "{mac}", radios: {radios}}}\n'
                  for name, mac in ACCESS_POINTS.items())
    wifi = (f"wifi:\n  evaluate_every: 1s\n  controllers: {{wlc-1: {{type: aireos, device: wlc-1}}}}\n"
            f"  access_points:\n{aps}  groups:\n"
            f"    dark: {{site: {WIFI_SITE}, scope: radio, aps: [ap-dark], default: 'off'}}\n"
            f"    lit: {{site: {WIFI_SITE}, scope: radio, aps: [ap-lit], default: 'on'}}\n"
            "  guards: {allow_controllers: [wlc-1], dead_man: 10m}\n")
    return ("\n".join(lines) + f"\n{wifi}outputs:\n"
            f"  - {{type: influxdb_v1, url: '{influx.url}', database: {DATABASE}}}\n")


@pytest.fixture(scope="module")
def filled(lab: SnmpsimProcess, influxd_factory: InfluxServerPool, snmpd_factory: SnmpdFactory,
           tmp_path_factory: pytest.TempPathFactory) -> Filled:
    influx = influxd_factory()
    influx.create_database(DATABASE)
    work = tmp_path_factory.mktemp("grafana-run")
    venue = Venue.create(work / "venue", ACCESS_POINTS)
    (work / "venue").chmod(0o777)          # snmpd's pass_persist child writes the radios' state there
    controller = snmpd_factory(communities=["private"], extra_lines=venue.snmpd_lines(), writable=True)
    config = work / "netwatt.yaml"
    config.write_text(fleet_config(lab, work / "state", influx, controller))
    start_ms = int(time.time() * 1000) - 60_000
    agent = start_agent(config, work / "agent.log")
    try:
        time.sleep(RUN_S)
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, (work / "agent.log").read_text()[-2000:]
    store = Store(work / "state")
    try:
        wait_for(lambda: all(s.pending == 0 for s in store.output_statuses()), 10, "the spool to drain")
        devices = {p.device for p in store.points("device_power")}
        energy_wh = sum(i.wh for _, i in store.energy_intervals())
        location_g = sum(float(fields["gco2e"]) for tags, fields in map(parse_line, _lines(store, "emissions"))
                         if tags["scope2_method"] == "location")
        # InfluxDB keeps one point per series and timestamp (seconds): two rounds of a busy run in the same
        # second are one point there, so the store's points are counted the same way
        radio_off = len({(tuple(sorted(tags.items())), line.rsplit(" ", 1)[1])
                         for line in _lines(store, "wifi_radio")
                         for tags, fields in [parse_line(line)] if fields["enabled"] == "false"})
    finally:
        store.close()
    assert energy_wh > 0, "the run closed no energy interval"
    assert location_g > 0, "the run wrote no location-based emissions"
    assert not venue.radio_enabled("ap-dark", 0), "the agent did not switch the dark group off"
    assert venue.radio_enabled("ap-lit", 0)
    return Filled(influx, start_ms, int(time.time() * 1000) + 60_000, work / "state", devices, energy_wh / 1000,
                  location_g / 1000, radio_off)


def _lines(store: Store, measurement: str) -> list[str]:
    return [p.line for p in store.points(measurement)]


def regex_all(values: list[str]) -> str:
    """Grafana's "All" in a regex context: the values, regex-escaped, as one alternation."""
    return "(" + "|".join(re.escape(v) for v in values) + ")"


def substitute(query: str, filled: Filled, variables: dict[str, str], interval: str) -> str:
    query = query.replace("$timeFilter", f"time >= {filled.start_ms}ms and time <= {filled.end_ms}ms")
    query = query.replace("$__interval", interval)
    for name in sorted(variables, key=len, reverse=True):          # $site before $s...
        query = query.replace(f"${name}", variables[name])
    left = [name for name in re.findall(r"\$\{?([A-Za-z_]\w*)", query) if not name.startswith("tag_")]
    assert not left, f"unsubstituted {left} in {query}"
    return query


def resolve_variables(board: dict[str, Any], filled: Filled, database: str) -> dict[str, str]:
    """Run each query variable in order (chained: later ones see earlier values), as Grafana does."""
    values = dict(VARIABLE_VALUES)
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        rows = filled.influx.query(substitute(variable["query"], filled, values, MACRO_INTERVAL), database)
        found = sorted({row["value"] for row in rows})
        assert found, f"${variable['name']}: {variable['query']} found nothing"
        values[variable["name"]] = regex_all(found)
    return values


def all_targets() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for path in DASHBOARDS:
        for panel in panels(load_dashboard(path)):
            for target in panel["targets"]:
                yield path.name, panel, target


def case_id(dashboard_file: str, panel: dict[str, Any], target: dict[str, Any]) -> str:
    return f"{dashboard_file.removesuffix('.json')}:{panel['title']}:{target['refId']}"


def panel_cases() -> Iterator[Any]:
    for dashboard_file, panel, target in all_targets():
        # These two sum a subquery grouped by time, which InfluxQL ends at influxd's now(): influxd (Go)
        # does not see libfaketime's clock, so 400 days ahead the data is in its future (no date logic of ours)
        marks = [pytest.mark.real_clock] if panel["title"] in ("Power by site", "Power by role") else []
        yield pytest.param(dashboard_file, panel["id"], target["refId"], id=case_id(dashboard_file, panel, target),
                           marks=marks)


def outer_group_by(query: str) -> tuple[bool, list[str]]:
    """(groups by time, the tag keys) of the outermost GROUP BY: none if the last one is in a subquery."""
    _, sep, clause = query.rpartition("GROUP BY ")
    if not sep or clause.count(")") > clause.count("("):
        return False, []
    return "time(" in clause, re.findall(r'"([a-z0-9_]+)"', clause)


def check_panel(filled: Filled, database: str, dashboard_file: str, panel_id: int, ref: str) -> list[dict[str, Any]]:
    """Run one panel query as Grafana would and check the shape of what comes back."""
    board = load_dashboard(GRAFANA / "dashboards" / dashboard_file)
    [panel] = [p for p in panels(board) if p["id"] == panel_id]
    [target] = [t for t in panel["targets"] if t["refId"] == ref]
    variables = resolve_variables(board, filled, database)
    query = substitute(target["query"], filled, variables, panel.get("interval", MACRO_INTERVAL))
    rows = filled.influx.query(query, database)
    assert rows, f"no data for {query}"
    by_time, tags = outer_group_by(query)
    columns = [c for c in rows[0] if c not in ("name", "tags", "time")]
    assert columns, query
    for row in rows:
        assert set(row["tags"]) == set(tags), f"series tags {row['tags']} for GROUP BY {tags}: {query}"
        assert all(row["tags"][t] for t in tags), row
        numbers = [row[c] for c in columns if not isinstance(row[c], str)]
        assert numbers, f"no numeric column in {row}"
        assert all(n is None or n >= 0 for n in numbers), row
    assert any(row[c] is not None for row in rows for c in columns)
    if by_time and panel.get("interval") is None:
        assert len({row["time"] for row in rows}) >= 2, f"one time bucket only: {query}"
    check_meaning(panel["title"], rows, filled)
    return rows


@pytest.mark.integration
@pytest.mark.parametrize(("dashboard_file", "panel_id", "ref"), list(panel_cases()))
def test_every_panel_query_returns_data(filled: Filled, dashboard_file: str, panel_id: int, ref: str) -> None:
    check_panel(filled, DATABASE, dashboard_file, panel_id, ref)


def check_meaning(title: str, rows: list[dict[str, Any]], filled: Filled) -> None:
    """What some panels must say, checked against the agent's own store."""
    if title == "Energy":
        assert rows[0]["sum"] == pytest.approx(filled.energy_kwh, rel=1e-6)
    elif title == "Emissions":     # location only ($scope2): the market-based figure is never added to it
        assert rows[0]["sum"] == pytest.approx(filled.location_kg, rel=1e-6)
    elif title == "Radio-off hours":        # $wifi_every is the run's evaluate_every (1 s)
        assert rows[0]["count"] == pytest.approx(filled.radio_off_samples / 3600)
    elif title == "Radio actions":          # the dark group's two radios switched off by its default
        assert {(r["tags"]["action"], r["tags"]["reason"], r["tags"]["result"]) for r in rows} == {
            ("disable", "default", "confirmed")}        # read back after the SET
        assert rows[0]["actions"] == 2
    elif title == "Cost":
        assert rows[0]["sum"] == pytest.approx(filled.energy_kwh * 0.25, rel=1e-6)
    elif title == "Power by site":
        assert {r["tags"]["site"] for r in rows} == set(SITES)
    elif title == "Power by role":
        assert {r["tags"]["role"] for r in rows} == {role for roles in SITES.values() for role in roles}
    elif title == "Energy by method":
        assert {r["tags"]["method"] for r in rows} <= {"measured", "derived", "estimated"}
    elif title in ("Top devices by energy", "Top devices by power now"):
        assert len(rows) == min(int(VARIABLE_VALUES["topn"]), len(filled.devices_with_power))
        assert {r["device"] for r in rows} <= filled.devices_with_power
    elif title in ("How each device's power is known", "Devices by last poll"):
        assert {r["tags"]["device"] for r in rows} == filled.devices_with_power
