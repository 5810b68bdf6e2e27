"""Carrying out a plan, safely: one change in flight per controller, a dead-man revert job on disk before
any disable, apply -> read back -> confirm (or roll back), retries, and an audit record for everything."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from agent.wifi.adapters.base import Controller
from agent.wifi.adapters.snmp import PoeMeter
from agent.wifi.guards import Change
from agent.wifi.model import ControllerError, Scope, Target
from agent.wifi.settings import Guards
from agent.wifi.store import ActionRecord, DeadMan, WifiStore

log = logging.getLogger("netwatt.wifi")


class Executor:
    def __init__(self, store: WifiStore, controllers: dict[str, Controller], *, guards: Guards,
                 clock: Callable[[], datetime], meter: PoeMeter | None = None,
                 on_action: Callable[[ActionRecord], None] = lambda _a: None,
                 settle_s: float = 0.0, retry_delay_s: float = 1.0, known: dict[str, Target] | None = None) -> None:
        self.store = store
        self.controllers = controllers
        self.guards = guards
        self.clock = clock
        self.meter = meter
        self.on_action = on_action
        self.settle_s = settle_s
        self.retry_delay_s = retry_delay_s
        self.known = known or {}        # target key -> target of the config, for dead-man jobs
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, controller: str) -> asyncio.Lock:
        return self._locks.setdefault(controller, asyncio.Lock())

    async def execute(self, changes: list[Change]) -> list[ActionRecord]:
        """Controllers in parallel, the changes of one controller one after the other."""
        by_controller: dict[str, list[Change]] = {}
        for change in changes:
            by_controller.setdefault(change.target.controller, []).append(change)
        results = await asyncio.gather(*(self._controller_changes(name, todo) for name, todo in by_controller.items()))
        return [record for batch in results for record in batch]

    async def _controller_changes(self, name: str, changes: list[Change]) -> list[ActionRecord]:
        """One after the other; the PoE draw after the changes is read once the batch has settled."""
        done = []
        async with self._lock(name):
            aps = sorted({c.target.ap for c in changes if c.target.ap})
            before = {ap: await self._measure(ap) for ap in aps}
            for change in changes:
                done.append(await self._one(change))
            confirmed = [r for r in done if r.result == "confirmed" and before.get(r.target.ap) is not None]
            if self.settle_s and confirmed:
                await asyncio.sleep(self.settle_s)
            after = {ap: await self._measure(ap) for ap in sorted({r.target.ap for r in confirmed})}
        records = []
        for action in done:
            ap, record = action.target.ap, action
            if action in confirmed and after.get(ap) is not None:
                # the port's change is shared by the actions of this batch on the same AP: never counted twice
                share = 1.0 / sum(1 for r in confirmed if r.target.ap == ap)
                record = replace(action, power_before_w=before[ap], power_after_w=after[ap], power_method="measured",
                                 power_share=share)
            self.store.record_action(record)
            self.on_action(record)
            records.append(record)
        return records

    async def _measure(self, ap: str) -> float | None:
        if self.meter is None:
            return None
        try:
            return await self.meter.watts(ap)
        except Exception as exc:    # a meter failure never blocks the action
            log.warning("PoE reading for %s failed: %s", ap, exc)
            return None

    async def _one(self, change: Change) -> ActionRecord:
        target = change.target
        started, now = time.monotonic(), self.clock()
        controller = self.controllers.get(target.controller)
        job = None
        if change.request is not None and change.before is not None:
            # what the request changed, committed before it is sent: restored when the request ends
            self.store.remember_request_change(change.request, target.key, change.before)
        if not change.after:
            # the prior state and the revert job are committed before anything is sent
            self.store.remember_baseline(target.key, bool(change.before), now)
            for old in self.store.armed_deadmen():
                if old.target == target.key:
                    self.store.disarm_deadman(old.id, "superseded")
            job = self.store.arm_deadman(target, True, now=now, due=now + timedelta(seconds=self.guards.dead_man_s),
                                         reason=f"revert of: {change.reason}")
        error = ""
        ok = False
        for attempt in range(self.guards.retries + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay_s)
            try:
                if controller is None:
                    raise ControllerError(f"controller {target.controller} is not configured")
                await self._apply_verified(controller, target, change.after)
                ok = True
                break
            except ControllerError as exc:
                error = f"attempt {attempt + 1}: {exc}"
                log.warning("wifi %s %s: %s", change.action, target.key, error)
        if ok:
            if job is not None:
                self.store.disarm_deadman(job)
            if change.after:
                self.store.forget_baseline(target.key)
        elif job is not None:
            error += f"; dead-man revert job {job} stays armed (due in {self.guards.dead_man_s:g}s)"
        return ActionRecord(
            time=now, target=target, group=change.group, action=change.action, who=change.who, reason=change.reason,
            before=change.before, after=change.after if ok else change.before, result="confirmed" if ok else "failed",
            duration_s=time.monotonic() - started, error=error)

    async def _apply_verified(self, controller: Controller, target: Target, enabled: bool) -> None:
        applied = await controller.apply(target, enabled)
        seen = (await controller.read([target])).get(target.key)
        if seen is None or seen.enabled != enabled:
            state = "unknown" if seen is None or seen.enabled is None else ("up" if seen.enabled else "down")
            try:
                await applied.rollback()
            finally:
                detail = f" ({seen.error})" if seen is not None and seen.error else ""
                raise ControllerError(f"read back after the change: {target.key} is {state}{detail}; rolled back")
        await applied.confirm()

    async def revert_due(self, *, all_armed: bool = False) -> list[ActionRecord]:
        """Run the dead-man jobs that are due (at start-up: every one left armed by a crash)."""
        now = self.clock()
        records = []
        for job in self.store.armed_deadmen(None if all_armed else now):
            records.append(await self._revert(job))
        return records

    async def _revert(self, job: DeadMan) -> ActionRecord:
        controller = self.controllers.get(job.controller)
        started, now = time.monotonic(), self.clock()
        target = self.known.get(job.target) or _target_of(job)
        error = ""
        async with self._lock(job.controller):
            try:
                if controller is None:
                    raise ControllerError(f"controller {job.controller} is not configured")
                await self._apply_verified(controller, target, job.restore)
                self.store.disarm_deadman(job.id, "done")
                self.store.forget_baseline(job.target)
            except ControllerError as exc:
                self.store.retry_deadman(job.id)
                error = f"{exc}; the job stays armed and is retried"
                log.error("dead-man revert of %s failed: %s", job.target, error)
        record = ActionRecord(time=now, target=target, group="", action="revert", who="dead-man", reason=job.reason,
                              before=None, after=job.restore if not error else None,
                              result="failed" if error else "reverted", duration_s=time.monotonic() - started,
                              error=error)
        self.store.record_action(record)
        self.on_action(record)
        return record


def _target_of(job: DeadMan) -> Target:
    """Rebuild a target from its key (controller/ap/slot, controller/ssid:NAME, controller/ap)."""
    parts = job.target.split("/")
    if parts[1].startswith("ssid:"):
        return Target(job.controller, Scope.SSID, ssid=parts[1].removeprefix("ssid:"))
    if len(parts) == 2:
        return Target(job.controller, Scope.AP, ap=parts[1])
    return Target(job.controller, Scope.RADIO, ap=parts[1], radio=int(parts[2]))
