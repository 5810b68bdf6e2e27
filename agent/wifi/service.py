"""One Wi-Fi evaluation round, shared by the daemon job, the CLI and the HTTP API:
read every controller, update idle clocks, evaluate the policies, plan (guards), apply, audit, export.

At start-up the first round reconciles: dead-man jobs left armed are run, then the desired state *now* is
compared with the actual state; toggles missed while the agent was down are never replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.clock import Clock, wall_clock
from agent.points.lineprotocol import Point
from agent.wifi.adapters.base import Controller
from agent.wifi.adapters.snmp import PoeMeter
from agent.wifi.executor import Executor
from agent.wifi.expiry import Restores, with_restores
from agent.wifi.interlock import ApplyLock
from agent.wifi.model import Desired, Observed
from agent.wifi.planner import Plan, make_plan
from agent.wifi.points import action_point, radio_point
from agent.wifi.policy import evaluate, hold_idle_clocks, update_idle
from agent.wifi.settings import WifiConfig
from agent.wifi.store import ActionRecord, WifiStore

log = logging.getLogger("netwatt.wifi")


@dataclass(slots=True)
class Round:
    plan: Plan
    actions: list[ActionRecord] = field(default_factory=list)
    reverts: list[ActionRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        def action(a: ActionRecord) -> dict[str, object]:
            return {"target": a.target.key, "action": a.action, "result": a.result, "reason": a.reason,
                    "who": a.who, "error": a.error, "power_before_w": a.power_before_w,
                    "power_after_w": a.power_after_w}
        problems = self.problems()
        return {**self.plan.to_json(), "actions": [action(a) for a in self.actions],
                "reverts": [action(a) for a in self.reverts], "ok": not problems, "problems": problems}

    def problems(self, keys: set[str] | None = None) -> list[dict[str, str]]:
        """Every target (of ``keys``, or all) the round refused or failed to change, and why."""
        found = [{"target": r.change.target.key, "result": "refused", "why": r.rule} for r in self.plan.refused]
        found += [{"target": a.target.key, "result": "failed", "why": a.error}
                  for a in [*self.actions, *self.reverts] if a.result == "failed"]
        # a target the rules want switched whose state could not be read was not switched either
        found += [{"target": i.key, "result": "unknown", "why": i.reason} for i in self.plan.items
                  if i.verdict == "unknown" and i.desired is not None]
        return [p for p in found if keys is None or p["target"] in keys]


class WifiService:
    def __init__(self, config: WifiConfig, store: WifiStore, controllers: dict[str, Controller], *,
                 clock: Clock = wall_clock, meter: PoeMeter | None = None,
                 sink: Callable[[list[Point]], None] = lambda _p: None, settle_s: float = 0.0,
                 retry_delay_s: float = 1.0, apply_lock: ApplyLock | None = None, lock_wait_s: float = 0.0) -> None:
        self.store = store
        self.apply_lock = apply_lock          # shared with other processes on the same state directory
        self.lock_wait_s = lock_wait_s
        self.clock = clock
        self.sink = sink
        self.settle_s = settle_s
        self.retry_delay_s = retry_delay_s
        self.reconfigure(config, controllers, meter=meter)
        self._started = False
        self._round = asyncio.Lock()     # the scheduled round and an API request never plan at the same time
        self._refusals_logged: set[tuple[str, str]] = set()

    def reconfigure(self, config: WifiConfig, controllers: dict[str, Controller], *, meter: PoeMeter | None) -> None:
        """Start (or reload) with this configuration; the executor's per-controller locks start afresh."""
        self.config = config
        self.controllers = controllers
        self.sites = {t.key: g.site for g in config.groups.values() for t in g.targets}
        self.executor = Executor(self.store, controllers, guards=config.guards, clock=self.clock, meter=meter,
                                 on_action=self._action_point, settle_s=self.settle_s,
                                 retry_delay_s=self.retry_delay_s, known={t.key: t for t in config.targets()})

    def _action_point(self, action: ActionRecord) -> None:
        self.sink([action_point(self.sites.get(action.target.key, ""), action)])

    async def observe(self) -> dict[str, Observed]:
        """Every target's state; an unreachable controller gives errors for its targets, not an exception."""
        by_controller: dict[str, list[object]] = {}
        targets = self.config.targets()
        for target in targets:
            by_controller.setdefault(target.controller, []).append(target)

        async def read(name: str) -> dict[str, Observed]:
            mine = [t for t in targets if t.controller == name]
            controller = self.controllers.get(name)
            if controller is None:
                return {t.key: Observed(t, None, None, f"controller {name} is not available") for t in mine}
            try:
                return await controller.read(mine)
            except Exception as exc:     # one controller's failure stays with its targets
                log.warning("wifi controller %s: read failed: %s", name, exc)
                return {t.key: Observed(t, None, None, f"{name}: {exc}") for t in mine}

        observed: dict[str, Observed] = {}
        for part in await asyncio.gather(*(read(name) for name in by_controller)):
            observed.update(part)
        return observed

    def desired(self, now: datetime) -> dict[str, list[Desired]]:
        return self._desired(now).desired

    def _desired(self, now: datetime) -> Restores:
        """The rules' wishes, with the targets of ended on-demand requests going back to their prior state."""
        requests = self.store.requests(now)
        idle = self.store.idle()
        desired = {name: evaluate(group, now, requests=requests, idle=idle)
                   for name, group in self.config.groups.items()}
        return with_restores(desired, self.store.pending_restores(), requests, now)

    async def plan(self) -> tuple[Plan, dict[str, Observed], dict[str, list[Desired]]]:
        """Read, evaluate and plan; nothing is sent (``netwatt wifi plan``)."""
        now = self.clock()
        observed = await self.observe()
        desired = self.desired(now)
        recent = self.store.changes_since(now - timedelta(minutes=1))
        plan = make_plan(self.config, desired, observed, self.store.baselines(), recent_changes=recent)
        return plan, observed, desired

    async def run_round(self, *, apply: bool = True) -> Round:
        """One evaluation: dead-man jobs due, observe, idle clocks, plan, apply, export state."""
        async with self._round:
            if not apply or self.apply_lock is None:
                return await self._run_round(apply=apply)
            async with self.apply_lock.held(wait_s=self.lock_wait_s):
                return await self._run_round(apply=apply)

    async def _run_round(self, *, apply: bool) -> Round:
        reverts = []
        if apply:
            reverts = await self.executor.revert_due(all_armed=not self._started)
            self._started = True
        now = self.clock()
        observed = await self.observe()
        if apply:
            idle = update_idle(self.store.idle(), observed, now, max_gap_s=3 * self.config.evaluate_every_s)
            self.store.save_idle(idle)
        restores = self._desired(now)
        desired = restores.desired
        if apply:
            for record in restores.superseded:
                self.store.settle_restore(record.request, record.target, "superseded")
            held = hold_idle_clocks(self.store.idle(), [d for wants in desired.values() for d in wants], now)
            self.store.save_idle(held)
        recent = self.store.changes_since(now - timedelta(minutes=1))
        plan = make_plan(self.config, desired, observed, self.store.baselines(), recent_changes=recent)
        result = Round(plan, reverts=reverts)
        if not apply:
            return result
        refusals = {(r.change.target.key, r.rule) for r in plan.refused}
        for key, rule in sorted(refusals - self._refusals_logged):      # once per target and rule, not per round
            log.warning("wifi: change of %s refused: %s", key, rule)
        self._refusals_logged = refusals
        result.actions = await self.executor.execute(plan.changes)
        final = {a.target.key: a.after for a in result.actions}
        for key, state in restores.wanted.items():
            seen_now = final.get(key, observed[key].enabled if key in observed else None)
            if seen_now is state:      # the prior state is back (or was never lost)
                for record in restores.records[key]:
                    self.store.settle_restore(record.request, key, "restored")
        wanted = {i.key: i.desired for i in plan.items}
        points = []
        for key, read in observed.items():
            seen = read
            if final.get(key) is not None:      # what the actions left, not the state before them
                seen = Observed(read.target, final[key], 0 if final[key] is False else read.clients, read.error)
            self.store.save_state(key, seen.enabled, seen.clients, now, seen.error)
            points.append(radio_point(self.sites.get(key, ""), seen, wanted.get(key), now))
        self.sink(points)
        return result

    async def close(self) -> None:
        for controller in self.controllers.values():
            await controller.close()
