"""The ``netwatt`` command. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config, 141 the reader of
stdout went away (``| head``)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from agent import __version__
from agent.config.dump import dump_config
from agent.config.isolated import load_config_isolated
from agent.config.load import Config, load_config
from agent.daemon import Agent, build_outputs, open_store
from agent.datafiles import sample_config
from agent.discover import discover_device, discover_recording
from agent.errors import ConfigError, ConfigErrors, NetwattError, UsageError
from agent.logs import setup_logging
from agent.points.lineprotocol import encode
from agent.points.schema import SCHEMA_VERSION, poll_points
from agent.poll import Poller
from agent.power.readings import PollResult
from agent.report.command import refresh_factors, report_text, show_factor, zones_listing
from agent.sdnotify import Notifier
from agent.shard import Shard, auto_shard, parse_shard, restrict
from agent.snmp_client import snmp_client
from agent.store.runlock import RunLock
from agent.supervise import Supervisor
from agent.views.pollformat import PollSummary, poll_json
from agent.views.status import status_json, status_table
from agent.views.tables import discover_table, power_table

DEFAULT_CONFIG = "/etc/netwatt/netwatt.yaml"
OK, FAILURE, USAGE = 0, 1, 2
PIPE_CLOSED = 128 + 13          # as a tool killed by SIGPIPE: the reader (`| head`) stopped reading


def _reader_gone() -> int:
    """Stop quietly: nothing more can be shown, and Python's exit flush must not fail loudly either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return PIPE_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "debug", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help()
        return USAGE
    try:
        code = int(args.handler(args))
        sys.stdout.flush()          # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except ConfigError as exc:
        count = len(exc.errors) if isinstance(exc, ConfigErrors) else 1
        print(f"netwatt: configuration error{f's ({count})' if count > 1 else ''}:\n{exc}", file=sys.stderr)
        return USAGE
    except UsageError as exc:
        print(f"netwatt: {exc}", file=sys.stderr)
        return USAGE
    except NetwattError as exc:
        print(f"netwatt: {exc}", file=sys.stderr)
        return FAILURE
    except KeyboardInterrupt:
        return FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netwatt", description="Energy telemetry for network gear.")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    sub = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name not in ("demo", "version", "print-sample-config"):
            p.add_argument("--config", "-c", default=os.environ.get("NETWATT_CONFIG", DEFAULT_CONFIG),
                           help=f"config file (default: $NETWATT_CONFIG or {DEFAULT_CONFIG})")
        return p

    check = command("check-config", "validate the configuration; exit 2 on any error")
    check.add_argument("--show", action="store_true", help="print the resolved config, secrets redacted")
    check.set_defaults(handler=_check_config)

    discover = command("discover", "show every power object a device answers and what netwatt makes of it")
    source = discover.add_mutually_exclusive_group(required=True)
    source.add_argument("--device", "-d", help="a device of the config")
    source.add_argument("--walk", type=Path, help="a recorded walk (.snmprec) instead of a live device")
    discover.add_argument("--profile", type=Path, action="append", default=[],
                          help="with --walk: also load this profile file (repeatable), to try a new one")
    discover.add_argument("--format", choices=("table", "json"), default="table")
    discover.set_defaults(handler=_discover)

    poll = command("poll", "poll devices once and print the result; writes nothing")
    target = poll.add_mutually_exclusive_group(required=True)
    target.add_argument("--device", "-d", action="append", help="device name (repeatable)")
    target.add_argument("--all", action="store_true", help="every device in the config")
    poll.add_argument("--format", choices=("json", "lp", "table", "summary"), default="json")
    poll.set_defaults(handler=_poll)

    trust = command("trust", "show a NETCONF device's SSH host key and record it in the agent's known_hosts")
    trust.add_argument("--device", "-d", required=True, help="a device of the config with a netconf: block")
    trust.add_argument("--yes", "-y", action="store_true", help="record without asking (for scripts)")
    trust.set_defaults(handler=_trust)

    run = command("run", "run the agent: poll every device on schedule, store, forward")
    run.add_argument("--once", action="store_true", help="one poll of every device, store, flush, exit")
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument("--shard", type=_shard_argument, metavar="K/N",
                     help="poll only shard K of N (stable hash of the device name; K-N also accepted); "
                          "'auto' in a StatefulSet: K from the pod's ordinal, N from $NETWATT_SHARDS")
    run.set_defaults(handler=_run)

    status = command("status", "devices, spool and outputs as the store sees them")
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(handler=_status)

    demo = command("demo", "start the bundled lab of recorded devices on 127.0.0.1 and run the agent on it")
    # 6 cycles span 10 s: at least one 10-s energy interval closes, so the demo ends with emissions
    demo.add_argument("--cycles", type=int, default=6, help="poll cycles to run (2 s apart)")
    demo.add_argument("--keep", type=Path, metavar="DIR",
                      help="keep the store and the lab's config (DIR/netwatt.yaml) in DIR, for `netwatt report`")
    demo.set_defaults(handler=_demo)

    wifi = command("wifi", "on-demand Wi-Fi: plan (dry run), apply, on/off requests, status, report")
    from agent.wifi.cli import add_parser as add_wifi_parser  # noqa: PLC0415  (its own module)
    wifi.add_argument("--shard", type=_shard_argument, metavar="K/N",
                      help="the shard whose agent runs the controllers (its state directory and store)")
    add_wifi_parser(wifi)
    wifi.set_defaults(handler=_wifi)
    report = command("report", "energy and CO2e (Scope 2 both ways, coverage, factors, embodied) from the store")
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", help="day after the last, YYYY-MM-DD (default: tomorrow)")
    report.add_argument("--timezone", default="UTC", metavar="ZONE",
                        help="IANA zone whose days --from/--to and the per-day rows are (default UTC)")
    report.add_argument("--by", choices=("site", "device", "role"), default="site")
    report.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    report.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    report.set_defaults(handler=_report)

    factors = sub.add_parser("factors", help="the bundled grid factor tables", description="the bundled grid "
                             "factor tables (config/grid_factors)")
    factors_sub = factors.add_subparsers(metavar="ACTION")
    refresh = factors_sub.add_parser("refresh", help="update the country table from a newer OWID energy-data CSV")
    refresh.add_argument("--from", dest="source", type=Path, required=True, help="owid-energy-data.csv")
    refresh.add_argument("--release", required=True, help="release label stored with every row, e.g. 'owid 2025-06'")
    refresh.add_argument("--since", type=int, default=2015, help="first year kept (default 2015)")
    refresh.add_argument("--dir", type=Path, help="table directory (default: the bundled config/grid_factors)")
    refresh.set_defaults(handler=_factors_refresh)
    show = factors_sub.add_parser("show", help="the bundled factor for a zone on a day, with its provenance")
    show.add_argument("--zone", required=True)
    show.add_argument("--day", required=True, help="YYYY-MM-DD")
    show.add_argument("--dir", type=Path)
    show.set_defaults(handler=lambda a: print(show_factor(a.zone, a.day, a.dir)) or OK)

    zones = factors_sub.add_parser("zones", help="every grid zone with a bundled factor, and the other spellings "
                                   "accepted in suggestions (UK -> GB)")
    zones.add_argument("--dir", type=Path, help="table directory (default: the bundled config/grid_factors)")
    zones.set_defaults(handler=lambda a: print(zones_listing(a.dir)) or OK)

    version = command("version", "print the version")
    version.set_defaults(handler=_version)

    sample = command("print-sample-config", "print the annotated sample configuration (for /etc/netwatt/netwatt.yaml)")
    sample.set_defaults(handler=_print_sample_config)
    return parser


def _version(_args: argparse.Namespace) -> int:
    print(f"netwatt {__version__} (Python {platform.python_version()}, InfluxDB schema {SCHEMA_VERSION})")
    return OK


def _print_sample_config(_args: argparse.Namespace) -> int:
    sys.stdout.write(sample_config().read_text(encoding="utf-8"))
    return OK


async def _check_outputs(config: Config) -> None:
    """Build every output once (no traffic) so a bad url or missing setting fails here."""
    for output in build_outputs(config):
        await output.close()


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    asyncio.run(_check_outputs(config))
    if args.show:
        print(dump_config(config), end="")
    else:
        credentials = len(config.credentials) + len(config.ssh_credentials)
        print(f"{args.config}: ok ({len(config.devices)} devices, {credentials} credentials, "
              f"{len(config.profiles)} profiles)")
    return OK


async def _run_polls(config: Config, names: Sequence[str],
                     on_result: Callable[[PollResult], None] | None = None) -> list[PollResult]:
    client = snmp_client(config)
    try:
        poller = Poller(config, client)
        return await poller.poll_many((config.device(name) for name in names), on_result=on_result)
    finally:
        await client.close()


def _discover(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    if args.walk is not None:
        result, skipped = asyncio.run(discover_recording(args.walk, extra_profiles=args.profile))
    else:
        result = asyncio.run(discover_device(load_config(args.config), args.device))
    for line in skipped:
        print(f"netwatt: {line}", file=sys.stderr)
    if args.format == "json":
        extra = {"skipped_lines": skipped} if skipped else {}
        print(json.dumps({**poll_json(result), "backend": result.backend, **extra}, indent=2))
    else:
        print(discover_table(result))
    return OK if result.ok else FAILURE


def _poll(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    names = sorted(config.devices) if args.all else list(args.device)
    for name in names:
        config.device(name)        # unknown names are usage errors, before any traffic
    if args.format == "summary":        # streamed: a fleet's readings are never all in memory
        summary = PollSummary()
        asyncio.run(_run_polls(config, names, on_result=summary.add))
        print(json.dumps(summary.to_json()))
        return OK if summary.failed == 0 else FAILURE
    results = asyncio.run(_run_polls(config, names))
    _print_results(results, args.format)
    return OK if all(r.ok for r in results) else FAILURE


def _print_results(results: list[PollResult], output_format: str) -> None:
    if output_format == "json":
        payload = [poll_json(r) for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
    elif output_format == "lp":
        sys.stdout.write(encode(point for r in results for point in poll_points(r)))
    else:
        print(power_table(results))


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:               # no terminal: never a yes
        return ""


def _trust(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from agent.netconf_trust import trust_device  # noqa: PLC0415  (paramiko only for this command)
    trusted = trust_device(config, args.device, assume_yes=args.yes, ask=_ask, say=print)
    return OK if trusted else FAILURE


def _shard_argument(text: str) -> Shard:
    try:
        return auto_shard() if text.strip() == "auto" else parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Python's default (700, 10, 10) ran the cyclic collector ~1,000 times in a `run --once` of 10,000 devices:
# 2.1 s of its ~15 s of CPU, rescanning the results and per-device state that all stay alive. Garbage
# without cycles is freed at once whatever the thresholds; cycles now wait for 50,000 new objects, and the
# full collection comes after 200 young collections (100 by default) and, as always, a 25 % growth.
GC_THRESHOLDS = (50_000, 20, 10)


def _collect_garbage_less_often() -> None:
    """The loaded config lives as long as the process: frozen, the collector never scans it again."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _run(args: argparse.Namespace) -> int:
    setup_logging(log_format=args.log_format, debug=args.debug)
    # a one-shot process exits soon: the child process that keeps a daemon's RSS small would only cost it time
    load = load_config if args.once else load_config_isolated
    config = restrict(load(args.config), args.shard)
    _collect_garbage_less_often()
    lock = RunLock(config.agent.state_directory)       # one agent per state directory
    lock.acquire()
    try:
        if args.once:
            agent = Agent(config, config_path=Path(args.config), shard=args.shard)
            results = asyncio.run(agent.run_once())
            for undelivered in agent.undelivered:
                print(f"netwatt: {undelivered}", file=sys.stderr)
            return OK if all(r.ok for r in results) and not agent.undelivered else FAILURE
        supervisor = Supervisor(Notifier.from_environ(), config.agent.http)
        asyncio.run(Agent(config, config_path=Path(args.config), lifecycle=supervisor, shard=args.shard).run())
        return OK
    finally:
        lock.release()


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = open_store(config, read_only=True)
    try:
        if args.format == "json":
            print(json.dumps(status_json(store), indent=2))
        else:
            print(status_table(store))
    finally:
        store.close()
    return OK


def _report(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = open_store(config, read_only=True)
    try:
        text = report_text(store, config, start=args.start, end=args.end, by=args.by, output_format=args.format,
                           timezone=args.timezone)
    finally:
        store.close()
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return OK


def _factors_refresh(args: argparse.Namespace) -> int:
    print(refresh_factors(args.source, release=args.release, since=args.since, directory=args.dir))
    return OK


def _demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo  # noqa: PLC0415  (the lab's code loads only for `demo`)
    return run_demo(cycles=args.cycles, keep=args.keep)


def _wifi(args: argparse.Namespace) -> int:
    from agent.wifi.cli import handle  # noqa: PLC0415  (the Wi-Fi code loads only for `wifi`)
    config = restrict(load_config(args.config), args.shard)
    return handle(args, config, lambda *, read_only: open_store(config, read_only=read_only))


if __name__ == "__main__":
    sys.exit(main())
