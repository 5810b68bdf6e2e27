"""``netwatt run``: the agent. One round job per interval on APScheduler, commits to the store,
forwards to the outputs, reloads on SIGHUP, drains and flushes on SIGTERM.

Scheduling policy (``round_job_options``, ``Agent._round``): one APScheduler job per interval starts
each round; the round polls its devices as one batch, each at its fixed offset in the jitter window,
at most one poll of a device at a time (a poll still running when the next is due is skipped and
counted), missed rounds coalesced. Results are committed in small transactions by one writer task, so the
event loop never waits on SQLite per device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sqlite3
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from agent.clock import Clock, wall_clock
from agent.config.isolated import load_config_isolated
from agent.config.load import Config
from agent.emissions.engine import EmissionsEngine
from agent.emissions.fetch import FactorFetcher
from agent.emissions.store import FactorCache
from agent.errors import ConfigError
from agent.outputs.base import Output
from agent.pipeline.forward import Forwarder
from agent.pipeline.record import Recorder
from agent.points.schema import agent_point
from agent.poll import Poller
from agent.power.readings import PollResult
from agent.settings.config import Device, OutputSpec
from agent.shard import Shard, restrict
from agent.snmp_client import snmp_client
from agent.store.problem import ProblemNote
from agent.store.sqlite import PollRecord, Store, stored
from agent.tables import FEATURE_TABLES
from agent.yamlfile.section import parse_duration

log = logging.getLogger("netwatt.agent")
COMMIT_EVERY_S = 0.5
MAX_UNSAVED_POLLS = 20_000        # polls kept in memory while the store cannot be written
COMMIT_SLICE = 200           # poll results per transaction in the commit loop: ~40 ms of the loop


def device_offset_s(device: Device, config: Config) -> float:
    """The device's fixed place in the collection_jitter window, from a stable hash of its name.

    APScheduler's own jitter adds to the previous (jittered) run, so polls drift later every round
    (measured: 65 s between polls at interval 60 s, jitter 10 s); a fixed offset does not drift."""
    return zlib.crc32(device.name.encode()) % 10_000 / 10_000 * config.agent.collection_jitter_s


def round_job_options(interval_s: float, config: Config, *, now: datetime) -> dict[str, Any]:
    """APScheduler arguments for the job that starts every round of the devices polled every
    ``interval_s`` (pure, so it is testable without a clock). One job per interval, not one per
    device: 10,000 jobs due in the same second cost APScheduler ~1 s of CPU a round."""
    start = now + timedelta(seconds=0.1)      # the first round right away
    if config.agent.round_interval:
        # first round on the next wall-clock multiple of the interval (:00, :01, ...), like Telegraf
        epoch = now.timestamp()
        start = datetime.fromtimestamp((epoch // interval_s + 1) * interval_s, UTC)
    return {
        "trigger": IntervalTrigger(seconds=interval_s, start_date=start, timezone=UTC),
        "id": f"round:{interval_s:g}",
        "name": f"poll round every {interval_s:g}s",
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": max(1, int(interval_s)),
        "replace_existing": True,
    }


def build_outputs(config: Config) -> list[Output]:
    specs = [spec for spec in config.outputs if spec.type != "sqlite"]
    if not specs:
        return []
    # imported here so a store-only agent never loads the InfluxDB client libraries
    from agent.outputs.influxdb import build_output  # noqa: PLC0415
    outputs = [build_output(spec, config.agent) for spec in specs]
    # an output's name keys its spool cursor: two outputs writing to one place would share a cursor,
    # and the one that works would move the failing one past its unsent points
    first: dict[str, OutputSpec] = {}
    for spec, output in zip(specs, outputs, strict=True):
        identity = output.name.lower()
        if identity in first:
            other = first[identity]
            line = other.key_lines.get("type")
            raise spec.error("url", f"{spec.type} output writes where {other.path} (line {line}) already writes "
                             f"({output.name}): one output per destination (their spool cursors would be one)")
        first[identity] = spec
    return outputs


def open_store(config: Config, clock: Clock = wall_clock, *, read_only: bool = False) -> Store:
    """``read_only``: for commands that only look (status, report): never creates, moves or migrates."""
    sqlite = next((o.settings for o in config.outputs if o.type == "sqlite"), {})
    max_age = sqlite.get("max_age")
    return Store(Path(config.agent.state_directory),
                 max_points=int(sqlite.get("max_points", 5_000_000)),
                 max_age_s=parse_duration(max_age) if max_age is not None else 35 * 86400.0,
                 buffer_limit=config.agent.metric_buffer_limit, clock=clock, read_only=read_only,
                 tables=FEATURE_TABLES)


@dataclass
class Progress:
    """When poll results were last committed: what the watchdog and /healthz call "polling advances"."""

    started_s: float = field(default_factory=time.monotonic)
    last_commit_s: float | None = None
    committed: int = 0

    def note(self, polls: int) -> None:
        self.last_commit_s = time.monotonic()
        self.committed += polls


class Lifecycle(Protocol):
    """Told when the agent is ready, reloaded and stopping (systemd notification, local HTTP)."""

    async def started(self, agent: Agent) -> None: ...

    def reloaded(self, agent: Agent, *, ok: bool) -> None: ...

    async def stopping(self, agent: Agent) -> None: ...


@dataclass
class RunStats:
    polls: int = 0
    poll_errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    poll_seconds: float = 0.0
    unavailable: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Undelivered:
    """An output that did not take every point of ``run --once``."""

    output: str
    pending: int            # still in the spool: sent by the next run
    set_aside: int          # rejected by the server as invalid during this run
    last_error: str

    def __str__(self) -> str:
        kept = f"{self.pending} points stay in the spool for the next run" if self.pending else ""
        aside = f"{self.set_aside} points rejected and set aside" if self.set_aside else ""
        error = f" (last error: {self.last_error})" if self.last_error else ""
        return f"output {self.output} did not accept its points: {'; '.join(p for p in (kept, aside) if p)}{error}"


class Agent:
    def __init__(self, config: Config, *, config_path: Path | None = None,
                 clock: Clock = wall_clock,
                 on_commit: Callable[[list[PollResult]], None] | None = None,
                 lifecycle: Lifecycle | None = None, shard: Shard | None = None) -> None:
        self.config = config
        self.shard = shard          # a reloaded config is restricted to it again
        self.lifecycle = lifecycle
        self.progress = Progress()
        self.config_path = config_path
        self.clock = clock
        self.on_commit = on_commit
        self.store = open_store(config, clock)
        self.recorder = Recorder(config, self.store.energy_states(), emissions=EmissionsEngine(config, self.store))
        self.factor_fetcher = FactorFetcher(config.emissions, FactorCache(self.store))
        self.outputs = build_outputs(config)
        self.forwarder = Forwarder(self.store, self.outputs)
        self.client = snmp_client(config)
        self.poller = Poller(config, self.client, clock=clock)
        self.stats = RunStats()
        self.host = config.agent.hostname or socket.gethostname()
        self._pending: list[PollResult] = []
        self._unsaved: list[PollRecord] = []           # recorded, not yet committed (the store failed)
        self._unsaved_results: list[PollResult] = []
        self.store_problem: str | None = None          # why the store cannot be written, shown by /healthz
        self.lost_polls = 0
        self._problem_note = ProblemNote(config.agent.state_directory)
        self._running: set[asyncio.Task[None]] = set()
        self._rounds: dict[float, asyncio.Task[None]] = {}      # the latest round of each interval
        self._superseded: set[asyncio.Task[None]] = set()       # rounds a newer one of theirs has replaced
        self._busy: set[str] = set()                             # devices being polled now
        self._stop = asyncio.Event()
        self._scheduler: AsyncIOScheduler | None = None
        self.wifi = None
        if config.wifi is not None:
            from agent.wifi.runtime import open_wifi  # noqa: PLC0415  (loaded only with a wifi: section)
            self.wifi = open_wifi(config, self.store, self.client, clock=clock)
        self._wifi_api: Any = None
        self.undelivered: list[Undelivered] = []

    # -- one cycle, for `run --once` ---------------------------------------------------------------

    async def run_once(self) -> list[PollResult]:
        """One cycle; ``self.undelivered`` then says which outputs did not accept their points."""
        try:
            await self.refresh_factors()
            results = await self.poller.poll_many(self.config.devices.values())
            for result in results:
                self._note_availability(result)
            self._pending.extend(results)
            self._commit()
            self._write_self_metrics()
            aside_before = {s.output: s.set_aside for s in self.store.output_statuses()}
            await self._forward(deadline=time.monotonic() + self.config.agent.shutdown_timeout_s)
            self.undelivered = [
                Undelivered(s.output, s.pending, s.set_aside - aside_before.get(s.output, 0), s.last_error)
                for s in self.store.output_statuses()
                if s.output in self.forwarder.backoff and (s.pending or s.set_aside > aside_before.get(s.output, 0))]
            return results
        finally:
            await self.close()

    # -- the daemon ------------------------------------------------------------------------------

    async def run(self, *, duration_s: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        for signum, handler in ((signal.SIGTERM, self._stop.set), (signal.SIGINT, self._stop.set),
                                (signal.SIGHUP, self._reload)):
            with contextlib.suppress(NotImplementedError, RuntimeError):    # not the main thread (tests)
                loop.add_signal_handler(signum, handler)
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        self._schedule_devices(scheduler)
        scheduler.add_job(self._flush, IntervalTrigger(seconds=self.config.agent.flush_interval_s,
                                                       jitter=self.config.agent.flush_jitter_s or None),
                          id="flush", max_instances=1, coalesce=True)
        if self.wifi is not None and self.config.wifi is not None:
            # first round now (the scheduler runs on the wall clock): reconcile desired vs actual (never replays
            # missed toggles), then every evaluate_every
            scheduler.add_job(self._wifi_round, IntervalTrigger(seconds=self.config.wifi.evaluate_every_s),
                              id="wifi", max_instances=1, coalesce=True, next_run_time=wall_clock())
            await self._start_wifi_api()
        self._schedule_factor_refresh(scheduler)
        scheduler.start()
        log.info("netwatt started: %d devices, interval %gs, %d outputs + sqlite store at %s%s",
                 len(self.config.devices), self.config.agent.interval_s, len(self.outputs), self.store.path,
                 f", shard {self.shard}" if self.shard else "")
        committer = loop.create_task(self._commit_loop())
        try:
            if self.lifecycle is not None:
                await self.lifecycle.started(self)
            if duration_s is None:
                await self._stop.wait()
            else:
                await asyncio.wait_for(self._stop.wait(), duration_s)
        except TimeoutError:
            pass
        finally:
            if self.lifecycle is not None:
                await self.lifecycle.stopping(self)
            await self._shutdown(scheduler, committer)

    def stop(self) -> None:
        self._stop.set()

    async def _wifi_round(self) -> None:
        from agent.wifi.interlock import WifiBusy  # noqa: PLC0415  (Wi-Fi code loads only with a wifi: section)
        assert self.wifi is not None
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)       # SIGTERM lets a round finish: no change is left half done
        try:
            await self.wifi.run_round()
        except WifiBusy as exc:     # the CLI or another process is applying: this round is skipped
            log.warning("wifi round skipped: %s", exc)
        except sqlite3.Error as exc:    # the store (a full disk): the commit's own error says more
            log.error("wifi round stopped: the store cannot be written: %s", exc)
        except Exception:      # a bad round is logged; the next one runs anyway
            log.exception("wifi round failed")
        finally:
            self._running.discard(task)

    async def _start_wifi_api(self) -> None:
        assert self.wifi is not None
        api = self.wifi.config.api
        if api.token is None:
            return
        from agent.httpapi import LocalHttpServer  # noqa: PLC0415
        from agent.wifi.api import add_routes  # noqa: PLC0415
        server = LocalHttpServer(api.host, api.port)
        add_routes(server, self.wifi)
        await server.start()
        self._wifi_api = server
        log.info("wifi API on http://%s:%d/wifi/", api.host, server.port)

    def _schedule_devices(self, scheduler: AsyncIOScheduler) -> None:
        now = self.clock()
        for job in scheduler.get_jobs():
            if job.id.startswith("round:"):
                job.remove()
        for interval_s in sorted({self._interval_of(d) for d in self.config.devices.values()}):
            scheduler.add_job(self._start_round, args=[interval_s],
                              **round_job_options(interval_s, self.config, now=now))

    def _interval_of(self, device: Device) -> float:
        return device.interval_s or self.config.agent.interval_s

    async def _start_round(self, interval_s: float) -> None:
        """The round job: the round gets its own task and the job returns, so a round still polling never
        holds up the next one. The previous round's devices not started yet have missed their slot."""
        previous = self._rounds.get(interval_s)
        if previous is not None and not previous.done():
            self._superseded.add(previous)
        task = asyncio.get_running_loop().create_task(self._round(interval_s))
        self._rounds[interval_s] = task
        self._running.add(task)        # SIGTERM lets the polls in progress finish
        task.add_done_callback(self._round_done)

    def _round_done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._superseded.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("poll round failed", exc_info=task.exception())

    async def _round(self, interval_s: float) -> None:
        """Poll the devices of one interval, each at its offset in the jitter window, by a bounded pool of
        workers (not one task per device). At most one poll of a device at a time: a device whose
        previous poll is still running is skipped, and counted."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.current_task()
        due = sorted((device_offset_s(d, self.config), d.name) for d in self.config.devices.values()
                     if self._interval_of(d) == interval_s)
        queue = iter(due)

        async def worker() -> None:
            for offset, name in queue:      # one shared iterator: each device is taken once
                if task in self._superseded:
                    self._skipped(name)     # the next round began before this device's turn came
                    continue
                if (delay := started + offset - loop.time()) > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                device = self.config.devices.get(name)
                if self._stop.is_set():
                    return
                if device is None:          # removed by a reload meanwhile
                    continue
                if name in self._busy:
                    self._skipped(name)
                    continue
                self._busy.add(name)
                try:
                    result = await self.poller.poll(device)
                    self._note_availability(result)
                    self._pending.append(result)
                finally:
                    self._busy.discard(name)

        await asyncio.gather(*(worker() for _ in range(max(1, min(len(due), self.config.agent.max_in_flight)))))

    def _skipped(self, device: str) -> None:
        self.stats.skipped += 1
        with contextlib.suppress(sqlite3.Error):      # a full disk: the commit's error says so already
            self.store.count_skipped(device)
        log.warning("device %s: poll skipped, the previous one is still running", device)

    def _note_availability(self, result: PollResult) -> None:
        self.stats.polls += 1
        self.stats.poll_seconds += result.elapsed_s
        if result.errors:
            self.stats.poll_errors += 1
            self.stats.timeouts += sum(1 for e in result.errors if e.startswith("timeout"))
            if result.device not in self.stats.unavailable and not result.power.readings:
                self.stats.unavailable.add(result.device)
                log.warning("device %s unavailable: %s", result.device, result.errors[0])
        elif result.device in self.stats.unavailable:
            self.stats.unavailable.discard(result.device)
            log.warning("device %s recovered", result.device)

    def _schedule_factor_refresh(self, scheduler: AsyncIOScheduler) -> None:
        if scheduler.get_job("grid-factors") is not None:
            scheduler.remove_job("grid-factors")
        if self.config.emissions.providers:
            scheduler.add_job(self.refresh_factors, IntervalTrigger(seconds=self.config.emissions.refresh_interval_s),
                              id="grid-factors", max_instances=1, coalesce=True, next_run_time=wall_clock())

    async def refresh_factors(self) -> None:
        """Live grid factors into the store's cache (no-op without providers)."""
        await self.factor_fetcher.refresh(self.clock().timestamp())

    # -- storing and forwarding ------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_EVERY_S)
            await self._commit_in_slices()

    async def _commit_in_slices(self) -> None:
        """A slice at a time, the event loop in between: recording 1,000 results at once held the loop
        ~0.2-0.3 s, replies queued behind it, and the in-flight bound shrank to a few dozen. Every tick
        commits at least once, so the polls a failed commit kept in memory (``_unsaved``) are retried.
        While the store cannot be written, one commit takes all that is pending: slices would leave the
        rest in ``_pending``, beyond the bound on what is kept in memory."""
        if self.store_problem is not None:
            self._commit()
            return
        while True:
            later, self._pending = self._pending[COMMIT_SLICE:], self._pending[:COMMIT_SLICE]
            try:
                self._commit()
            finally:
                self._pending += later
            if not self._pending or self.store_problem is not None:     # done, or retried next tick
                return
            await asyncio.sleep(0)

    def _commit(self) -> None:
        """Commit the polls done since the last commit. If the store cannot be written (a full disk), their
        records stay in memory (bounded: the oldest go first, counted) and the next commit tries again:
        the records are computed once, so a retry never counts energy twice."""
        if not self._pending and not self._unsaved:
            return
        results, self._pending = self._pending, []
        self._unsaved.extend(self.recorder.record(result) for result in results)
        self._unsaved_results.extend(results)
        try:
            self.store.commit(self._unsaved)
        except sqlite3.Error as exc:
            self._store_failed(exc)
            return
        committed, self._unsaved, self._unsaved_results = self._unsaved_results, [], []
        self._store_ok()
        self.progress.note(len(committed))
        if self.on_commit is not None:
            self.on_commit(committed)

    def _store_failed(self, exc: sqlite3.Error) -> None:
        if len(self._unsaved) > MAX_UNSAVED_POLLS:
            lost = len(self._unsaved) - MAX_UNSAVED_POLLS
            del self._unsaved[:lost], self._unsaved_results[:lost]
            self.lost_polls += lost
            log.error("store still not writable: dropped the %d oldest polls kept in memory", lost)
        cause = f"cannot write the store {self.store.path}: {exc}"
        if cause != self.store_problem:      # once per cause, not once per commit
            log.error("%s; %d polls kept in memory and retried", cause, len(self._unsaved))
        self.store_problem = cause
        self._problem_note.set(cause, unsaved=len(self._unsaved))

    def _store_ok(self) -> None:
        if self.store_problem is not None:
            log.warning("store writable again: the polls kept in memory are committed")
            self.store_problem = None
            self._problem_note.set(None)

    async def _flush(self) -> None:
        self._commit()
        self._write_self_metrics()
        await self._forward()

    async def _forward(self, deadline: float | None = None) -> None:
        """Committed points go on being forwarded, whatever the state of the store."""
        try:
            await self.forwarder.flush(deadline=deadline)
        except sqlite3.Error as exc:            # a batch could not be set aside: retried next flush
            if self.store_problem is None:
                log.warning("forwarding paused: %s", exc)

    def _write_self_metrics(self) -> None:
        point = agent_point(self.host, self.clock().replace(microsecond=0), self.self_metrics())
        try:
            self.store.commit([], stored([point]))
        except sqlite3.Error as exc:       # the polls' commit already said why
            if self.store_problem is None:
                self._store_failed(exc)

    def self_metrics(self) -> dict[str, float | int]:
        """The agent's own counters and gauges (the `agent` measurement, /metrics)."""
        counters = self.store.counters()
        pending = sum(s.pending for s in self.store.output_statuses())
        return {
            "devices": len(self.config.devices), "polls": self.stats.polls, "poll_errors": self.stats.poll_errors,
            "timeouts": self.stats.timeouts, "skipped": self.stats.skipped,
            "unavailable": len(self.stats.unavailable), "poll_seconds": round(self.stats.poll_seconds, 3),
            "spool_pending": pending, "points_written": counters.get("points_written", 0),
            "points_dropped": counters.get("points_dropped", 0),
            "points_set_aside": counters.get("points_set_aside", 0),
            "in_flight_limit": self.client.limit.slots,
        }

    # -- reload and shutdown ---------------------------------------------------------------------

    def _reload(self) -> None:
        ok = self._apply_reload()
        if self.lifecycle is not None:
            self.lifecycle.reloaded(self, ok=ok)

    def _apply_reload(self) -> bool:
        if self.config_path is None:
            log.warning("SIGHUP ignored: no config file to reload")
            return False
        try:
            new = restrict(load_config_isolated(self.config_path), self.shard)
        except ConfigError as exc:
            log.error("config reload refused, the running config stays: %s", exc)
            return False
        if (new.agent.state_directory != self.config.agent.state_directory
                or new.outputs != self.config.outputs):
            log.error("config reload refused: state_directory and outputs change only on restart")
            return False
        self.config = new
        self.recorder.config = new
        self.recorder.emissions = EmissionsEngine(new, self.store)
        self.factor_fetcher = FactorFetcher(new.emissions, FactorCache(self.store))
        self.poller = Poller(new, self.client, clock=self.clock)
        if self._scheduler is not None:
            self._schedule_devices(self._scheduler)
            self._schedule_factor_refresh(self._scheduler)
        if self.wifi is not None and new.wifi is not None:
            from agent.wifi.runtime import reconfigure_wifi  # noqa: PLC0415
            reconfigure_wifi(self.wifi, new, self.client)
        elif (self.wifi is None) != (new.wifi is None):
            log.error("the wifi: section was added or removed: that takes effect on restart")
        log.warning("config reloaded from %s: %d devices", self.config_path, len(new.devices))
        return True

    async def _shutdown(self, scheduler: AsyncIOScheduler, committer: asyncio.Task[None]) -> None:
        deadline = time.monotonic() + self.config.agent.shutdown_timeout_s
        scheduler.pause()           # no new polls; shutdown() would cancel the running ones
        self._stop.set()            # rounds start no more polls (also when run() ended on its duration)
        if self._running:
            await asyncio.wait(set(self._running), timeout=max(0.0, deadline - time.monotonic()))
        scheduler.shutdown(wait=False)
        committer.cancel()
        self._commit()
        self._write_self_metrics()
        await self._forward(deadline=deadline)
        left = sum(s.pending for s in self.store.output_statuses())
        if left:
            log.warning("stopping with %d points not yet forwarded: they stay in the spool for next start", left)
        if self._unsaved:
            log.error("stopping with %d polls the store could not take (%s): they are lost", len(self._unsaved),
                      self.store_problem)
        await self.close()
        log.info("netwatt stopped")

    async def close(self) -> None:
        if self._wifi_api is not None:
            await self._wifi_api.close()
        if self.wifi is not None:
            await self.wifi.close()
        await self.client.close()
        for output in self.outputs:
            await output.close()
        self._problem_note.close()
        self.store.close()

