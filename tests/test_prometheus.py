"""The data on /metrics (agent/views/prometheus.py): a real Prometheus (Debian's 2.42) scrapes a real
`netwatt run` on the lab, stopped and started again on the same store half-way; PromQL through its HTTP
API is checked against what the agent stored. `promtool check metrics` lints the exposition.

Also: the config keys, and stale devices leaving the exposition (an injected clock, no server).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

import pytest

from agent.config.load import load_config_text
from agent.daemon import Agent
from agent.emissions.store import EmissionsStore
from agent.errors import ConfigError
from agent.lab import SnmpsimProcess, lab_config_text
from agent.store.sqlite import PollRecord, Store
from agent.tables import FEATURE_TABLES
from agent.views.prometheus import JOULES_PER_WH, device_metrics_text
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness import require_server
from tests.harness.line_protocol import parse_line
from tests.harness.ports import free_tcp_port
from tests.harness.process import find_tool
from tests.harness.prometheus import PrometheusServer

PHASE_S = 13.0              # each run closes two energy intervals (5 s) at least
GONE = "gone-switch"        # configured, never answers: must never have a series
RESIDUAL_MIX = 70.0         # g/kWh: market-based emissions without dated contracts (any date works)


def metrics_config(lab: SnmpsimProcess, state: Path, port: int, *, components: bool = True) -> str:
    text = lab_config_text(lab, state_directory=state, interval_s=1)
    metrics = "{devices: true, components: true}" if components else "{devices: true}"
    text = text.replace("agent:\n", f"agent:\n  http: {{listen: '127.0.0.1:{port}', metrics: {metrics}}}\n", 1)
    credential = text.split("credentials:\n  ", 1)[1].split(":", 1)[0]
    text += (f"  - {{name: {GONE}, address: '127.0.0.1:{free_tcp_port()}', site: lab, role: switch, "
             f"credential: '{credential}', timeout: 1s, retries: 0}}\n")
    return text + ("emissions:\n  sites:\n    lab:\n      residual_mix: "
                   f"{{value: {RESIDUAL_MIX:g}, unit: g/kWh, source: 'test residual mix'}}\n")


@dataclass
class Scraped:
    prometheus: PrometheusServer
    state: Path
    exposition: str                    # one /metrics body fetched during the second run
    stopped_at: list[float]            # when each run was stopped (Prometheus' clock, epoch s)
    end: float                         # (Prometheus' clock)
    offset_s: float                    # the agent's clock minus Prometheus' (libfaketime moves only the first)


@pytest.fixture(scope="module")
def scraped(lab: SnmpsimProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    work = tmp_path_factory.mktemp("prometheus-run")
    port = free_tcp_port()
    config = work / "netwatt.yaml"
    config.write_text(metrics_config(lab, work / "state", port))
    prometheus = require_server(PrometheusServer([f"127.0.0.1:{port}"], work_dir=work / "prometheus").start)
    stopped_at, exposition = [], ""
    try:
        for phase in (1, 2):
            agent = start_agent(config, work / "agent.log")
            try:
                wait_for(lambda: _get(port) is not None, 30, "the agent's /metrics")
                time.sleep(PHASE_S)
                if phase == 2:
                    exposition = _get(port) or ""
            finally:
                agent.send_signal(signal.SIGTERM)
                assert agent.wait(timeout=30) == 0, (work / "agent.log").read_text()[-2000:]
            stopped_at.append(prometheus.now())
        time.sleep(2)           # the last scrapes and the staleness markers are in
        end = prometheus.now()
        offset_s = time.time() - end
    except BaseException:
        prometheus.close()
        raise
    yield Scraped(prometheus, work / "state", exposition, stopped_at, end, offset_s)
    prometheus.close()


def _get(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def _prefix_sums(values: list[float]) -> list[float]:
    return [0.0, *accumulate(values)]


def _check_counter(scraped: Scraped, metric: str, stored: dict[tuple[str, str], list[float]], unit: str) -> int:
    """Every scraped value is a prefix sum of the stored intervals; increase() between the first and last
    sample equals the stored intervals between them; no reset across the restart. Returns series checked."""
    p = scraped.prometheus
    window = int(scraped.end - scraped.stopped_at[0] + 60)
    series = p.samples(metric, scraped.end, window)
    assert series, f"Prometheus has no {metric}"
    for key, points in sorted(series.items()):
        assert key in stored, f"{metric}{key}: no such intervals in the store"
        sums = _prefix_sums(stored[key])
        indexes = []
        for _, value in points:
            matches = [i for i, s in enumerate(sums) if abs(s - value) <= 1e-6 * max(1.0, s)]
            assert matches, f"{metric}{key}: scraped {value} is no sum of stored intervals {sums}"
            indexes.append(matches[-1])
        assert indexes == sorted(indexes), f"{metric}{key}: went backwards {indexes}"
        (t1, v1), (t2, v2) = points[0], points[-1]
        span_ms = round((t2 - t1) * 1000)
        selector = f'{metric}{{device="{key[0]}",method="{key[1]}"}}'
        [(_, increase)] = p.query(f"increase({selector}[{span_ms}ms])", t2)
        expected = sum(stored[key][indexes[0]:indexes[-1]])
        print(f"increase({selector}[{span_ms}ms]) = {increase:.4f} {unit}; store intervals "
              f"#{indexes[0] + 1}..#{indexes[-1]}: {expected:.4f} {unit}")
        assert increase == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert increase == pytest.approx(v2 - v1, rel=1e-6, abs=1e-6)
        [(_, resets)] = p.query(f"resets({selector}[{window}s])", scraped.end)
        assert resets == 0, f"{selector} reset across the agent's restart"
    return len(series)


@pytest.mark.integration
def test_exposition_passes_promtool(scraped: Scraped) -> None:
    promtool = find_tool("promtool", "/usr/bin")
    check = subprocess.run([promtool, "check", "metrics"], input=scraped.exposition, capture_output=True,
                           text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    for family in ("netwatt_power_watts", "netwatt_energy_joules_total", "netwatt_component_power_watts",
                   "netwatt_emissions_location_based_grams_total", "netwatt_emissions_market_based_grams_total"):
        assert f"# TYPE {family} " in scraped.exposition
        assert f"\n{family}{{" in scraped.exposition, f"no {family} sample"
    assert GONE not in scraped.exposition


@pytest.mark.integration
def test_component_power_is_what_the_store_holds_without_ratings(scraped: Scraped) -> None:
    samples = [(dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)) for labels, value in
               re.findall(r"^netwatt_component_power_watts\{(.*)\} (\S+)$", scraped.exposition, re.MULTILINE)]
    assert len({labels["device"] for labels, _ in samples}) >= 5
    assert {labels["kind"] for labels, _ in samples} >= {"module", "psu_input"}
    assert not {labels["kind"] for labels, _ in samples} & {"capacity", "poe_budget", "optic"}, "not draw"
    store = Store(scraped.state, tables=FEATURE_TABLES)
    try:
        stored = {(t["device"], t["component"], t["kind"], t["method"], float(f["watts"]))
                  for t, f in map(parse_line, (p.line for p in store.points("component_power")))}
    finally:
        store.close()
    for labels, watts in samples:
        key = (labels["device"], labels["component"], labels["kind"], labels["method"], watts)
        assert key in stored, f"{key}: no such component_power point in the store"


@pytest.mark.integration
def test_instant_power_matches_the_store(scraped: Scraped) -> None:
    p = scraped.prometheus
    at = scraped.stopped_at[1] - 3
    values = {row["device"]: (row, v) for row, v in p.query("netwatt_power_watts", at)}
    stamps = {row["device"]: v for row, v in p.query("timestamp(netwatt_power_watts)", at)}
    store = Store(scraped.state, tables=FEATURE_TABLES)
    try:
        points = [(*parse_line(p.line), p.time) for p in store.points("device_power")]
    finally:
        store.close()
    stored_devices = {tags["device"] for tags, _, _ in points}
    assert set(values) == stored_devices, "every device with stored power, and only those, has a power sample"
    for device, (labels, watts) in sorted(values.items()):
        scraped_at = stamps[device] + scraped.offset_s      # on the agent's clock, which stamped the points
        before = [(t, tags, float(fields["watts"])) for tags, fields, t in points
                  if tags["device"] == device and t <= scraped_at][-3:]
        assert before, f"{device}: scraped at {stamps[device]} but nothing stored before"
        assert any(abs(w - watts) <= 1e-9 * max(1.0, w) for _, _, w in before), (device, watts, before)
        tags = before[-1][1]
        assert (labels["site"], labels["role"], labels["method"], labels["basis"]) == (
            tags["site"], tags["role"], tags["method"], tags["basis"] or "unknown")
        print(f"netwatt_power_watts{{device={device!r}}} = {watts} W; store: {[w for _, _, w in before]}")
    assert not p.query(f'netwatt_power_watts{{device="{GONE}"}}', at)


@pytest.mark.integration
def test_energy_counter_matches_the_stored_wh(scraped: Scraped) -> None:
    store = Store(scraped.state, tables=FEATURE_TABLES)
    try:
        stored: dict[tuple[str, str], list[float]] = {}
        for device, interval in store.energy_intervals():
            stored.setdefault((device, str(interval.method)), []).append(interval.wh * JOULES_PER_WH)
    finally:
        store.close()
    assert _check_counter(scraped, "netwatt_energy_joules_total", stored, "J") >= 2
    assert GONE not in {device for device, _ in stored}


@pytest.mark.integration
@pytest.mark.parametrize("scope2", ["location", "market"])
def test_emission_counters_match_the_store(scraped: Scraped, scope2: str) -> None:
    store = Store(scraped.state, tables=FEATURE_TABLES)
    try:
        rows = EmissionsStore(store).between(0, 1e12)           # every stored interval
    finally:
        store.close()
    stored: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        if row.scope2_method == scope2:
            stored.setdefault((row.device, row.energy_method), []).append(row.gco2e)
    assert stored, f"the run stored no {scope2}-based emissions"
    assert _check_counter(scraped, f"netwatt_emissions_{scope2}_based_grams_total", stored, "g") >= 2


# -- config and staleness, without servers --------------------------------------------------------------


def _config(extra: str = "", http: str = "{listen: '127.0.0.1:9469', metrics: {devices: true}}") -> str:
    return ("version: 1\nagent: {interval: 10s, http: " + http + ", state_directory: STATE}\n"
            "credentials: {c: {version: 2c, community: 'plain:public'}}\n"
            "sites: {lab: {timezone: UTC, grid_zone: FR}}\n"
            "devices:\n  - {name: sw-1, address: '127.0.0.1:9', site: lab, role: switch, credential: c}\n" + extra)


def test_metrics_keys_are_checked(tmp_path: Path) -> None:
    config = load_config_text(_config().replace("STATE", str(tmp_path)))
    assert config.agent.http is not None
    assert (config.agent.http.device_metrics, config.agent.http.component_metrics) == (True, False)
    with pytest.raises(ConfigError, match=r"agent\.http\.metrics\.components.*needs devices: true"):
        load_config_text(_config(http="{metrics: {components: true}}"))
    with pytest.raises(ConfigError, match=r"agent\.http\.metrics\.device.*unknown key; did you mean 'devices'"):
        load_config_text(_config(http="{metrics: {device: true}}"))
    with pytest.raises(ConfigError, match=r"agent\.http\.metrics\.devices.*must be true or false"):
        load_config_text(_config(http="{metrics: {devices: 'yes'}}"))
    bad = tmp_path / "netwatt.yaml"
    bad.write_text("version: 1\nagent:\n  http:\n    listen: 127.0.0.1:9469\n    metrics:\n      components: true\n")
    check = netwatt("check-config", "-c", str(bad))
    assert check.returncode == 2
    assert f"{bad}:6: agent.http.metrics.components: needs devices: true" in check.stderr


async def test_a_device_silent_beyond_its_window_has_no_sample(tmp_path: Path) -> None:
    config = load_config_text(_config().replace("STATE", str(tmp_path)))
    agent = Agent(config, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    try:
        answered = 1_000_000.0
        agent.store.commit([PollRecord("sw-1", answered, [], None, 120.5, "measured", "input", "", site="lab")])
        # the window is three poll intervals (30 s): at 29 s the device is served, at 31 s it is gone
        served = device_metrics_text(agent, now_s=answered + 29)
        assert 'netwatt_power_watts{site="lab",device="sw-1",role="switch",method="measured",basis="input"} 120.5' \
            in served
        gone = device_metrics_text(agent, now_s=answered + 31)
        assert "sw-1" not in gone
        assert "# TYPE netwatt_power_watts gauge" in gone       # the family stays described
        # a poll that fails keeps last_ok: still unavailable after the window
        agent.store.commit([PollRecord("sw-1", answered + 40, [], None, None, "unknown", None, "timeout",
                                       site="lab")])
        assert "sw-1" not in device_metrics_text(agent, now_s=answered + 41)
    finally:
        await agent.close()
