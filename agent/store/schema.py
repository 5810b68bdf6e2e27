"""Versioned table sets: each feature declares its tables and their migrations in one place; the store
runs every pending migration when it opens for writing, all in one transaction, and records the versions.

A table set's version is the number of its migrations: ``migrations[n]`` takes its tables from version
``n`` to ``n + 1``. A migration is only ever appended, never edited (a file may be at any earlier version).
The first migration of the sets that existed before versioning is written to also accept a file that
already holds those tables (``IF NOT EXISTS``, totals kept, never recomputed).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

# where the versions live: one row per table set (the feature's name)
VERSIONS_TABLE = "schema_versions"


@dataclass(frozen=True, slots=True)
class TableSet:
    name: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)

    def tables(self) -> dict[str, str]:
        """Table -> its ``CREATE TABLE`` at the current version (found by running the migrations on an
        empty database)."""
        scratch = sqlite3.connect(":memory:")
        try:
            for migration in self.migrations:
                for statement in statements(migration):
                    scratch.execute(statement)
            return {str(name): str(sql) for name, sql in scratch.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        finally:
            scratch.close()


def statements(script: str) -> list[str]:
    """The script's statements one by one (a trigger's body holds semicolons of its own); each runs with
    ``execute``, never ``executescript`` (which commits whatever transaction is open)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip() and not all(line.strip().startswith("--") or not line.strip()
                                   for line in pending.splitlines()):
        raise ValueError(f"a migration ends with an unfinished statement: {pending.strip()[:80]!r}")
    return found


def recorded_versions(db: sqlite3.Connection) -> dict[str, int]:
    """Table set -> the version the file holds (none recorded: a file from before versioning, or new)."""
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (VERSIONS_TABLE,)).fetchone()
    if exists is None:
        return {}
    return {name: int(version) for name, version in db.execute(f"SELECT name, version FROM {VERSIONS_TABLE}")}


def pending(db: sqlite3.Connection, sets: Sequence[TableSet]) -> list[TableSet]:
    versions = recorded_versions(db)
    return [s for s in sets if versions.get(s.name, 0) != s.version]


def migrate(db: sqlite3.Connection, sets: Sequence[TableSet]) -> None:
    """Every pending migration of ``sets`` in one write transaction (BEGIN IMMEDIATE): another process
    opening the same file at once waits, then finds nothing left to do (the versions are read again
    inside the transaction). A failure leaves the file as it was."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        versions = recorded_versions(db)
        for table_set in sets:
            if versions.get(table_set.name, 0) > table_set.version:
                raise sqlite3.DatabaseError(f"{table_set.name} tables are at version {versions[table_set.name]}, "
                                            f"newer than this netwatt's {table_set.version}")
            for migration in table_set.migrations[versions.get(table_set.name, 0):]:
                for statement in statements(migration):
                    db.execute(statement)
            db.execute(f"INSERT INTO {VERSIONS_TABLE} VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                       "version = excluded.version", (table_set.name, table_set.version))
        db.execute("COMMIT")
    except BaseException:
        rollback_quietly(db)
        raise


def rollback_quietly(db: sqlite3.Connection) -> None:
    """End a failed transaction without masking its cause: SQLite has already rolled it back itself after
    some errors (SQLITE_FULL, SQLITE_IOERR), and a ROLLBACK then fails with 'no transaction is active'."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
