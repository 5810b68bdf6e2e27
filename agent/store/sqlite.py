"""The embedded store: SQLite (WAL) in the state directory, and the durable spool for outputs.

Every point is committed here first, together with the energy state that produced it, in one
transaction: a crash (even SIGKILL) loses neither points nor energy and never counts energy twice.
Each output has a cursor; a point leaves an output's spool only when that output acknowledged it.
The store is bounded (points and age): the oldest points are dropped, counted, and reported.
Only a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB, a failed integrity check) is moved aside, with a log
line, and a new one started. A store another process holds is waited for (busy timeout), then reported
with the holder's pid; it is never moved. Read-only opens (``status``, ``report``, ``wifi status|plan``)
never create, move or migrate a store.

The store is the only owner of the file's schema: its own tables (``CORE``) and each feature's are
``TableSet`` declarations (agent/store/schema.py), migrated together when the store opens for writing.
A feature's store module reaches its own tables through ``connection_for`` with the table set it declared.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.clock import Clock, wall_clock
from agent.energy import EnergyInterval, EnergyState
from agent.errors import NetwattError
from agent.points.lineprotocol import Point
from agent.power.readings import Method
from agent.store.schema import TableSet, migrate, pending, recorded_versions, rollback_quietly

log = logging.getLogger(__name__)
DB_NAME = "netwatt.db"

# Version 1: the tables as netwatt made them before versioning (a file of that time already holds
# them all: IF NOT EXISTS, and its energy totals are kept as they are).
_CORE_1 = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    measurement TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS points_by_time ON points (time);
CREATE TABLE IF NOT EXISTS cursors (
    output TEXT PRIMARY KEY,
    acked_id INTEGER NOT NULL,
    written INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    set_aside INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    last_success REAL
);
CREATE TABLE IF NOT EXISTS set_aside (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    output TEXT NOT NULL,
    created REAL NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    status INTEGER,
    reason TEXT NOT NULL,
    lines TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS energy_state (device TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS energy_intervals (
    device TEXT NOT NULL, site TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    wh REAL NOT NULL, seconds REAL NOT NULL, method TEXT NOT NULL,
    PRIMARY KEY (device, start)
);
CREATE TABLE IF NOT EXISTS device_status (
    device TEXT PRIMARY KEY,
    last_poll REAL, last_ok REAL, power_w REAL, method TEXT, basis TEXT,
    error_streak INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
    polls INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Energy per device and method summed over every interval ever closed: the Prometheus energy counter.
-- A trigger keeps it in the transaction that adds the interval; a store from before it is summed once
-- (OR IGNORE: totals a file holds already stay as they are).
CREATE TABLE IF NOT EXISTS energy_totals (device TEXT NOT NULL, method TEXT NOT NULL, wh REAL NOT NULL,
                                          PRIMARY KEY (device, method));
INSERT OR IGNORE INTO energy_totals SELECT device, method, SUM(wh) FROM energy_intervals GROUP BY device, method;
CREATE TRIGGER IF NOT EXISTS energy_totals_add AFTER INSERT ON energy_intervals BEGIN
  INSERT INTO energy_totals VALUES (NEW.device, NEW.method, NEW.wh)
    ON CONFLICT (device, method) DO UPDATE SET wh = wh + excluded.wh;
END;
"""

CORE = TableSet("store", (_CORE_1,))


# a later stage's own rows (emissions), written in the same transaction as the energy behind them
Write = Callable[[sqlite3.Connection], None]


class StoreError(NetwattError):
    pass


class _Damaged(sqlite3.DatabaseError):
    """The integrity check found damage."""


BUSY_TIMEOUT_S = 15.0
_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Only real damage: a busy, locked, read-only or unopenable file is not corrupt."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, _Damaged) or (code is not None and code & 0xFF in _CORRUPT_CODES)


def lock_holders(path: Path) -> list[int]:
    """Pids holding POSIX locks on the database or its WAL index (Linux /proc/locks), where it can tell."""
    inodes = set()
    for suffix in ("", "-shm", "-wal"):
        try:
            inodes.add(Path(f"{path}{suffix}").stat().st_ino)
        except OSError:
            continue
    pids = set()
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if (len(fields) >= 6 and fields[5].count(":") == 2 and fields[4].isdigit()
                and int(fields[5].rsplit(":", 1)[1]) in inodes and int(fields[4]) != os.getpid()):
            pids.add(int(fields[4]))
    return sorted(pids)


def _holder_text(path: Path) -> str:
    pids = lock_holders(path)
    if not pids:
        return "another process"
    names = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = ""
        names.append(f"pid {pid}" + (f" ({command.strip()[:80]})" if command.strip() else ""))
    return ", ".join(names)


@dataclass(frozen=True, slots=True)
class StoredPoint:
    time: int
    measurement: str
    device: str
    line: str


def stored(points: Iterable[Point], device: str = "") -> list[StoredPoint]:
    """Points as the spool keeps them (their line protocol, with what bounds and views select by)."""
    return [StoredPoint(int(p.time.timestamp()), p.measurement, device, p.line()) for p in points]


@dataclass(frozen=True, slots=True)
class Batch:
    output: str
    first_id: int
    last_id: int
    lines: list[str]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device: str
    last_poll: float | None
    last_ok: float | None
    power_w: float | None
    method: str | None
    basis: str | None
    error_streak: int
    last_error: str
    polls: int
    skipped: int


@dataclass(frozen=True, slots=True)
class OutputStatus:
    output: str
    pending: int
    oldest_pending: int | None     # the time (epoch s) of the oldest unsent point
    written: int
    dropped: int
    set_aside: int
    last_error: str


@dataclass(frozen=True, slots=True)
class StoredInterval:
    device: str
    site: str
    interval: EnergyInterval


@dataclass(frozen=True, slots=True)
class PollRecord:
    """Everything one poll changes, committed together."""

    device: str
    time_s: float
    points: Sequence[StoredPoint]
    energy: EnergyState | None
    power_w: float | None
    method: str
    basis: str | None
    error: str
    site: str = ""
    intervals: Sequence[EnergyInterval] = ()
    writes: Sequence[Write] = ()


def bump_counter(db: sqlite3.Connection, *, name: str, by: int) -> None:
    """Add to a named counter (``status`` shows them); usable as a Write inside the store's transaction."""
    if by:
        db.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                   (name, by, by))


class Store:
    def __init__(self, state_directory: Path, *, max_points: int = 5_000_000, max_age_s: float = 35 * 86400,
                 buffer_limit: int = 1_000_000, clock: Clock = wall_clock, read_only: bool = False,
                 busy_timeout_s: float | None = None, tables: Sequence[TableSet] = ()) -> None:
        """``tables``: the features' table sets (their migrations run at a writable open, with the store's)."""
        self.path = Path(state_directory) / DB_NAME
        self.clock = clock          # "now" for the age bound and the spool's timestamps (never the OS clock)
        self.max_points = max_points
        self.max_age_s = max_age_s
        self.buffer_limit = buffer_limit
        self.read_only = read_only
        self._acks_in_memory: dict[str, tuple[int, int]] = {}    # output -> (acked id, points) not yet written
        self.busy_timeout_s = BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        self.table_sets = (CORE, *tables)
        self.missing = read_only and not self.path.exists()
        if self.missing:       # nothing written yet: an empty store in memory, nothing created on disk
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            migrate(self._db, self.table_sets)
            return
        if not read_only:
            self._writable_directory()
        self._db = self._open()

    # -- opening, and surviving a damaged file ------------------------------------------------

    def _writable_directory(self) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the state directory {directory}: {exc.strerror}") from None
        if not os.access(directory, os.W_OK | os.X_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise StoreError(f"the state directory {directory} is not writable by this user (uid {os.getuid()}); "
                             "fix its owner or mode, or set agent.state_directory")

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.Error as exc:
            if not is_corrupt(exc):
                raise self._not_opened(exc) from None
            if self.read_only:
                raise StoreError(f"store {self.path} is damaged ({exc}); `netwatt run` moves it aside and starts "
                                 "a new one") from None
            aside = self.path.with_name(f"{self.path.name}.corrupt-{self.clock():%Y%m%dT%H%M%S}")
            try:
                for suffix in ("", "-wal", "-shm"):
                    source = Path(f"{self.path}{suffix}")
                    if source.exists():
                        source.rename(Path(f"{aside}{suffix}"))
            except OSError as move:
                raise StoreError(f"store {self.path} is damaged ({exc}) and could not be moved aside: "
                                 f"{move.strerror}") from None
            log.error("store %s is damaged (%s); moved it to %s and started a new one", self.path, exc, aside)
            try:
                return self._connect()
            except sqlite3.Error as again:
                raise self._not_opened(again) from None

    def _not_opened(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StoreError(f"store {self.path} is locked by {_holder_text(self.path)} (waited "
                              f"{self.busy_timeout_s:g}s); it is left as it is, try again")
        return StoreError(f"cannot open store {self.path}: {exc}")

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                 check_same_thread=False, timeout=self.busy_timeout_s)
        else:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                 timeout=self.busy_timeout_s)
        try:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _Damaged("integrity check failed")
            self._refuse_newer(db)
            if self.read_only:
                self._read_what_is_there(db)
                return db
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a killed process; only an OS
            # crash may lose the last commits (FULL would fsync every poll round).
            db.execute("PRAGMA synchronous=NORMAL")
            if pending(db, self.table_sets):
                migrate(db, self.table_sets)
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_newer(self, db: sqlite3.Connection) -> None:
        versions = recorded_versions(db)
        for table_set in self.table_sets:
            if versions.get(table_set.name, 0) > table_set.version:
                raise StoreError(f"store {self.path} holds the {table_set.name} tables at version "
                                 f"{versions[table_set.name]}, written by a newer netwatt; this one reads "
                                 f"version {table_set.version}")

    def _read_what_is_there(self, db: sqlite3.Connection) -> None:
        """A read-only open migrates nothing. A feature that never wrote to this file reads as empty
        (its tables made empty in memory, TEMP); tables of an older version are refused, clearly."""
        versions = recorded_versions(db)
        present = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table_set in pending(db, self.table_sets):
            tables = table_set.tables()
            if versions.get(table_set.name, 0) == 0 and not present & tables.keys():
                for create in tables.values():
                    db.execute(create.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
                continue
            held = versions.get(table_set.name, 0)
            raise StoreError(f"store {self.path} holds the {table_set.name} tables at version {held}"
                             f"{' (from before versioned tables)' if held == 0 else ''}; this netwatt reads "
                             f"version {table_set.version}. A read-only command never migrates: the agent "
                             "(`netwatt run`) does when it opens the store")

    def connection_for(self, table_set: TableSet) -> sqlite3.Connection:
        """The connection for a feature's store module to reach its own tables (migrated at open, since the
        store was opened with ``table_set``). Nothing else gets the connection."""
        if table_set not in self.table_sets:
            raise StoreError(f"the store was opened without the {table_set.name} tables")
        return self._db

    @property
    def in_transaction(self) -> bool:
        """A write left open (never, between calls: every failure ends its transaction)."""
        return self._db.in_transaction

    def close(self) -> None:
        self._db.close()

    def _now(self) -> float:
        return self.clock().timestamp()

    def energy_totals(self) -> dict[str, dict[str, float]]:
        """device -> method -> Wh of every interval closed so far (never decreases)."""
        totals: dict[str, dict[str, float]] = {}
        for device, method, wh in self._db.execute("SELECT device, method, wh FROM energy_totals"):
            totals.setdefault(device, {})[method] = wh
        return totals

    # -- writing -------------------------------------------------------------------------------

    def commit(self, records: Iterable[PollRecord], extra_points: Sequence[StoredPoint] = ()) -> int:
        """One transaction for a batch of polls: points, energy state and device status."""
        count = 0
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                count += self._insert(record.points)
                if record.energy is not None:
                    db.execute("INSERT OR REPLACE INTO energy_state VALUES (?, ?)",
                               (record.device, json.dumps(record.energy.to_json())))
                db.executemany("INSERT OR REPLACE INTO energy_intervals VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(record.device, record.site, i.start_s, i.end_s, i.wh, i.seconds, str(i.method))
                                for i in record.intervals])
                for write in record.writes:
                    write(db)
                ok = not record.error
                db.execute(
                    """INSERT INTO device_status (device, last_poll, last_ok, power_w, method, basis,
                                                  error_streak, last_error, polls)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
                       ON CONFLICT(device) DO UPDATE SET
                         last_poll=excluded.last_poll,
                         last_ok=COALESCE(excluded.last_ok, device_status.last_ok),
                         power_w=excluded.power_w, method=excluded.method, basis=excluded.basis,
                         error_streak=CASE WHEN excluded.error_streak=0 THEN 0
                                           ELSE device_status.error_streak + 1 END,
                         last_error=excluded.last_error, polls=device_status.polls + 1""",
                    (record.device, record.time_s, record.time_s if ok else None, record.power_w,
                     record.method, record.basis, 0 if ok else 1, record.error),
                )
            count += self._insert(extra_points)
            self._bump(db, "points_stored", count)
            self._enforce_bounds(db)
            db.execute("COMMIT")
        except BaseException:
            rollback_quietly(db)
            raise
        return count

    def _insert(self, points: Sequence[StoredPoint]) -> int:
        self._db.executemany("INSERT INTO points (time, measurement, device, line) VALUES (?, ?, ?, ?)",
                            [(p.time, p.measurement, p.device, p.line) for p in points])
        return len(points)

    def count_skipped(self, device: str) -> None:
        self._db.execute("""INSERT INTO device_status (device, skipped) VALUES (?, 1)
                           ON CONFLICT(device) DO UPDATE SET skipped = device_status.skipped + 1""",
                        (device,))
        self._bump(self._db, "polls_skipped", 1)

    @staticmethod
    def _bump(db: sqlite3.Connection, name: str, by: int) -> None:
        bump_counter(db, name=name, by=by)

    def _enforce_bounds(self, db: sqlite3.Connection) -> None:
        """Drop the oldest points beyond the size and age bounds; count what outputs never got."""
        newest = db.execute("SELECT MAX(id) FROM points").fetchone()[0] or 0
        oldest_kept = newest - self.max_points + 1
        cutoff = self._now() - self.max_age_s
        by_age = db.execute("SELECT MAX(id) FROM points WHERE time < ?", (cutoff,)).fetchone()[0]
        if by_age is not None:
            oldest_kept = max(oldest_kept, by_age + 1)
        # an output that fell more than its buffer limit behind loses its oldest unsent points
        for output, acked in db.execute("SELECT output, acked_id FROM cursors").fetchall():
            self._drop_for_output(db, output, acked, max(oldest_kept - 1, newest - self.buffer_limit))
        deleted = db.execute("DELETE FROM points WHERE id < ?", (oldest_kept,)).rowcount
        if deleted > 0:
            self._bump(db, "points_expired", deleted)

    def _drop_for_output(self, db: sqlite3.Connection, output: str, acked: int, new_acked: int) -> None:
        if new_acked <= acked:
            return
        lost = db.execute("SELECT COUNT(*) FROM points WHERE id > ? AND id <= ?", (acked, new_acked)).fetchone()[0]
        db.execute("UPDATE cursors SET acked_id = ?, dropped = dropped + ? WHERE output = ?",
                   (new_acked, lost, output))
        if lost:
            self._bump(db, "points_dropped", lost)
            log.warning("output %s: spool full, dropped the %d oldest unsent points", output, lost)

    # -- the spool -----------------------------------------------------------------------------

    def register_output(self, output: str) -> None:
        """A new output starts from the points still held (nothing it never could have had)."""
        first = self._db.execute("SELECT MIN(id) FROM points").fetchone()[0]
        start = (first - 1) if first is not None else (
            self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='points'").fetchone() or (0,))[0]
        self._db.execute("INSERT OR IGNORE INTO cursors (output, acked_id) VALUES (?, ?)", (output, start))

    def next_batch(self, output: str, limit: int) -> Batch | None:
        acked = self._db.execute("SELECT acked_id FROM cursors WHERE output = ?", (output,)).fetchone()
        if acked is None:
            raise StoreError(f"output {output!r} is not registered")
        after = max(acked[0], self._acks_in_memory.get(output, (0, 0))[0])
        rows = self._db.execute("SELECT id, line FROM points WHERE id > ? ORDER BY id LIMIT ?",
                               (after, limit)).fetchall()
        if not rows:
            return None
        return Batch(output, rows[0][0], rows[-1][0], [line for _, line in rows])

    def ack(self, batch: Batch) -> None:
        """The output acknowledged the batch: it leaves that output's spool. If the store cannot be written
        (a full disk), the acknowledgement is kept in memory and written with the next one, so forwarding
        goes on past it meanwhile (a restart before then resends those points: harmless for InfluxDB)."""
        held_id, held_count = self._acks_in_memory.pop(batch.output, (0, 0))
        last_id, count = max(batch.last_id, held_id), len(batch.lines) + held_count
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("""UPDATE cursors SET acked_id = MAX(acked_id, ?), written = written + ?,
                          last_error = '', last_success = ? WHERE output = ?""",
                       (last_id, count, self._now(), batch.output))
            self._bump(db, "points_written", count)
            db.execute("COMMIT")
        except sqlite3.Error:
            rollback_quietly(db)
            self._acks_in_memory[batch.output] = (last_id, count)

    def set_aside(self, batch: Batch, *, status: int | None, reason: str) -> None:
        """The output rejected the batch itself (bad line): keep it for a human, move on."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("""INSERT INTO set_aside (output, created, first_id, last_id, status, reason, lines)
                               VALUES (?, ?, ?, ?, ?, ?, ?)""",
                            (batch.output, self._now(), batch.first_id, batch.last_id, status, reason,
                             "\n".join(batch.lines)))
            self._db.execute("""UPDATE cursors SET acked_id = MAX(acked_id, ?), set_aside = set_aside + ?,
                               last_error = ? WHERE output = ?""",
                            (batch.last_id, len(batch.lines), reason[:300], batch.output))
            self._bump(self._db, "points_set_aside", len(batch.lines))
            self._db.execute("COMMIT")
        except BaseException:
            rollback_quietly(self._db)       # a full disk: the INSERT's own error is the one raised
            raise

    def note_error(self, output: str, message: str) -> None:
        with contextlib.suppress(sqlite3.Error):     # best effort: the log says it too
            self._db.execute("UPDATE cursors SET last_error = ? WHERE output = ?", (message[:300], output))

    # -- reading -------------------------------------------------------------------------------

    def energy_states(self) -> dict[str, EnergyState]:
        return {device: EnergyState.from_json(json.loads(state))
                for device, state in self._db.execute("SELECT device, state FROM energy_state")}

    def energy_intervals(self, device: str | None = None) -> list[tuple[str, EnergyInterval]]:
        where, args = ("WHERE device = ?", (device,)) if device else ("", ())
        return [(i.device, i.interval) for i in self._intervals(where, args, "device, start")]

    def intervals_between(self, start_s: float, end_s: float) -> list[StoredInterval]:
        """The intervals that start in [start_s, end_s), by start (a report's period)."""
        return self._intervals("WHERE start >= ? AND start < ?", (start_s, end_s), "start")

    def _intervals(self, where: str, args: tuple[object, ...], order: str) -> list[StoredInterval]:
        rows = self._db.execute(f"SELECT device, site, start, end, wh, seconds, method FROM energy_intervals "
                               f"{where} ORDER BY {order}", args)
        return [StoredInterval(d, site, EnergyInterval(s, e, wh, secs, Method(m)))
                for d, site, s, e, wh, secs, m in rows]

    def device_statuses(self) -> list[DeviceStatus]:
        rows = self._db.execute("""SELECT device, last_poll, last_ok, power_w, method, basis, error_streak,
                                         last_error, polls, skipped FROM device_status ORDER BY device""")
        return [DeviceStatus(*row) for row in rows]

    def output_statuses(self) -> list[OutputStatus]:
        result = []
        for output, acked, written, dropped, aside, error in self._db.execute(
                "SELECT output, acked_id, written, dropped, set_aside, last_error FROM cursors ORDER BY output"
        ).fetchall():
            pending, oldest = self._db.execute("SELECT COUNT(*), MIN(time) FROM points WHERE id > ?",
                                              (acked,)).fetchone()
            result.append(OutputStatus(output, pending, oldest, written, dropped, aside, error))
        return result

    def counters(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, value FROM counters").fetchall())

    def points(self, measurement: str | None = None) -> list[StoredPoint]:
        query = "SELECT time, measurement, device, line FROM points"
        rows = (self._db.execute(query + " WHERE measurement = ? ORDER BY id", (measurement,))
                if measurement else self._db.execute(query + " ORDER BY id"))
        return [StoredPoint(*row) for row in rows]

    def point_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
