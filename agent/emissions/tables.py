"""The emissions tables in the agent's store, with their migrations: the live-factor cache, provider
status, the emissions of every energy interval (with the factor provenance) and what each device is."""

from __future__ import annotations

from agent.store.schema import TableSet

# Version 1: the tables as netwatt made them before versioning (a file of that time may hold them
# already: IF NOT EXISTS, and its totals are kept as they are, never recomputed).
_V1 = """
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
-- Emissions per device, Scope 2 method and energy method over every interval ever stored (the
-- Prometheus counters); kept by a trigger in the transaction that stores the interval.
CREATE TABLE IF NOT EXISTS emission_totals (
    device TEXT NOT NULL, scope2_method TEXT NOT NULL, energy_method TEXT NOT NULL, gco2e REAL NOT NULL,
    PRIMARY KEY (device, scope2_method, energy_method)
);
INSERT OR IGNORE INTO emission_totals SELECT device, scope2_method, energy_method, SUM(gco2e)
  FROM emission_intervals GROUP BY device, scope2_method, energy_method;
CREATE TRIGGER IF NOT EXISTS emission_totals_add AFTER INSERT ON emission_intervals BEGIN
  INSERT INTO emission_totals VALUES (NEW.device, NEW.scope2_method, NEW.energy_method, NEW.gco2e)
    ON CONFLICT (device, scope2_method, energy_method) DO UPDATE SET gco2e = gco2e + excluded.gco2e;
END;
"""

EMISSIONS_TABLES = TableSet("emissions", (_V1,))
