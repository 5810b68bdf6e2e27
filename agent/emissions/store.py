"""Emissions tables in the agent's SQLite store: the live-factor cache, provider status, and the
emissions of every energy interval (with the factor provenance), for reports and recomputation.

The tables and their migrations are declared in agent/emissions/tables.py (the store runs them at
open). Writes happen inside the Store's transaction (``writes`` of a PollRecord) so energy and its
emissions commit together; reads are typed accessors of ``EmissionsStore`` and ``FactorCache``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.emissions.compute import Emission
from agent.emissions.factors import GridFactor, Signal
from agent.emissions.tables import EMISSIONS_TABLES
from agent.store.sqlite import Store

WITHOUT_FACTOR = "energy_intervals_without_factor"      # store counter: intervals left without emissions

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
    """A write inside the Store's transaction (``PollRecord.writes``)."""
    db.executemany(
        "INSERT OR REPLACE INTO emission_intervals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.device, r.site, r.zone, e.start_s, e.end_s, str(e.method), r.energy_method, e.wh, e.gco2e,
          e.overhead_gco2e, e.factor_g_per_kwh, e.main.factor.source, json.dumps(provenance(e)))
         for r in rows for e in (r.emission,)])


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """What a device is (for embodied emissions and refresh plans in reports)."""

    site: str
    role: str
    model: str


class EmissionsStore:
    """Reads of the stored emissions."""

    def __init__(self, store: Store) -> None:
        self.db = store.connection_for(EMISSIONS_TABLES)

    def between(self, start_s: float, end_s: float) -> list[StoredEmission]:
        rows = self.db.execute("""SELECT device, site, zone, start, end, scope2_method, energy_method, wh, gco2e,
                                         overhead_gco2e, factor_g_per_kwh, factor_source, provenance
                                  FROM emission_intervals WHERE start >= ? AND start < ? ORDER BY start, device""",
                               (start_s, end_s)).fetchall()
        return [StoredEmission(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                               row[10], row[11], json.loads(row[12])) for row in rows]

    def totals(self) -> dict[tuple[str, str, str], float]:
        """(device, scope2 method, energy method) -> gCO2e of every interval stored so far (never decreases)."""
        return {(d, s, m): g for d, s, m, g in self.db.execute(
            "SELECT device, scope2_method, energy_method, gco2e FROM emission_totals")}

    def device_models(self) -> dict[str, DeviceModel]:
        return {d: DeviceModel(s, r, m)
                for d, s, r, m in self.db.execute("SELECT device, site, role, model FROM device_models")}


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    provider: str
    zone: str
    last_attempt: float | None
    last_ok: float | None
    last_error: str


class FactorCache:
    """Live factors keyed by the period they describe (never by fetch time)."""

    def __init__(self, store: Store) -> None:
        self.db = store.connection_for(EMISSIONS_TABLES)

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

    def statuses(self) -> list[ProviderStatus]:
        return [ProviderStatus(*row) for row in self.db.execute(
            "SELECT provider, zone, last_attempt, last_ok, last_error FROM factor_providers ORDER BY provider, zone")]


def note_model(db: sqlite3.Connection, *, device: str, site: str, role: str, model: str, seen_s: float) -> None:
    """What the device is (``DeviceModel``); a write inside the Store's transaction."""
    db.execute("INSERT OR REPLACE INTO device_models VALUES (?, ?, ?, ?, ?)", (device, site, role, model, seen_s))

