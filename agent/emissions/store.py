"""Emissions tables in the agent's SQLite store: the live-factor cache, provider status, and the
emissions of every energy interval (with the factor provenance), for reports and recomputation.

Works on the Store's connection; tables are created on first use. Writes happen inside the
Store's transaction (``writes`` of a PollRecord) so energy and its emissions commit together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.emissions.compute import Emission
from agent.emissions.factors import GridFactor, Signal
from agent.store.sqlite import create_once, ensure_tables

WITHOUT_FACTOR = "energy_intervals_without_factor"      # store counter: intervals left without emissions

SCHEMA = """
CREATE TABLE IF NOT EXISTS grid_factor_cache (
    provider TEXT NOT NULL, zone TEXT NOT NULL, signal TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    granularity_rank INTEGER NOT NULL, g_per_kwh REAL NOT NULL, factor TEXT NOT NULL, fetched REAL NOT NULL,
    PRIMARY KEY (provider, zone, signal, start)
);
CREATE INDEX IF NOT EXISTS grid_factor_cache_by_zone ON grid_factor_cache (zone, signal, start);
CREATE TABLE IF NOT EXISTS factor_providers (
    provider TEXT NOT NULL, zone TEXT NOT NULL, last_attempt REAL, last_ok REAL,
    last_error TEXT NOT NULL DEFAULT '', PRIMARY KEY (provider, zone)
);
CREATE TABLE IF NOT EXISTS emission_intervals (
    device TEXT NOT NULL, site TEXT NOT NULL, zone TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    scope2_method TEXT NOT NULL, energy_method TEXT NOT NULL, wh REAL NOT NULL, gco2e REAL NOT NULL,
    overhead_gco2e REAL NOT NULL, factor_g_per_kwh REAL NOT NULL, factor_source TEXT NOT NULL,
    provenance TEXT NOT NULL,
    PRIMARY KEY (device, start, scope2_method)
);
CREATE TABLE IF NOT EXISTS device_models (
    device TEXT PRIMARY KEY, site TEXT NOT NULL, role TEXT NOT NULL, model TEXT NOT NULL, seen REAL NOT NULL
);
"""


# Emissions per device, Scope 2 method and energy method over every interval ever stored (the
# Prometheus counters); kept by a trigger in the transaction that stores the interval.
TOTALS = """
CREATE TABLE emission_totals (device TEXT NOT NULL, scope2_method TEXT NOT NULL, energy_method TEXT NOT NULL,
                              gco2e REAL NOT NULL, PRIMARY KEY (device, scope2_method, energy_method));
INSERT INTO emission_totals SELECT device, scope2_method, energy_method, SUM(gco2e) FROM emission_intervals
  GROUP BY device, scope2_method, energy_method;
CREATE TRIGGER emission_totals_add AFTER INSERT ON emission_intervals BEGIN
  INSERT INTO emission_totals VALUES (NEW.device, NEW.scope2_method, NEW.energy_method, NEW.gco2e)
    ON CONFLICT (device, scope2_method, energy_method) DO UPDATE SET gco2e = gco2e + excluded.gco2e;
END;
"""


def ensure_schema(db: sqlite3.Connection) -> None:
    """Never inside a transaction: executescript commits first."""
    ensure_tables(db, SCHEMA)
    create_once(db, "emission_totals", TOTALS)


def emission_totals(db: sqlite3.Connection) -> dict[tuple[str, str, str], float]:
    """(device, scope2 method, energy method) -> gCO2e of every interval stored so far (never decreases)."""
    return {(d, s, m): g for d, s, m, g in db.execute(
        "SELECT device, scope2_method, energy_method, gco2e FROM emission_totals")}


@dataclass(frozen=True, slots=True)
class StoredEmission:
    device: str
    site: str
    zone: str
    start_s: float
    end_s: float
    scope2_method: str
    energy_method: str
    wh: float
    gco2e: float
    overhead_gco2e: float
    factor_g_per_kwh: float
    factor_source: str
    provenance: list[dict[str, Any]]


def provenance(emission: Emission) -> list[dict[str, Any]]:
    return [{"role": u.role, "wh": u.wh, "gco2e": u.gco2e, "factor": u.factor.to_json()} for u in emission.uses]


@dataclass(frozen=True, slots=True)
class EmissionRow:
    device: str
    site: str
    zone: str
    energy_method: str
    emission: Emission


def insert_emissions(db: sqlite3.Connection, rows: Iterable[EmissionRow]) -> None:
    """Inside the Store's transaction: the tables exist already (ensure_schema would commit it)."""
    db.executemany(
        "INSERT OR REPLACE INTO emission_intervals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.device, r.site, r.zone, e.start_s, e.end_s, str(e.method), r.energy_method, e.wh, e.gco2e,
          e.overhead_gco2e, e.factor_g_per_kwh, e.main.factor.source, json.dumps(provenance(e)))
         for r in rows for e in (r.emission,)])


def emissions_between(db: sqlite3.Connection, start_s: float, end_s: float) -> list[StoredEmission]:
    ensure_schema(db)
    rows = db.execute("""SELECT device, site, zone, start, end, scope2_method, energy_method, wh, gco2e,
                                overhead_gco2e, factor_g_per_kwh, factor_source, provenance
                         FROM emission_intervals WHERE start >= ? AND start < ? ORDER BY start, device""",
                      (start_s, end_s)).fetchall()
    return [StoredEmission(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                           row[10], row[11], json.loads(row[12])) for row in rows]


class FactorCache:
    """Live factors keyed by the period they describe (never by fetch time)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        ensure_schema(db)

    def put(self, provider: str, factors: Iterable[GridFactor], fetched_s: float) -> int:
        rows = [(provider, f.zone, str(f.signal), f.start_s, f.end_s, f.granularity.rank, f.g_per_kwh,
                 json.dumps(f.to_json()), fetched_s) for f in factors]
        self.db.executemany("INSERT OR REPLACE INTO grid_factor_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def find(self, zone: str, time_s: float, signal: Signal = Signal.AVERAGE) -> GridFactor | None:
        """The finest cached factor covering ``time_s``; an actual value wins over a forecast."""
        rows = self.db.execute(
            """SELECT factor FROM grid_factor_cache WHERE zone = ? AND signal = ? AND start <= ? AND end > ?
               ORDER BY granularity_rank, fetched DESC""", (zone, str(signal), time_s, time_s)).fetchall()
        factors = [GridFactor.from_json(json.loads(row[0])) for row in rows]
        if not factors:
            return None
        best_rank = factors[0].granularity.rank
        finest = [f for f in factors if f.granularity.rank == best_rank]
        return next((f for f in finest if not f.forecast), finest[0])

    def note_attempt(self, provider: str, zone: str, time_s: float, error: str = "") -> None:
        self.db.execute(
            """INSERT INTO factor_providers (provider, zone, last_attempt, last_ok, last_error) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(provider, zone) DO UPDATE SET last_attempt = excluded.last_attempt,
                 last_ok = COALESCE(excluded.last_ok, factor_providers.last_ok), last_error = excluded.last_error""",
            (provider, zone, time_s, None if error else time_s, error[:300]))

    def last_error(self, provider: str, zone: str) -> str:
        row = self.db.execute("SELECT last_error FROM factor_providers WHERE provider = ? AND zone = ?",
                              (provider, zone)).fetchone()
        return str(row[0]) if row else ""

    def statuses(self) -> list[tuple[str, str, float | None, float | None, str]]:
        return list(self.db.execute(
            "SELECT provider, zone, last_attempt, last_ok, last_error FROM factor_providers ORDER BY provider, zone"))


def note_model(db: sqlite3.Connection, *, device: str, site: str, role: str, model: str, seen_s: float) -> None:
    """What the device is (for embodied emissions and refresh plans in reports); inside the transaction."""
    db.execute("INSERT OR REPLACE INTO device_models VALUES (?, ?, ?, ?, ?)", (device, site, role, model, seen_s))


def device_models(db: sqlite3.Connection) -> dict[str, tuple[str, str, str]]:
    """device -> (site, role, model)."""
    ensure_schema(db)
    return {d: (s, r, m) for d, s, r, m in db.execute("SELECT device, site, role, model FROM device_models")}
