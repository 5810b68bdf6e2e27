"""Wi-Fi policies, guard rails and planning as pure functions, with a controllable clock (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from agent.config.load import Config, load_config_text
from agent.errors import ConfigError
from agent.wifi.cron import parse_cron
from agent.wifi.guards import Change, apply_guards
from agent.wifi.model import Desired, Observed, Scope, Target
from agent.wifi.planner import make_plan
from agent.wifi.policy import IdleEntry, Request, evaluate, group_rule, update_idle
from agent.wifi.settings import Group, Guards

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
ENV = {"NETWATT_WLC_COMMUNITY": "private", "NETWATT_WIFI_TOKEN": "s3cret-token-for-tests"}
PARIS = "Europe/Paris"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def example(text: str | None = None) -> Config:
    return load_config_text(text or EXAMPLE.read_text(), file="velodrome.yaml", environ=ENV)


def assert_in_force(group: Group, start: datetime, end: datetime, state: str, reason: str) -> None:
    """The group wants ``state`` (for ``reason``) from ``start`` until just before ``end``; the other state a
    minute before ``start`` and at ``end``."""
    other, minute = ("off" if state == "on" else "on"), timedelta(minutes=1)
    assert group_rule(group, start - minute, [])[0] == other
    assert group_rule(group, start, [])[:2] == (state, reason)
    assert group_rule(group, end - minute, [])[0] == state
    assert group_rule(group, end, [])[0] == other


def wifi_text(groups: str, *, extra: str = "") -> str:
    """A small config with two APs on one AireOS controller and the given groups."""
    return f"""version: 1
credentials:
  rw: {{version: 2c, community: "plain:private"}}
sites:
  paris: {{timezone: {PARIS}}}
devices:
  - {{name: wlc, address: 127.0.0.1, credential: rw}}
wifi:
  controllers:
    wlc: {{type: aireos, device: wlc, wlans: {{guest: 2, ops: 1}}}}
  access_points:
    - {{name: ap1, controller: wlc, mac: "00:00:00:00:00:01",
        radios: [{{slot: 0, band: "2.4"}}, {{slot: 1, band: "5"}}]}}
    - {{name: ap2, controller: wlc, mac: "00:00:00:00:00:02", radios: [{{slot: 0, band: "2.4", critical: true}}]}}
  guards: {{management_ssids: [ops]{extra}}}
  groups:
{groups}"""


# -- cron and DST ---------------------------------------------------------------------------------

def test_cron_fields() -> None:
    cron = parse_cron("30 18 * * fri,sat")
    assert cron.matches(datetime(2026, 3, 27, 18, 30))          # a Friday
    assert not cron.matches(datetime(2026, 3, 26, 18, 30))      # Thursday
    with pytest.raises(ValueError, match="hour"):
        parse_cron("0 25 * * *")
    with pytest.raises(ValueError, match="5 fields"):
        parse_cron("0 18 * *")


def test_cron_weekday_numbers_are_crons_not_apschedulers() -> None:
    """Why cron.py still reads the day-of-week field: APScheduler 3 counts 0 as Monday, cron as Sunday."""
    paris = ZoneInfo(PARIS)
    week = (utc("2026-03-01T00:00"), utc("2026-03-08T00:00"))          # Sunday 1 March .. Sunday 8 March
    sunday_18h = [utc("2026-03-01T17:00")]
    assert parse_cron("0 18 * * 0").starts_between(*week, paris) == sunday_18h
    assert parse_cron("0 18 * * 7").starts_between(*week, paris) == sunday_18h
    assert parse_cron("0 18 * * sun").starts_between(*week, paris) == sunday_18h
    assert parse_cron("0 18 * * 0-1").starts_between(*week, paris) == [*sunday_18h, utc("2026-03-02T17:00")]
    apscheduler = CronTrigger.from_crontab("0 18 * * 0", timezone=paris)
    assert apscheduler.get_next_fire_time(None, week[0]) == utc("2026-03-02T17:00")     # a Monday


def test_cron_day_of_month_or_day_of_week() -> None:
    """Both restricted: cron starts on either (APScheduler 3 alone would want both)."""
    paris = ZoneInfo(PARIS)
    march = (utc("2026-03-01T00:00"), utc("2026-04-01T00:00"))
    starts = [d.day for d in parse_cron("0 18 1 * mon").starts_between(*march, paris)]
    assert starts == [1, 2, 9, 16, 23, 30]                             # the 1st (a Sunday) and the Mondays
    apscheduler = CronTrigger.from_crontab("0 18 1 * mon", timezone=paris)
    assert apscheduler.get_next_fire_time(None, march[0]) == datetime(2026, 6, 1, 18, tzinfo=paris)


def test_cron_starts_on_the_dst_days_of_paris() -> None:
    """What a window's schedule does on the two DST days of 2026 (Europe/Paris, CronTrigger's behaviour).

    Spring forward (29 March, 02:00 -> 03:00): a start in the missing hour happens once, an hour later on
    the wall clock; the other starts of that hour do not happen. Fall back (25 October, 03:00 -> 02:00): a
    start in the repeated hour happens twice, once in each offset. Other starts keep their wall time."""
    paris = ZoneInfo(PARIS)
    spring = (utc("2026-03-28T12:00"), utc("2026-03-29T12:00"))
    assert parse_cron("30 2 * * *").starts_between(*spring, paris) == [utc("2026-03-29T01:30")]   # 03:30 CEST
    assert parse_cron("*/20 2 * * *").starts_between(*spring, paris) == [utc("2026-03-29T01:00")]  # 03:00 CEST
    assert parse_cron("0 6 * * *").starts_between(*spring, paris) == [utc("2026-03-29T04:00")]    # 06:00 CEST
    autumn = (utc("2026-10-24T12:00"), utc("2026-10-25T12:00"))
    assert parse_cron("30 2 * * *").starts_between(*autumn, paris) == [utc("2026-10-25T00:30"),   # 02:30 CEST
                                                                        utc("2026-10-25T01:30")]  # 02:30 CET
    assert parse_cron("0 6 * * *").starts_between(*autumn, paris) == [utc("2026-10-25T05:00")]    # 06:00 CET
    assert [d.astimezone(paris).strftime("%H:%M%z") for d in parse_cron("30 2 * * *").starts_between(
        *autumn, paris)] == ["02:30+0200", "02:30+0100"]


def test_a_window_in_the_missing_hour_still_happens() -> None:
    """A 02:00 window of 2h on the spring-forward night: on from 03:00 CEST (01:00Z) for 2 real hours."""
    config = load_config_text(wifi_text("""    g:
      site: paris
      aps: [ap1]
      default: "on"
      windows: [{name: night, cron: "0 2 * * *", duration: 2h, state: "off"}]
"""), environ={})
    assert config.wifi is not None
    group = config.wifi.groups["g"]
    assert_in_force(group, utc("2026-03-29T01:00"), utc("2026-03-29T03:00"), "off", "window:night")


@pytest.mark.parametrize(("day", "offset_h"), [("2026-03-28", 1), ("2026-03-29", 2), ("2026-10-24", 2),
                                               ("2026-10-25", 1)])
def test_window_starts_at_local_wall_time_across_dst(day: str, offset_h: int) -> None:
    """A daily 06:00 window starts at 06:00 Paris time on both sides of both DST changes of 2026."""
    config = load_config_text(wifi_text("""    g:
      site: paris
      aps: [ap1]
      default: "off"
      windows: [{name: morning, cron: "0 6 * * *", duration: 2h}]
"""), environ={})
    assert config.wifi is not None
    group = config.wifi.groups["g"]
    start_utc = datetime.fromisoformat(f"{day}T06:00").replace(tzinfo=UTC) - timedelta(hours=offset_h)
    assert_in_force(group, start_utc, start_utc + timedelta(hours=2), "on", "window:morning")


def test_event_buffers_on_the_night_the_clocks_go_back() -> None:
    """OM-Lyon 2026-10-25 20:45-22:45 Paris (UTC+1 after 03:00): on from 18:45 local to 23:45 local."""
    config = example()
    assert config.wifi is not None
    bowl = config.wifi.groups["bowl"]
    assert_in_force(bowl, utc("2026-10-25T17:45"), utc("2026-10-25T22:45"), "on", "event:OM-Lyon")


# -- precedence, overlap, expiry --------------------------------------------------------------------

def test_overlapping_schedules_of_the_same_state_union() -> None:
    config = load_config_text(wifi_text("""    g:
      site: paris
      aps: [ap1]
      default: "off"
      windows:
        - {name: a, cron: "0 10 * * *", duration: 3h}
        - {name: b, cron: "0 12 * * *", duration: 3h}
"""), environ={})
    assert config.wifi is not None
    group = config.wifi.groups["g"]
    state, reason, _ = group_rule(group, utc("2026-06-01T10:30"), [])     # 12:30 Paris (UTC+2): both
    assert (state, reason) == ("on", "window:a + window:b")
    assert group_rule(group, utc("2026-06-01T12:30"), [])[:2] == ("on", "window:b")
    assert group_rule(group, utc("2026-06-01T13:00"), [])[0] == "off"


def test_contradictory_rules_are_a_config_error_with_file_and_line() -> None:
    text = wifi_text("""    g:
      site: paris
      aps: [ap1]
      windows:
        - {name: day, cron: "0 8 * * *", duration: 10h}
        - {name: quiet, cron: "0 12 * * mon", duration: 1h, state: "off"}
""")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, file="venue.yaml", environ={})
    message = str(caught.value)
    assert "venue.yaml:" in message
    assert "contradictory" in message
    assert "window:quiet" in message
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if "name: quiet" in t)
    assert f"venue.yaml:{line}:" in message


@pytest.mark.parametrize(("snippet", "expected"), [
    ("aps: [nope]", "unknown access point 'nope'"),
    ("aps: [ap1]\n      default: maybe", "'maybe' is not one of"),
    ("scope: ssid\n      controller: wlc\n      ssids: [ops]", "management SSID"),
    ("aps: [ap1]\n      windows: [{name: w, cron: '0 99 * * *', duration: 1h}]", "hour"),
    ("aps: [ap1]\n      events: [{name: e, start: '2026-01-01T10:00+01:00', end: '2026-01-01T12:00'}]",
     "without an offset"),
])
def test_bad_groups_name_file_and_line(snippet: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config_text(wifi_text(f"    g:\n      site: paris\n      {snippet}\n"), file="w.yaml", environ={})
    assert "w.yaml:" in str(caught.value)


def test_on_demand_request_wins_and_expires() -> None:
    config = example()
    assert config.wifi is not None
    bowl = config.wifi.groups["bowl"]
    now = utc("2026-11-02T09:00")
    request = Request(1, "bowl", "on", now, now + timedelta(hours=3), "cli:ops")
    assert group_rule(bowl, now, [request])[0] == "on"
    assert group_rule(bowl, now + timedelta(hours=3) - timedelta(seconds=1), [request])[0] == "on"
    assert group_rule(bowl, now + timedelta(hours=3), [request])[:2] == ("off", "default off")
    later = Request(2, "bowl", "off", now + timedelta(hours=1), now + timedelta(hours=2), "api:steward")
    assert group_rule(bowl, now + timedelta(minutes=90), [request, later])[0] == "off"   # the latest request wins


# -- idle --------------------------------------------------------------------------------------------

def _observe(target: Target, clients: int | None) -> dict[str, Observed]:
    return {target.key: Observed(target, True, clients)}


def test_idle_rule_ignores_flapping_counts_and_ignore_list() -> None:
    config = example()
    assert config.wifi is not None
    concourse = config.wifi.groups["concourse"]
    t = next(x for x in concourse.targets if x.key == "wlc-1/conc-02/1")
    ignored = next(x for x in concourse.targets if x.key == "wlc-1/conc-01/0")
    start = utc("2026-11-02T09:00")        # 10:00 Paris: default on, no window
    history: dict[str, IdleEntry] = {}
    counts = [0, 0, 1, 0, 0, 0, 2, 0] + [0] * 7      # flapping: a client now and then
    off_at = None
    for minute, clients in enumerate(counts):
        now = start + timedelta(minutes=5 * minute)
        history = update_idle(history, {**_observe(t, clients), **_observe(ignored, 0)}, now, max_gap_s=180 * 5)
        wants = {d.target.key: d for d in evaluate(concourse, now, requests=[], idle=history)}
        assert wants[ignored.key].enabled is True
        if wants[t.key].enabled is False and off_at is None:
            off_at = minute
            assert wants[t.key].reason.startswith("idle: no clients for 30 min")
    # the last client was seen at step 6; 30 quiet minutes later (step 13) the radio may sleep, not before
    assert off_at == 13


def test_idle_clock_restarts_after_a_gap_in_readings() -> None:
    t = Target("c", Scope.RADIO, ap="a", radio=0)
    t0 = utc("2026-11-02T09:00")
    history = update_idle({}, _observe(t, 0), t0, max_gap_s=180)
    history = update_idle(history, _observe(t, None), t0 + timedelta(minutes=1), max_gap_s=180)   # unknown: kept
    assert history[t.key].zero_since == t0
    history = update_idle(history, _observe(t, 0), t0 + timedelta(hours=2), max_gap_s=180)       # agent was down
    assert history[t.key].zero_since == t0 + timedelta(hours=2)


# -- guards and planning -----------------------------------------------------------------------------

def test_guard_rails_refuse_with_the_rule() -> None:
    crit = Target("wlc", Scope.RADIO, ap="ap2", radio=0, critical=True)
    radios = [Target("wlc", Scope.RADIO, ap="ap1", radio=i) for i in range(3)]
    ops = Target("wlc", Scope.SSID, ssid="ops")
    other = Target("rogue", Scope.RADIO, ap="ap1", radio=0)
    guards = Guards(max_changes_per_run=10, max_changes_per_minute=10, management_ssids=frozenset({"ops"}),
                    allow_controllers=frozenset({"wlc"}))
    changes = [Change(t, "g", True, False, "default off") for t in [crit, *radios, ops, other]]
    allowed, refused = apply_guards(changes, guards=guards, floors={"g": (2, 4)}, recent_changes=0)
    rules = {r.change.target.key: r.rule for r in refused}
    assert "critical" in rules[crit.key]
    assert "management SSID" in rules[ops.key]
    assert "allow_controllers" in rules[other.key]
    assert [c.target.key for c in allowed] == [radios[0].key, radios[1].key]     # floor 2 of 4 enabled
    assert "coverage floor" in rules[radios[2].key]
    allowed, refused = apply_guards([Change(t, "h", True, False, "x") for t in radios], guards=guards, floors={},
                                    recent_changes=9)
    assert len(allowed) == 1
    assert "max_changes_per_minute" in refused[0].rule
    tight = Guards(max_changes_per_run=2)
    allowed, refused = apply_guards([Change(t, "h", True, False, "x") for t in radios], guards=tight, floors={},
                                    recent_changes=0)
    assert len(allowed) == 2
    assert "max_changes_per_run" in refused[0].rule


def test_plan_restores_the_prior_state_only() -> None:
    """'on' re-enables what netwatt switched off; a radio an admin had disabled stays off."""
    config = example()
    assert config.wifi is not None
    a = Target("wlc-1", Scope.RADIO, ap="bowl-n-01", radio=0, band="2.4")
    b = Target("wlc-1", Scope.RADIO, ap="bowl-n-01", radio=1, band="5")
    desired = {"bowl": [Desired(a, True, "event:x"), Desired(b, True, "event:x")]}
    observed = {a.key: Observed(a, False, 0), b.key: Observed(b, False, 0)}
    plan = make_plan(config.wifi, desired, observed, {a.key: True}, recent_changes=0)
    assert [c.target.key for c in plan.changes] == [a.key]
    held = next(i for i in plan.items if i.key == b.key)
    assert held.verdict == "hold"
    assert "prior admin state" in held.reason


def test_savings_fall_back_to_labelled_estimates(tmp_path: Path) -> None:
    """Without PoE readings the per-model estimate is used and says so; an unknown model counts 0 W, said so."""
    from agent.store.sqlite import Store  # noqa: PLC0415
    from agent.tables import FEATURE_TABLES  # noqa: PLC0415
    from agent.wifi.savings import wifi_report  # noqa: PLC0415
    from agent.wifi.store import ActionRecord, WifiStore  # noqa: PLC0415
    config = example()
    assert config.wifi is not None
    store = WifiStore(Store(tmp_path, tables=FEATURE_TABLES))
    t0 = utc("2026-11-02T00:00")
    radio = next(t for t in config.wifi.targets() if t.key == "wlc-1/bowl-n-01/1")
    ssid = next(t for t in config.wifi.targets() if t.key == "wlc-1/ssid:Velodrome-Guest")
    for target, group in ((radio, "bowl"), (ssid, "guest-ssid")):
        store.record_action(ActionRecord(t0, target, group, "disable", "policy", "default off", True, False,
                                         "confirmed", 0.1))
    store.record_action(ActionRecord(t0 + timedelta(hours=10), radio, "bowl", "enable", "policy", "event:x", False,
                                     True, "confirmed", 0.1))
    report = wifi_report(store, config.wifi, t0, t0 + timedelta(hours=24), factor_g_per_kwh=100.0)
    groups = {g["group"]: g for g in report["groups"]}  # type: ignore[attr-defined]
    assert groups["bowl"]["off_hours"] == 10.0
    assert groups["bowl"]["methods"] == {"estimated": 0.045}            # 4.5 W x 10 h, from estimates:
    assert groups["bowl"]["co2e_g"] == 4.5
    assert groups["guest-ssid"]["methods"] == {"unknown": 0.0}
    assert groups["guest-ssid"]["off_hours"] == 24.0


def test_sighup_reload_reconfigures_the_wifi_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio  # noqa: PLC0415

    from agent.config.load import load_config  # noqa: PLC0415
    from agent.daemon import Agent  # noqa: PLC0415
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "velodrome.yaml"
    text = EXAMPLE.read_text().replace("/var/lib/netwatt", str(tmp_path / "state"))
    path.write_text(text)
    agent = Agent(load_config(path), config_path=path)
    assert agent.wifi is not None
    assert agent.wifi.config.groups["bowl"].default == "off"
    path.write_text(text.replace('default: "off"            # the stadium', 'default: "on"   # the stadium'))
    agent._reload()
    assert agent.wifi.config.groups["bowl"].default == "on"
    assert agent.wifi.executor.known.keys() == {t.key for t in agent.wifi.config.targets()}
    asyncio.run(agent.close())
