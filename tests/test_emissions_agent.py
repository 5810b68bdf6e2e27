"""The emissions stage inside the real agent: lab devices (snmpsim) -> energy -> emissions points in the
store -> a real InfluxDB 1.x; every point's factor provenance; reports equal the stored intervals."""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from agent.cli import main
from agent.config.load import Config, load_config_text
from agent.daemon import Agent
from agent.emissions.store import EmissionsStore
from agent.lab import SnmpsimProcess, lab_config_text
from agent.power.profile_files import load_builtin_profiles
from agent.report.command import report_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from tests.harness.influxd import InfluxServer, InfluxServerPool
from tests.harness.line_protocol import parse_line
from tests.harness.png import read_png
from tests.harness.recorded_http import RecordedApi

PROFILES = load_builtin_profiles()
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FR_2024 = 44.2          # bundled OWID/Ember France 2024 (the latest year in the table, used for 2026)
DAY = (T0.timestamp() - 36000, T0.timestamp() + 50400)        # 2026-03-02, UTC
BASELINE = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
EMISSIONS = """
emissions:
  models_dir: {models}
  target: {{baseline_from: 2025-03-03, baseline_to: 2025-03-04, reduction_pct: 45, target_year: 2030}}
  replacements:
    - {{old_model: ASR-9901, new_model: NEW-ROUTER}}
  embodied_by_role: {{other: generic-office-router}}
  acquired: {{cisco_asr9901: 2026}}
  sites:
    lab:
      overhead: 1.2
      contracts:
        - {{name: go-2026, kind: eac, share: 0.5, value: 0, source: "Guarantees of origin, 2026 vintage (test)"}}
      residual_mix: {{value: 0.5, unit: kg/kWh, source: "AIB European residual mix FR (test value)"}}
"""
POWER_MODELS = """version: 1
default_psu_efficiency: 0.88
default_psu_efficiency_source: test
models:
  - {model: NEW-ROUTER, typical_w: 200, max_w: 400, psu_efficiency: 0.9, source: "test value"}
"""
FOOTPRINTS = """version: 1
models:
  - {model: NEW-ROUTER, pcf_kgco2e: 1000, use_share: 0, lifetime_years: 5, provenance: vendor, source: "test value"}
  - {model: generic-office-router, pcf_kgco2e: 171.7, provenance: generic, source: "test copy of the shipped row"}
"""


@dataclass
class AgentRun:
    config: Config
    state: Path
    influx: InfluxServer


@pytest.fixture(scope="module")
def agent_run(lab: SnmpsimProcess, influxd_factory: InfluxServerPool,
              tmp_path_factory: pytest.TempPathFactory) -> AgentRun:
    influx = influxd_factory()
    influx.create_database("netwatt")
    state = tmp_path_factory.mktemp("emissions-agent")
    models = tmp_path_factory.mktemp("models")
    (models / "power.yaml").write_text(POWER_MODELS)
    (models / "embodied.yaml").write_text(FOOTPRINTS)
    text = lab_config_text(lab, state_directory=state, interval_s=30) + EMISSIONS.format(models=models)
    text = text.replace("{name: 'cisco_asr9901', ", "{name: 'cisco_asr9901', model: ASR-9901, ")
    text += (f"outputs:\n  - {{type: sqlite, max_age: 36500d}}\n"
             f"  - {{type: influxdb_v1, url: '{influx.url}', database: netwatt}}\n")
    config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
    # (max_age: the store drops points older than that by the real clock; these are dated 2026-03-02)
    # seven polls 30 s apart on a controlled clock, one agent start per poll (state survives restarts):
    # the sample at 10:02:30 closes the interval [10:00:00, 10:02:30) of every device
    for start in (BASELINE, T0):
        for step in range(7):
            when = start + timedelta(seconds=30 * step)
            asyncio.run(Agent(config, clock=partial(lambda moment: moment, when)).run_once())
    return AgentRun(config, state, influx)


@pytest.mark.integration
def test_every_emissions_point_carries_its_factor_provenance(agent_run: AgentRun) -> None:
    store = Store(agent_run.state, tables=FEATURE_TABLES)
    try:
        points = [p for p in store.points("emissions") if DAY[0] <= p.time < DAY[1]]
        rows = {(r.device, r.scope2_method): r for r in EmissionsStore(store).between(DAY[0], DAY[1])}
        energy = {d: i for d, i in store.energy_intervals() if DAY[0] <= i.start_s < DAY[1]}
    finally:
        store.close()
    assert len(points) == 2 * len(agent_run.config.devices)           # location + market per device
    for point in points:
        tags, fields = parse_line(point.line)
        assert set(tags) >= {"site", "device", "grid_zone", "scope2_method", "factor_source", "factor_basis",
                             "factor_granularity", "energy_method"}
        assert {"gco2e", "factor_g_per_kwh", "wh", "overhead_gco2e", "factor_dataset", "factor_release",
                "factor_period"} <= set(fields)
        row = rows[(tags["device"], tags["scope2_method"])]
        assert float(fields["gco2e"]) == pytest.approx(row.gco2e)
        assert tags["factor_source"] == row.factor_source
        used = {u["factor"]["source"] for u in row.provenance}
        assert tags["factor_source"] in used
        for use in row.provenance:                                   # every factor says where it is from
            f = use["factor"]
            assert f["dataset"]
            assert f["release"]
            assert f["period"]
            assert f["basis"] in ("direct", "lifecycle")
        wh = energy[tags["device"]].wh
        if tags["scope2_method"] == "location":
            # hand check: Wh / 1000 x 44.2 g/kWh (bundled FR 2024, flagged as used for 2026)
            assert (tags["factor_source"], tags["factor_basis"], tags["factor_granularity"]) == (
                "owid-fr-2024", "lifecycle", "annual")
            assert float(fields["gco2e"]) == pytest.approx(wh / 1000 * FR_2024)
            assert "the 2024 factor is used" in fields["factor_note"]
            assert float(fields["overhead_gco2e"]) == pytest.approx(wh / 1000 * FR_2024 * 0.2)
        else:
            # 50 % certificates at 0 + 50 % residual mix 500 g/kWh
            assert float(fields["gco2e"]) == pytest.approx(wh / 1000 * 0.5 * 500)


@pytest.mark.integration
def test_devices_without_power_are_estimated_and_labelled(agent_run: AgentRun) -> None:
    store = Store(agent_run.state, tables=FEATURE_TABLES)
    try:
        energy = {d: i for d, i in store.energy_intervals() if DAY[0] <= i.start_s < DAY[1]}
        power = {parse_line(p.line)[0]["device"]: p.line for p in store.points("device_power")}
    finally:
        store.close()
    # the EX3400 walk reports only PoE: 212 + 95 W delivered / 0.88 PSU efficiency = 348.864 W, a lower bound
    assert energy["juniper_ex3400"].method.value == "estimated"
    assert "method=estimated" in power["juniper_ex3400"]
    assert "basis=poe_only_lower_bound" in power["juniper_ex3400"]
    assert "watts=348.863636" in power["juniper_ex3400"]
    assert energy["cisco_asr9901"].method.value == "measured"


@pytest.mark.integration
def test_emissions_points_reach_influxdb(agent_run: AgentRun) -> None:
    rows = agent_run.influx.query(
        f"SELECT gco2e, factor_g_per_kwh FROM emissions WHERE time >= {int(DAY[0])}s GROUP BY *", db="netwatt")
    assert len(rows) == 2 * len(agent_run.config.devices)
    asr = [r for r in rows if r["tags"]["device"] == "cisco_asr9901"]
    assert {r["tags"]["scope2_method"] for r in asr} == {"location", "market"}
    location = next(r for r in asr if r["tags"]["scope2_method"] == "location")
    assert location["tags"]["factor_source"] == "owid-fr-2024"
    assert location["factor_g_per_kwh"] == pytest.approx(FR_2024)
    assert location["time"] == int(T0.timestamp())


@pytest.mark.integration
@pytest.mark.parametrize("by", ["site", "device", "role"])
def test_report_totals_equal_the_sum_of_stored_intervals(agent_run: AgentRun, by: str) -> None:
    store = Store(agent_run.state, tables=FEATURE_TABLES)
    try:
        report = json.loads(report_text(store, agent_run.config, start="2026-03-02", end="2026-03-03", by=by,
                                        output_format="json"))
        stored = EmissionsStore(store).between(DAY[0], DAY[1])
        energy_wh = sum(i.wh for _, i in store.energy_intervals() if DAY[0] <= i.start_s < DAY[1])
    finally:
        store.close()
    summary = report["sections"]["summary"]["data"]
    location = sum(r.gco2e for r in stored if r.scope2_method == "location")
    market = sum(r.gco2e for r in stored if r.scope2_method == "market")
    assert summary["energy_kwh"] == pytest.approx(energy_wh / 1000, abs=1e-3)
    assert summary["location_kgco2e"] == pytest.approx(location / 1000, abs=1e-3)
    assert summary["market_kgco2e"] == pytest.approx(market / 1000, abs=1e-3)
    assert summary["market_inventory_kgco2e"] == pytest.approx(market / 1000, abs=1e-3)   # every site has contracts
    groups = report["sections"]["breakdown"]["data"]
    assert sum(g["location_kgco2e"] for g in groups.values()) == pytest.approx(location / 1000, abs=1e-2)
    assert sum(g["energy_kwh"] for g in groups.values()) == pytest.approx(energy_wh / 1000, abs=1e-2)
    assert summary["estimated_pct"] > 0                               # EX3400, MikroTik, 2960X
    shares = summary["measured_pct"] + summary["derived_pct"] + summary["estimated_pct"]
    assert shares == pytest.approx(100, abs=0.2)
    [factor_row] = [f for f in report["sections"]["factors"]["data"]["factors"] if f["source"] == "owid-fr-2024"]
    assert factor_row["g_per_kwh"] == pytest.approx(FR_2024)


@pytest.mark.integration
def test_baseline_trajectory_refresh_and_embodied_sections(agent_run: AgentRun) -> None:
    store = Store(agent_run.state, tables=FEATURE_TABLES)
    try:
        report = json.loads(report_text(store, agent_run.config, start="2026-03-02", end="2026-03-03", by="site",
                                        output_format="json"))
        baseline_g = sum(r.gco2e for r in EmissionsStore(store).between(BASELINE.timestamp() - 36000,
                                                             BASELINE.timestamp() + 50400)
                         if r.scope2_method == "location")
    finally:
        store.close()
    sections = report["sections"]
    # baseline: one day (2025-03-03) annualised x 365.25; target -45 %
    trajectory = sections["baseline"]["data"]
    assert trajectory["baseline_kg_year"] == pytest.approx(baseline_g / 1000 * 365.25, abs=1e-3)
    assert trajectory["target_kg_year"] == pytest.approx(trajectory["baseline_kg_year"] * 0.55, abs=1e-3)
    # refresh: ASR-9901 measured 495.39 W -> NEW-ROUTER 200 W: 295.39 W x 8766 h = 2589.389 kWh/yr;
    # x 44.2 g/kWh = 114.451 kg/yr; embodied 1000 kg -> payback 8.737 years
    [asr] = sections["refresh"]["data"]["devices"]
    assert asr["old_w"] == pytest.approx(495.39, abs=0.01)
    assert asr["saved_kwh_year"] == pytest.approx(2589.39, abs=0.05)
    assert asr["saved_kg_year"] == pytest.approx(114.45, abs=0.01)
    assert asr["payback_years"] == pytest.approx(8.74, abs=0.01)
    assert asr["new_w_source"] == "datasheet typical (test value)"
    # embodied: generic row by role for every device; the ASR acquired in 2026 has its full 171.7 kg
    embodied = {d["device"]: d for d in sections["embodied"]["data"]["devices"]}
    assert embodied["cisco_asr9901"]["inventory_kg"] == pytest.approx(171.7)
    assert embodied["arista_7050"]["inventory_kg"] == 0
    # a day's amortisation of 171.7 kg over 5 years: 171.7 / (5 x 365.25) = 0.094018 kg
    assert embodied["arista_7050"]["amortised_kg"] == pytest.approx(0.094, abs=0.001)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Debian's chromium + chromium-driver, headless, offline, a fresh profile; fails (never skips) if absent."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--force-device-scale-factor=1",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_window_size(1100, 1400)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.integration
def test_html_report_renders_its_charts_offline_and_prints(agent_run: AgentRun, chromium: webdriver.Chrome,
                                                           tmp_path: Path) -> None:
    store = Store(agent_run.state, tables=FEATURE_TABLES)
    try:
        html = report_text(store, agent_run.config, start="2026-03-02", end="2026-03-03", by="device",
                           output_format="html")
    finally:
        store.close()
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?:', html)                # nothing to fetch: no CDN, no network
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    chromium.get(page.as_uri())
    assert chromium.title == "netwatt emissions report"
    charts = chromium.find_elements(By.CSS_SELECTOR, "svg.chart")
    titles = [c.get_attribute("aria-label") for c in charts]
    assert {"Scope 2 by device", "Energy by method", "Trajectory against the target"} <= set(titles)
    # the bar chart, as drawn: location-based bars in #1f6f78, market-based in #d17a22
    by_device = charts[titles.index("Scope 2 by device")]
    chromium.execute_script("arguments[0].scrollIntoView();", by_device)
    image = read_png(by_device.screenshot_as_png)
    assert image.width >= 700
    assert image.count((0x1F, 0x6F, 0x78)) > 500
    assert image.count((0xD1, 0x7A, 0x22)) > 500
    trajectory = charts[titles.index("Trajectory against the target")]
    chromium.execute_script("arguments[0].scrollIntoView();", trajectory)
    assert read_png(trajectory.screenshot_as_png).count((0x1F, 0x6F, 0x78)) > 200     # the target path line
    # print: the print stylesheet applies and a PDF comes out with pages
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert chromium.execute_script("return getComputedStyle(document.body).maxWidth") == "none"
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(chromium.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2


@pytest.mark.integration
def test_report_command_writes_csv_and_table(agent_run: AgentRun, tmp_path: Path) -> None:
    config_file = tmp_path / "netwatt.yaml"
    text = lab_config_text_for(agent_run)
    config_file.write_text(text)
    out = tmp_path / "report.csv"
    assert main(["report", "-c", str(config_file), "--from", "2026-03-02", "--to", "2026-03-03", "--by", "role",
                 "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0][:3] == ["section", "role", "energy kWh"]
    assert rows[1][:2] == ["breakdown", "other"]
    # a bad report argument is bad usage: exit 2 (README, exit codes)
    assert main(["report", "-c", str(config_file), "--from", "2026-03-03", "--to", "2026-03-02"]) == 2


def lab_config_text_for(run: AgentRun) -> str:
    """The run's config as a file: same state directory, no outputs to reach."""
    lines = [f"version: 1\nagent: {{state_directory: '{run.state}'}}\ncredentials: {{}}\n",
             "sites:\n  lab: {timezone: Europe/Paris, grid_zone: FR}\n"]
    return "".join(lines)


@pytest.mark.integration
def test_the_agent_uses_live_factors_and_records_the_fallback_when_the_provider_fails(
        lab: SnmpsimProcess, tmp_path: Path) -> None:
    with RecordedApi() as api:
        api.reply_file("/regional/intensity/*", "ukci_regional_13.json")
        text = lab_config_text(lab, state_directory=tmp_path, interval_s=30)
        text = text.replace("grid_zone: FR", "grid_zone: GB-13")
        text += (f"emissions:\n  providers:\n    - {{type: uk_carbon_intensity, url: '{api.url}', "
                 "zones: {GB-13: '13'}}\n"
                 "outputs:\n  - {type: sqlite, max_age: 36500d}\n")
        config = load_config_text(text, environ={}, builtin_profiles=PROFILES)
        ukci_day = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)          # the fixture's half-hours: 10:00 180, 10:30 200
        for step in range(6):
            when = ukci_day + timedelta(seconds=30 * step)
            asyncio.run(Agent(config, clock=partial(lambda moment: moment, when)).run_once())
        api.reply_file("/regional/intensity/*", "ukci_500.json", status=500)   # the service fails the next day
        for step in range(6):
            when = ukci_day + timedelta(days=1, seconds=30 * step)
            asyncio.run(Agent(config, clock=partial(lambda moment: moment, when)).run_once())
    store = Store(tmp_path, tables=FEATURE_TABLES)
    try:
        points = [(p.time, *parse_line(p.line)) for p in store.points("emissions")]
        energy = {(d, i.start_s): i for d, i in store.energy_intervals()}
    finally:
        store.close()
    day_one = [(tags, fields) for time, tags, fields in points if time == int(ukci_day.timestamp())]
    day_two = [(tags, fields) for time, tags, fields in points if time == int(ukci_day.timestamp()) + 86400]
    assert len(day_one) == len(day_two) == len(config.devices)      # one closed interval per device and day
    for tags, fields in day_one:                                     # the live regional forecast, half-hourly
        assert (tags["factor_source"], tags["factor_granularity"]) == ("ukci-region-13", "half_hourly")
        assert fields["factor_forecast"] == "true"
        wh = energy[(tags["device"], ukci_day.timestamp())].wh
        assert float(fields["gco2e"]) == pytest.approx(wh / 1000 * 180.0)
    for tags, fields in day_two:                                     # bundled DESNZ, with the reason
        assert tags["factor_source"] == "desnz-gb-2025"
        assert "uk_carbon_intensity: HTTP 500: Requested resource not found" in fields["factor_note"]
