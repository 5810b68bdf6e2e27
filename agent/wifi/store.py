"""The Wi-Fi tables in the agent's SQLite store: audit log, dead-man revert jobs, prior admin states,
on-demand requests, idle clocks and the last state seen. Each write commits at once (autocommit), so a
revert job is on disk before the disable it protects is sent. The tables and their migrations are declared
in agent/wifi/tables.py (the store runs them at open); reads return dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from agent.store.sqlite import Store
from agent.wifi.model import Target
from agent.wifi.policy import IdleEntry, Request
from agent.wifi.tables import WIFI_TABLES


@dataclass(frozen=True, slots=True)
class ActionRecord:
    time: datetime
    target: Target
    group: str
    action: str            # enable | disable | revert
    who: str
    reason: str
    before: bool | None
    after: bool | None
    result: str            # confirmed | failed | reverted | refused
    duration_s: float
    error: str = ""
    power_before_w: float | None = None
    power_after_w: float | None = None
    power_method: str = ""           # measured | estimated | ""
    power_share: float = 1.0         # this action's part of the port's change (several radios of one AP at once)


@dataclass(frozen=True, slots=True)
class StoredAction:
    """One row of the audit log as stored (the target by its key)."""

    id: int
    time: datetime
    target: str
    controller: str
    ap: str
    radio: str
    group: str
    action: str
    who: str
    reason: str
    before: bool | None
    after: bool | None
    result: str
    duration_s: float
    error: str
    power_before_w: float | None
    power_after_w: float | None
    power_method: str
    power_share: float

    def to_json(self) -> dict[str, object]:
        """As ``wifi status`` shows it: the row's own values (time in epoch seconds, before/after 1, 0 or null)."""
        return {"id": self.id, "time": self.time.timestamp(), "target": self.target, "controller": self.controller,
                "ap": self.ap, "radio": self.radio, "group": self.group, "action": self.action, "who": self.who,
                "reason": self.reason, "before": _int(self.before), "after": _int(self.after),
                "result": self.result, "duration_s": self.duration_s, "error": self.error,
                "power_before_w": self.power_before_w, "power_after_w": self.power_after_w,
                "power_method": self.power_method, "power_share": self.power_share}


@dataclass(frozen=True, slots=True)
class PendingRestore:
    """A target an on-demand request changed, to be put back to ``before`` once the request has ended."""

    request: int
    group: str
    target: str
    before: bool
    until: datetime        # the request's end


@dataclass(frozen=True, slots=True)
class DeadMan:
    id: int
    target: str
    controller: str
    restore: bool
    due: datetime
    reason: str
    attempts: int


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _int(value: bool | None) -> int | None:
    return None if value is None else int(value)


class WifiStore:
    def __init__(self, store: Store) -> None:
        self.db = store.connection_for(WIFI_TABLES)

    # -- audit -----------------------------------------------------------------------------------

    def record_action(self, a: ActionRecord) -> int:
        cursor = self.db.execute(
            """INSERT INTO wifi_actions (time, target, controller, ap, radio, grp, action, who, reason, before, after,
                   result, duration_s, error, power_before_w, power_after_w, power_method, power_share)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (_ts(a.time), a.target.key, a.target.controller, a.target.ap, a.target.radio_tag, a.group, a.action,
             a.who, a.reason, a.before, a.after, a.result, a.duration_s, a.error[:500], a.power_before_w,
             a.power_after_w, a.power_method, a.power_share))
        return int(cursor.lastrowid or 0)

    def actions(self, since: datetime | None = None) -> list[StoredAction]:
        rows = self.db.execute(
            """SELECT id, time, target, controller, ap, radio, grp, action, who, reason, before, after, result,
                      duration_s, error, power_before_w, power_after_w, power_method, power_share
               FROM wifi_actions WHERE time >= ? ORDER BY id""", (_ts(since) if since else 0.0,))
        return [StoredAction(i, _dt(t), target, controller, ap, radio, group, action, who, reason, _bool(before),
                             _bool(after), *rest)
                for i, t, target, controller, ap, radio, group, action, who, reason, before, after, *rest in rows]

    def changes_since(self, since: datetime) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM wifi_actions WHERE time >= ? AND result != 'refused'",
                                   (_ts(since),)).fetchone()[0])

    # -- dead-man revert jobs ----------------------------------------------------------------------

    def arm_deadman(self, target: Target, restore: bool, *, now: datetime, due: datetime, reason: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO wifi_deadman (target, controller, restore, created, due, status, reason) "
            "VALUES (?, ?, ?, ?, ?, 'armed', ?)",
            (target.key, target.controller, int(restore), _ts(now), _ts(due), reason))
        return int(cursor.lastrowid or 0)

    def disarm_deadman(self, job: int, status: str = "cancelled") -> None:
        self.db.execute("UPDATE wifi_deadman SET status = ? WHERE id = ?", (status, job))

    def retry_deadman(self, job: int) -> None:
        self.db.execute("UPDATE wifi_deadman SET attempts = attempts + 1 WHERE id = ?", (job,))

    def armed_deadmen(self, due_by: datetime | None = None) -> list[DeadMan]:
        query = "SELECT id, target, controller, restore, due, reason, attempts FROM wifi_deadman WHERE status='armed'"
        rows = (self.db.execute(query + " AND due <= ? ORDER BY id", (_ts(due_by),)) if due_by
                else self.db.execute(query + " ORDER BY id"))
        return [DeadMan(i, t, c, bool(r), _dt(d), why, n) for i, t, c, r, d, why, n in rows]

    # -- prior admin states ------------------------------------------------------------------------

    def baselines(self) -> dict[str, bool]:
        return {t: bool(e) for t, e in self.db.execute("SELECT target, enabled FROM wifi_baseline")}

    def remember_baseline(self, key: str, enabled: bool, now: datetime) -> None:
        self.db.execute("INSERT OR IGNORE INTO wifi_baseline VALUES (?, ?, ?)", (key, int(enabled), _ts(now)))

    def forget_baseline(self, key: str) -> None:
        self.db.execute("DELETE FROM wifi_baseline WHERE target = ?", (key,))

    # -- on-demand requests ------------------------------------------------------------------------

    def add_request(self, group: str, state: str, *, now: datetime, until: datetime, who: str,
                    note: str = "") -> Request:
        cursor = self.db.execute("INSERT INTO wifi_requests (grp, state, created, until, who, note) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (group, state, _ts(now), _ts(until), who, note))
        return Request(int(cursor.lastrowid or 0), group, state, now, until, who, note)

    def end_requests(self, group: str, now: datetime) -> int:
        return self.db.execute("UPDATE wifi_requests SET until = ? WHERE grp = ? AND until > ?",
                               (_ts(now), group, _ts(now))).rowcount

    def requests(self, now: datetime) -> list[Request]:
        rows = self.db.execute("SELECT id, grp, state, created, until, who, note FROM wifi_requests WHERE until > ? "
                               "ORDER BY id", (_ts(now),))
        return [Request(i, g, s, _dt(c), _dt(u), w, n) for i, g, s, c, u, w, n in rows]

    def remember_request_change(self, request: int, key: str, before: bool) -> None:
        """Committed before the change is sent: a crash right after the send still knows what to restore."""
        self.db.execute("INSERT OR IGNORE INTO wifi_request_changes VALUES (?, ?, ?, 'pending')",
                        (request, key, int(before)))

    def pending_restores(self) -> list[PendingRestore]:
        rows = self.db.execute(
            "SELECT c.request, r.grp, c.target, c.before, r.until FROM wifi_request_changes c "
            "JOIN wifi_requests r ON r.id = c.request WHERE c.status = 'pending' ORDER BY c.request, c.target")
        return [PendingRestore(i, g, t, bool(b), _dt(u)) for i, g, t, b, u in rows]

    def settle_restore(self, request: int, key: str, status: str) -> None:
        """``restored`` (the prior state is back) or ``superseded`` (a rule of the group decides now)."""
        self.db.execute("UPDATE wifi_request_changes SET status = ? WHERE request = ? AND target = ?",
                        (status, request, key))

    # -- idle clocks and last state ----------------------------------------------------------------

    def idle(self) -> dict[str, IdleEntry]:
        return {t: IdleEntry(_dt(z) if z is not None else None, _dt(s))
                for t, z, s in self.db.execute("SELECT target, zero_since, last_seen FROM wifi_idle")}

    def save_idle(self, entries: dict[str, IdleEntry]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO wifi_idle VALUES (?, ?, ?)",
                            [(k, _ts(e.zero_since) if e.zero_since else None, _ts(e.last_seen))
                             for k, e in entries.items()])

    def save_state(self, key: str, enabled: bool | None, clients: int | None, now: datetime, error: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO wifi_state VALUES (?, ?, ?, ?, ?)",
                        (key, None if enabled is None else int(enabled), clients, _ts(now), error[:300]))

    def states(self) -> dict[str, tuple[bool | None, int | None, datetime, str]]:
        return {t: (_bool(e), c, _dt(w), err)
                for t, e, c, w, err in self.db.execute("SELECT target, enabled, clients, time, error FROM wifi_state")}
