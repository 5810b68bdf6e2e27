"""Energy without a usable grid factor is never 0 g: no emissions row or point, counted, logged once per
site, shown by status and by the report (share, row). Lab devices (snmpsim) on an injected clock."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from agent.config.load import Config, load_config_text
from agent.daemon import Agent
from agent.emissions.store import WITHOUT_FACTOR, EmissionsStore
from agent.lab import SnmpsimProcess
from agent.power.profile_files import load_builtin_profiles
from agent.report.command import report_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.views.status import status_json, status_table

pytestmark = pytest.mark.integration
PROFILES = load_builtin_profiles()
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ran(lab: SnmpsimProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path, list[str]]:
    state = tmp_path_factory.mktemp("without-factor")
    text = f"""version: 1
agent: {{interval: 30s, round_interval: false, energy_interval: 150s, state_directory: '{state}'}}
credentials:
  asr: {{version: 2c, community: 'plain:cisco_asr9901'}}
  huawei: {{version: 2c, community: 'plain:huawei_s5720'}}
sites:
  paris: {{timezone: Europe/Paris, grid_zone: FR}}
  nozone: {{timezone: Europe/Paris}}
devices:
  - {{name: asr, address: '{lab.host}:{lab.port}', credential: asr, site: paris}}
  - {{name: huawei, address: '{lab.host}:{lab.port}', credential: huawei, site: nozone}}
outputs:
  - {{type: sqlite, max_age: 36500d}}
"""
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logging.getLogger("netwatt.emissions").addHandler(handler)
    try:
        agent = Agent(config, clock=lambda: T0)
        for step in range(11):      # 10:00:00 .. 10:05:00: two 150-s energy intervals close per device
            agent.poller.clock = partial(lambda moment: moment, T0 + timedelta(seconds=30 * step))
            results = asyncio.run(agent.poller.poll_many(config.devices.values()))
            agent._pending.extend(results)
            agent._commit()
        asyncio.run(agent.close())
    finally:
        logging.getLogger("netwatt.emissions").removeHandler(handler)
    return config, state, [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def test_no_emission_row_or_point_for_energy_without_a_factor(ran: tuple[Config, Path, list[str]]) -> None:
    _config, state, _logs = ran
    store = Store(state, tables=FEATURE_TABLES)
    try:
        rows = EmissionsStore(store).between(0, 2e9)
        energy = [(d, i) for d, i in store.energy_intervals()]
        points = list(store.points("emissions"))
        counters = store.counters()
    finally:
        store.close()
    huawei_intervals = [i for d, i in energy if d == "huawei"]
    assert len(huawei_intervals) == 2
    assert all(i.wh > 0 for i in huawei_intervals)
    assert {r.device for r in rows} == {"asr"}                    # never a 0 g row for huawei
    assert all(r.gco2e > 0 for r in rows)
    assert not [p for p in points if "device=huawei" in p.line]
    assert counters[WITHOUT_FACTOR] == len(huawei_intervals)


def test_logged_once_for_the_site(ran: tuple[Config, Path, list[str]]) -> None:
    _config, _state, logs = ran
    about = [line for line in logs if "nozone" in line]
    assert len(about) == 1, logs
    assert "has no grid_zone" in about[0]
    assert WITHOUT_FACTOR in about[0]


def test_status_shows_the_count(ran: tuple[Config, Path, list[str]]) -> None:
    _config, state, _logs = ran
    store = Store(state, tables=FEATURE_TABLES)
    try:
        assert status_json(store)[WITHOUT_FACTOR] == 2
        assert "emissions: 2 energy intervals had no usable grid factor" in status_table(store)
    finally:
        store.close()


def test_report_shows_energy_without_a_factor_as_a_share_and_a_row(ran: tuple[Config, Path, list[str]]) -> None:
    config, state, _logs = ran
    store = Store(state, tables=FEATURE_TABLES)
    try:
        energy = {d: 0.0 for d in ("asr", "huawei")}
        for device, interval in store.energy_intervals():
            energy[device] += interval.wh
        report = json.loads(report_text(store, config, start="2026-03-02", end="2026-03-03", by="site",
                                        output_format="json"))
        table = report_text(store, config, start="2026-03-02", end="2026-03-03", by="site", output_format="table")
    finally:
        store.close()
    summary = report["sections"]["summary"]["data"]
    assert summary["without_factor_kwh"] == pytest.approx(energy["huawei"] / 1000, abs=1e-6)
    share = energy["huawei"] / (energy["huawei"] + energy["asr"]) * 100
    assert summary["without_factor_pct"] == pytest.approx(share, abs=0.05)
    by_site = report["sections"]["breakdown"]["data"]
    assert by_site["nozone"]["location_kgco2e"] == 0.0          # json totals: no grams were computed ...
    [headers] = [t["headers"] for t in report["sections"]["breakdown"]["tables"]]
    rows = {r[0]: dict(zip(headers, r, strict=True)) for r in report["sections"]["breakdown"]["tables"][0]["rows"]}
    assert rows["nozone"]["location kg CO2e"] is None              # ... and the table says unknown, not 0
    assert rows["nozone"]["factor g/kWh (location)"] is None
    assert rows["nozone"]["no factor %"] == 100.0
    assert rows["paris"]["no factor %"] == 0.0
    assert rows["paris"]["factor g/kWh (location)"] == pytest.approx(44.2, abs=0.01)      # FR, not diluted
    coverage = {r[0]: r for r in report["sections"]["coverage"]["tables"][0]["rows"]}
    assert coverage["energy without a factor"][1] == pytest.approx(energy["huawei"] / 1000, abs=1e-6)
    assert "Energy without a factor:" in table
    assert "sites nozone" in table
