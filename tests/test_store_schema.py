"""The store owns the schema: versioned table sets, migrated at open in one transaction, never on a
read-only open; a store written before versioning opens and migrates without losing a row."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import agent.store.sqlite as store_module
from agent.emissions.factors import Signal
from agent.emissions.store import EmissionsStore, FactorCache
from agent.energy import EnergyInterval
from agent.power.readings import Method
from agent.store import schema
from agent.store.schema import TableSet
from agent.store.sqlite import PollRecord, Store, StoreError
from agent.tables import FEATURE_TABLES
from agent.wifi.store import StoredAction, WifiStore

FIXTURE = Path(__file__).parent / "fixtures" / "store-before-table-sets.sql"
T = 1_790_000_000          # the fixture's time


def clock() -> datetime:
    return datetime.fromtimestamp(T + 4000, UTC)


def before_table_sets(state: Path) -> Path:
    """A store file as netwatt wrote it before table sets (made by that code, dumped as SQL)."""
    state.mkdir()
    path = state / "netwatt.db"
    db = sqlite3.connect(path)
    db.executescript(FIXTURE.read_text())
    db.close()
    return path


def tables_of(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT name, sql FROM sqlite_master"))
    finally:
        db.close()


def test_a_store_from_before_table_sets_migrates_without_losing_a_row(tmp_path: Path) -> None:
    path = before_table_sets(tmp_path / "state")
    schema_before = tables_of(path)
    store = Store(tmp_path / "state", clock=clock, tables=FEATURE_TABLES)
    versions = dict(store._db.execute("SELECT name, version FROM schema_versions"))
    assert versions == {"store": 1, "emissions": 1, "wifi": 1}
    assert {k: v for k, v in tables_of(path).items() if "schema_versions" not in k} == schema_before   # nothing redone
    # the spool: three points, the output acknowledged two, the third is still owed to it
    assert [p.line.split()[1] for p in store.points()] == ["watts=1.0", "watts=2.0", "watts=3.0"]
    batch = store.next_batch("influx", 10)
    assert batch is not None
    assert batch.lines == ["device_power,device=sw1 watts=3.0 1790002700"]
    assert store.counters() == {"points_stored": 3, "points_written": 2}
    # energy and its totals, kept (never recomputed), and the trigger still adds each new interval once
    assert store.energy_states()["sw1"].last is not None
    assert store.energy_totals() == {"sw1": {"measured": 36.0}}
    emissions = EmissionsStore(store)
    assert emissions.totals() == {("sw1", "location", "measured"): 1.75}    # not the intervals' sum, 1.15
    assert [round(e.gco2e, 3) for e in emissions.between(0, 2e9)] == [0.55, 0.6]
    assert emissions.device_models()["sw1"].model == "C9300-48P"
    factor = FactorCache(store).find("FR", T, Signal.AVERAGE)
    assert factor is not None
    assert factor.g_per_kwh == 50.0
    wifi = WifiStore(store)
    [action] = wifi.actions()
    assert action == StoredAction(1, datetime.fromtimestamp(T, UTC), "wlc/ap1", "wlc", "ap1", "ap", "bowl",
                                  "disable", "policy", "night", True, False, "confirmed", 1.5, "", 12.0, 4.0,
                                  "measured", 1.0)
    assert [d.target for d in wifi.armed_deadmen()] == ["wlc/ap1"]
    assert [r.group for r in wifi.requests(datetime.fromtimestamp(T, UTC))] == ["bowl"]
    store.commit([PollRecord(device="sw1", time_s=T + 3600, points=[], energy=None, power_w=44.0,
                             method="measured", basis=None, error="", site="paris",
                             intervals=[EnergyInterval(T + 2700, T + 3600, 14.0, 900, Method.MEASURED)])])
    assert store.energy_totals() == {"sw1": {"measured": 50.0}}
    store.close()
    # migrated once: a read-only look now reads it, and another open finds nothing to do
    looking = Store(tmp_path / "state", read_only=True, tables=FEATURE_TABLES)
    assert len(WifiStore(looking).actions()) == 1
    looking.close()


def test_a_read_only_look_never_migrates_a_store_from_before_table_sets(tmp_path: Path) -> None:
    path = before_table_sets(tmp_path / "state")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"holds the store tables at version 0 \(from before versioned tables\); "
                                         r"this netwatt reads version 1\. A read-only command never migrates"):
        Store(tmp_path / "state", read_only=True, tables=FEATURE_TABLES)
    assert path.read_bytes() == before


def test_a_feature_that_never_wrote_reads_as_empty_on_a_read_only_look(tmp_path: Path) -> None:
    Store(tmp_path).close()                                  # the store's own tables, no feature's
    path = tmp_path / "netwatt.db"
    looking = Store(tmp_path, read_only=True, tables=FEATURE_TABLES)
    assert WifiStore(looking).actions() == []
    assert EmissionsStore(looking).totals() == {}
    looking.close()
    assert not any(name.startswith("wifi_") for name in tables_of(path))      # nothing created in the file


def test_a_store_written_by_a_newer_netwatt_is_refused(tmp_path: Path) -> None:
    Store(tmp_path, tables=FEATURE_TABLES).close()
    db = sqlite3.connect(tmp_path / "netwatt.db")
    db.execute("UPDATE schema_versions SET version = 2 WHERE name = 'wifi'")
    db.commit()
    db.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="wifi tables at version 2, written by a newer netwatt"):
            Store(tmp_path, read_only=read_only, tables=FEATURE_TABLES)


def test_every_migration_runs_in_one_transaction(tmp_path: Path) -> None:
    """A migration that fails leaves the file as it was: not even the store's own tables are made."""
    broken = TableSet("broken", ("CREATE TABLE half (x INTEGER);\nINSERT INTO missing VALUES (1);\n",))
    with pytest.raises(StoreError, match="no such table: missing"):
        Store(tmp_path, tables=(broken,))
    assert tables_of(tmp_path / "netwatt.db") == {}


def test_later_migrations_run_on_a_store_at_an_earlier_version(tmp_path: Path) -> None:
    first = TableSet("notes", ("CREATE TABLE notes (text TEXT NOT NULL);\nINSERT INTO notes VALUES ('kept');\n",))
    Store(tmp_path, tables=(first,)).close()
    second = TableSet("notes", (*first.migrations, "ALTER TABLE notes ADD COLUMN seen REAL;\n"))
    store = Store(tmp_path, tables=(second,))
    assert store._db.execute("SELECT text, seen FROM notes").fetchall() == [("kept", None)]
    assert dict(store._db.execute("SELECT name, version FROM schema_versions"))["notes"] == 2


def test_two_openers_at_once_migrate_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The opener that loses the race saw pending migrations, then finds them done inside its transaction."""
    once = TableSet("once", ("CREATE TABLE once (x INTEGER);\nINSERT INTO once VALUES (1);\n",))
    real = schema.pending
    raced: list[bool] = []

    def racing(db: sqlite3.Connection, sets: tuple[TableSet, ...]) -> list[TableSet]:
        found = real(db, sets)
        if not raced:                  # the other process migrates right after our look
            raced.append(True)
            Store(tmp_path, tables=(once,)).close()
        return found

    monkeypatch.setattr(store_module, "pending", racing)
    store = Store(tmp_path, tables=(once,))
    assert raced
    assert store._db.execute("SELECT x FROM once").fetchall() == [(1,)]     # made once, seeded once


def test_a_feature_reaches_only_tables_the_store_was_opened_with(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(StoreError, match="opened without the wifi tables"):
        WifiStore(store)
