"""Every feature's tables in the agent's one SQLite file. The store opens with all of them, so every
pending migration runs at open, in one transaction (and never on a read-only open)."""

from __future__ import annotations

from agent.emissions.tables import EMISSIONS_TABLES
from agent.store.schema import TableSet
from agent.wifi.tables import WIFI_TABLES

FEATURE_TABLES: tuple[TableSet, ...] = (EMISSIONS_TABLES, WIFI_TABLES)
