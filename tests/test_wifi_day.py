"""One simulated day of the Vélodrome (config/examples/velodrome.yaml) against a real snmpd: Sunday
2026-10-25 in Marseille, the day the clocks go back (25 hours), with a match in the evening, an on-demand
request in the afternoon, a night window and idle radios in the concourse. Every 5 minutes the agent's
Wi-Fi round runs on a controllable clock; the savings come from the PoE ports' measured draw."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.config.load import load_config_text
from agent.report.command import report_text
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES
from agent.wifi.runtime import open_wifi
from agent.wifi.savings import wifi_report
from agent.wifi.store import WifiStore
from collectors.snmp.pysnmp_client import PysnmpClient
from tests.harness.pool import SnmpdFactory
from tests.wifi_venue import RADIO_MW, Venue

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
APS = {"bowl-n-01": "00:3a:7d:10:00:01", "bowl-n-02": "00:3a:7d:10:00:02", "bowl-s-01": "00:3a:7d:10:00:03",
       "conc-01": "00:3a:7d:10:00:04", "conc-02": "00:3a:7d:10:00:05", "office-01": "00:3a:7d:10:00:06"}
PARIS = ZoneInfo("Europe/Paris")
FACTOR_G_PER_KWH = 52.0       # an example grid factor for France, for the CO2e column only


def clients_at(local: datetime) -> dict[tuple[str, int], int]:
    """Who is associated, by local time: office always; concourse by day; the bowl during the match."""
    hour = local.hour + local.minute / 60
    crowd = 30 if 19.5 <= hour < 23.5 else 0
    return {("office-01", 0): 2, ("office-01", 1): 3,
            ("conc-02", 0): 2 if 8 <= hour < 19 else 0,
            ("conc-02", 1): 5 if 9 <= hour < 23.75 else 0,
            **{(ap, s): crowd for ap in ("bowl-n-01", "bowl-n-02", "bowl-s-01") for s in (0, 1)}}


def test_one_simulated_day(tmp_path: Path, snmpd_factory: SnmpdFactory) -> None:
    folder = tmp_path / "venue"
    venue = Venue.create(folder, APS, wlans={1: 1, 2: 1})
    folder.chmod(0o777)
    server = snmpd_factory(communities=["private"], extra_lines=venue.snmpd_lines(), writable=True)
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace(
        "/var/lib/netwatt", str(tmp_path / "state")).replace("evaluate_every: 60s", "evaluate_every: 5m")
    config = load_config_text(text, file="velodrome.yaml",
                              environ={"NETWATT_WLC_COMMUNITY": "private", "NETWATT_WIFI_TOKEN": "t0ken-for-tests!"})
    assert config.wifi is not None
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)          # Sunday 00:00 in Marseille (CEST)
    end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)            # Monday 00:00 (CET): 25 hours
    now = [start]

    async def day() -> dict[str, object]:
        store = Store(tmp_path / "state", clock=lambda: now[0], tables=FEATURE_TABLES)
        reader = PysnmpClient()
        svc = open_wifi(config, store, reader, clock=lambda: now[0], settle_s=0.0, retry_delay_s=0.0)
        try:
            while now[0] < end:
                local = now[0].astimezone(PARIS)
                for (ap, slot), count in clients_at(local).items():
                    venue.set_clients(ap, slot, count)
                if local.strftime("%H:%M") == "14:00":       # a stadium tour asks for the bowl
                    svc.store.add_request("bowl", "on", now=now[0], until=now[0] + timedelta(hours=1), who="cli:guide")
                await svc.run_round()
                now[0] += timedelta(minutes=5)
            return wifi_report(svc.store, config.wifi, start, end, factor_g_per_kwh=FACTOR_G_PER_KWH)  # type: ignore[arg-type]
        finally:
            await svc.close()
            await reader.close()
            store.close()

    report = asyncio.run(day())
    store = Store(tmp_path / "state", tables=FEATURE_TABLES)
    try:
        actions = WifiStore(store).actions()
    finally:
        store.close()
    timeline = [(a.time.astimezone(PARIS).strftime("%H:%M %Z"), a.target, a.action, a.reason, a.result)
                for a in actions]
    summary = {"actions": timeline, "report": report}
    out = os.environ.get("NETWATT_WIFI_DAY_OUT")
    if out:
        Path(out).write_text(json.dumps(summary, indent=2, default=str))

    assert all(a[4] == "confirmed" for a in timeline), [a for a in timeline if a[4] != "confirmed"]
    bowl = [a for a in timeline if "/bowl-n-01/0" in a[1]]
    # off at 00:00; on for the tour 14:00-15:00; on 2 h before kick-off (18:45) until 1 h after the end (23:45)
    assert [(a[0], a[2]) for a in bowl] == [("00:00 CEST", "disable"), ("14:00 CET", "enable"),
                                            ("15:00 CET", "disable"), ("18:45 CET", "enable"),
                                            ("23:45 CET", "disable")]
    guest = [(a[0], a[2]) for a in timeline if "ssid:Velodrome-Guest" in a[1]]
    assert guest == [("00:00 CEST", "disable"), ("19:45 CET", "enable"), ("23:45 CET", "disable")]
    assert not any("office-01" in a[1] or "ssid:Velodrome-Ops" in a[1] for a in timeline)   # critical, mgmt
    assert not any(a[1] == "wlc-1/conc-01/0" and a[3].startswith("idle") for a in timeline)  # ignore list
    # the night window (01:00 CEST for 5 real hours: until 05:00 CET, the clocks went back meanwhile) switches
    # off what idle left on (conc-01/0, on the idle ignore list); at its end the concourse is restored
    night = [(a[0], a[1], a[2]) for a in timeline if a[3] == "window:night"]
    assert night == [("01:00 CEST", "wlc-1/conc-01/0", "disable")]
    restored = {a[1] for a in timeline if a[0] == "05:00 CET" and a[2] == "enable"}
    assert restored == {f"wlc-1/conc-0{n}/{s}" for n in (1, 2) for s in (0, 1)}
    idle = {(a[1], a[0], a[2]) for a in timeline if a[3].startswith("idle")}
    assert ("wlc-1/conc-01/1", "05:35 CET", "disable") in idle       # nobody there since the night ended
    assert ("wlc-1/conc-02/0", "07:35 CET", "enable") in idle        # max_sleep: awake again to look ...
    assert ("wlc-1/conc-02/0", "19:30 CET", "disable") in idle       # ... found clients until 19:00
    groups = {g["group"]: g for g in report["groups"]}  # type: ignore[attr-defined]
    # the bowl: 6 radios, off 25 h - 1 h (tour) - 5 h (match) = 19 h each, 4.2 W measured per radio
    assert groups["bowl"]["off_hours"] == 6 * 19.0
    assert groups["bowl"]["kwh_avoided"] == round(6 * 19 * RADIO_MW / 1000 / 1000, 4)
    assert set(groups["bowl"]["methods"]) == {"measured"}
    assert report["co2e_g"] == round(float(report["kwh_avoided"]) * FACTOR_G_PER_KWH, 1)  # type: ignore[arg-type]

    # the same figures reach `netwatt report` as its Wi-Fi section (no energy stored here: no factor, no CO2e)
    store = Store(tmp_path / "state", tables=FEATURE_TABLES)
    try:
        rendered = json.loads(report_text(store, config, start="2026-10-24", end="2026-10-26", by="site",
                                          output_format="json"))
        two_days = wifi_report(WifiStore(store), config.wifi, datetime(2026, 10, 24, tzinfo=UTC),
                               datetime(2026, 10, 26, tzinfo=UTC))
    finally:
        store.close()
    wifi = rendered["sections"]["wifi"]
    assert wifi["data"]["kwh_avoided"] == two_days["kwh_avoided"]
    assert float(two_days["kwh_avoided"]) > float(report["kwh_avoided"])  # type: ignore[arg-type]  # off past the day
    assert wifi["data"]["co2e_g"] is None
    assert [row[0] for row in wifi["tables"][0]["rows"]] == sorted(groups)
