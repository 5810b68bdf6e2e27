"""What ``netwatt run`` adds around the agent when it runs as a service: systemd notification
(READY once the config, secrets, store and outputs are checked and polling is scheduled), a
watchdog pinged only while polls keep being committed, and the local HTTP endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from agent.daemon import Agent
from agent.errors import NetwattError
from agent.health import PROMETHEUS_CONTENT_TYPE, check_health, metrics_text, stall_reason
from agent.httpapi import LocalHttpServer, Request, Response
from agent.power.readings import PollResult
from agent.sdnotify import Notifier
from agent.settings.http import HttpSettings
from agent.views.prometheus import ComponentCache, device_metrics_text

log = logging.getLogger("netwatt.supervise")


def status_line(agent: Agent) -> str:
    last = agent.progress.last_commit_s
    age = f"last poll {time.monotonic() - last:.0f}s ago" if last is not None else "no poll yet"
    return (f"{len(agent.config.devices)} devices, {agent.progress.committed} polls, {age}, "
            f"{len(agent.stats.unavailable)} unavailable, {len(agent.outputs)} outputs")


class Supervisor:
    """The agent's ``Lifecycle`` under systemd (or a terminal, where notifications are no-ops)."""

    def __init__(self, notifier: Notifier, http: HttpSettings | None) -> None:
        self.notifier = notifier
        self.http_settings = http
        # built now so other parts (the Wi-Fi API) can add routes before the agent starts
        self.http = (LocalHttpServer(http.host, http.port, allow_non_loopback=http.allow_non_loopback)
                     if http is not None else None)
        self._agent: Agent | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.components = ComponentCache() if http is not None and http.component_metrics else None
        if self.http is not None:
            self.http.route("GET", "/healthz", self._healthz)
            self.http.route("GET", "/metrics", self._metrics)

    async def started(self, agent: Agent) -> None:
        self._agent = agent
        if self.components is not None:
            agent.on_commit = _chain(agent.on_commit, self.components.note)
        if self.http is not None and self.http_settings is not None:
            try:
                await self.http.start()
            except OSError as exc:
                raise NetwattError(f"agent.http: cannot listen on {self.http_settings.listen}: "
                                   f"{exc.strerror or exc}") from None
        if self.notifier.watchdog_s:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(self.notifier.watchdog_s))
        self.notifier.ready(status_line(agent))

    def reloaded(self, agent: Agent, *, ok: bool) -> None:
        if ok and self.http_settings != agent.config.agent.http:
            log.warning("agent.http changed: it applies on restart")
        self.notifier.notify(ready=1, status=("reloaded: " if ok else "reload refused: ") + status_line(agent))

    async def stopping(self, agent: Agent) -> None:
        self.notifier.stopping(f"stopping: {status_line(agent)}")
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self.http is not None:
            await self.http.close()

    async def _watch(self, watchdog_s: float) -> None:
        """WATCHDOG=1 while polls are committed; silence (and a restart by systemd) when they stop."""
        assert self._agent is not None
        stalled = False
        while True:
            reason = stall_reason(self._agent)
            if reason is None:
                self.notifier.watchdog()
                self.notifier.status(status_line(self._agent))
                if stalled:
                    log.warning("polling advances again; watchdog pings resumed")
                stalled = False
            elif not stalled:
                stalled = True
                log.error("polling is stuck (%s): no more watchdog pings, systemd will restart the agent", reason)
            await asyncio.sleep(watchdog_s / 4)

    def _healthz(self, _request: Request) -> Response:
        if self._agent is None:
            return Response.json({"status": "starting", "reasons": ["the agent is starting"]}, 503)
        health = check_health(self._agent)
        return Response.json(health.report, 200 if health.ok else 503)

    def _metrics(self, _request: Request) -> Response:
        if self._agent is None:
            return Response(503, "starting\n")
        text = metrics_text(self._agent)
        if self.http_settings is not None and self.http_settings.device_metrics:
            text += device_metrics_text(self._agent, now_s=self._agent.clock().timestamp(),
                                        components=self.components)
        return Response(200, text, PROMETHEUS_CONTENT_TYPE)


def _chain(first: Callable[[list[PollResult]], None] | None,
           then: Callable[[list[PollResult]], None]) -> Callable[[list[PollResult]], None]:
    if first is None:
        return then

    def both(results: list[PollResult]) -> None:
        first(results)
        then(results)
    return both
