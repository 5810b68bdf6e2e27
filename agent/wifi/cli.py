"""``netwatt wifi plan|apply|on|off|status|report``: handlers called from agent/cli.py."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agent.clock import wall_clock
from agent.errors import ConfigError, NetwattError
from agent.store.sqlite import Store
from agent.wifi.interlock import WifiBusy
from agent.wifi.planner import Plan
from agent.wifi.runtime import open_wifi
from agent.wifi.savings import wifi_report
from agent.wifi.service import Round, WifiService
from agent.wifi.settings import ConfigWithWifi
from agent.wifi.status import status_json, status_table
from agent.wifi.store import WifiStore
from agent.yamlfile.section import parse_duration
from collectors.snmp.pysnmp_client import PysnmpClient

OK, FAILURE = 0, 1
CLI_LOCK_WAIT_S = 30.0


class OpenStore(Protocol):
    """agent.daemon.open_store for the loaded config, passed in by agent/cli.py (the daemon is above this module)."""

    def __call__(self, *, read_only: bool) -> Store: ...


def add_parser(command: argparse.ArgumentParser) -> None:
    sub = command.add_subparsers(dest="wifi_command", metavar="ACTION", required=True)
    plan = sub.add_parser("plan", help="dry run: what would change now, and why (nothing is sent)")
    plan.add_argument("--at", type=_instant, default=None, metavar="TIME",
                      help="what if: today's radio state against the rules at TIME (ISO 8601 with its offset, "
                           "e.g. 2026-12-05T19:00+01:00)")
    sub.add_parser("apply", help="one round: revert due dead-man jobs, evaluate, apply, audit")
    for state in ("on", "off"):
        p = sub.add_parser(state, help=f"on-demand: group {state} for a while, then back to its rules")
        p.add_argument("--group", "-g", required=True)
        p.add_argument("--for", dest="duration", default="1h", help="how long (e.g. 3h, 90m); default 1h")
        p.add_argument("--end", action="store_true", help="end the group's on-demand requests now instead")
        p.add_argument("--who", default="", help="who asks (audited); default: the user name")
        p.add_argument("--note", default="")
        p.add_argument("--no-apply", action="store_true", help="record the request; the running agent applies it")
    sub.add_parser("status", help="last state seen, requests in force, dead-man jobs, recent actions")
    report = sub.add_parser("report", help="radio-off hours, kWh and CO2e avoided per group")
    report.add_argument("--days", type=float, default=1.0, help="the last N days (default 1)")
    report.add_argument("--factor", type=float, default=None, help="grid factor gCO2e/kWh for the CO2e")
    command.add_argument("--format", choices=("table", "json"), default="table")


def _wifi_config(config: ConfigWithWifi) -> None:
    if config.wifi is None:      # no section, or none of its controllers in this --shard
        raise ConfigError("the config has no wifi: section (or no controller in this shard)", file=config.file)


def handle(args: argparse.Namespace, config: ConfigWithWifi, open_store: OpenStore) -> int:
    """``config``: loaded by agent/cli.py, as this shard sees it; ``open_store`` opens that config's store."""
    _wifi_config(config)
    assert config.wifi is not None
    looking = args.wifi_command in ("status", "plan", "report")      # never create, move or migrate the store
    store = open_store(read_only=looking)
    try:
        if args.wifi_command in ("on", "off"):
            config.wifi.group(args.group)          # unknown group: a usage error before anything happens
            seconds = 0.0 if args.end else _duration(args.duration)
            now = wall_clock()
            wifi_store = WifiStore(store)
            if args.end:
                print(f"ended {wifi_store.end_requests(args.group, now)} request(s) of group {args.group}")
            else:
                who = f"cli:{args.who or getpass.getuser()}"
                r = wifi_store.add_request(args.group, args.wifi_command, now=now,
                                           until=now + timedelta(seconds=seconds), who=who, note=args.note)
                print(f"request {r.id}: group {args.group} {r.state} until {r.until:%Y-%m-%d %H:%M:%S} UTC ({who})")
            if args.no_apply:
                return OK
            try:
                return asyncio.run(_round(config, store, args, apply=True, group=args.group))
            except WifiBusy as exc:
                raise WifiBusy(f"{exc}: the request is recorded, the running agent applies it at its next "
                               "round") from None
        if args.wifi_command == "status":
            return asyncio.run(_round(config, store, args, apply=None))
        if args.wifi_command == "report":
            end = wall_clock()
            data = wifi_report(WifiStore(store), config.wifi, end - timedelta(days=args.days), end,
                               factor_g_per_kwh=args.factor)
            print(json.dumps(data, indent=2))
            return OK
        return asyncio.run(_round(config, store, args, apply=args.wifi_command == "apply"))
    finally:
        store.close()


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise NetwattError(f"--for: {exc}") from None
    if not 0 < seconds <= 7 * 86400:
        raise NetwattError("--for: between 1s and 7d")
    return seconds


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if instant.tzinfo is None:       # sites have their own zones: a bare time would be a guess
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (add Z or +01:00)")
    return instant.astimezone(UTC)


async def _round(config: ConfigWithWifi, store: Store, args: argparse.Namespace, *, apply: bool | None,
                 group: str | None = None) -> int:
    """``group``: an on/off request's group, whose targets alone decide the exit status."""
    wifi = config.wifi
    assert wifi is not None
    reader = PysnmpClient()
    at: datetime | None = getattr(args, "at", None)

    def clock() -> datetime:
        return at or wall_clock()

    # a person waits a little for the agent's round to finish rather than being refused at once
    service: WifiService = open_wifi(config, store, reader, clock=clock, lock_wait_s=CLI_LOCK_WAIT_S)
    try:
        if apply is None:
            print(json.dumps(status_json(service), indent=2, default=str) if args.format == "json"
                  else status_table(service))
            return OK
        if not apply:
            plan, _observed, _desired = await service.plan()
            print(json.dumps(plan.to_json(), indent=2) if args.format == "json" else _plan_table(plan))
            return OK
        result = await service.run_round()
        keys = None if group is None else {t.key for t in wifi.group(group).targets}
        problems = result.problems(keys)
        data = {**result.to_json(), "ok": not problems, "problems": problems}
        print(json.dumps(data, indent=2) if args.format == "json" else _plan_table(result.plan, result, problems))
        return OK if not problems else FAILURE       # a refusal is an error, not a quiet success
    finally:
        await service.close()
        await reader.close()


def _plan_table(plan: Plan, result: Round | None = None, problems: Sequence[dict[str, str]] = ()) -> str:
    lines = [f"{'target':34} {'group':10} {'now':5} {'want':5} {'verdict':8} reason"]

    def word(value: bool | None) -> str:
        return "-" if value is None else ("on" if value else "off")

    for t in plan.items:
        lines.append(f"{t.key:34} {t.group:10} {word(t.observed):5} {word(t.desired):5} {t.verdict:8} {t.reason}")
    for a in result.actions if result else []:
        lines.append(f"{a.action} {a.target.key}: {a.result} {a.error}".rstrip())
    for a in result.reverts if result else []:
        lines.append(f"dead-man revert {a.target.key}: {a.result} {a.error}".rstrip())
    for p in problems:
        lines.append(f"NOT DONE {p['target']}: {p['result']}: {p['why']}")
    return "\n".join(lines)
