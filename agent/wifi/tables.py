"""The Wi-Fi tables in the agent's store, with their migrations: audit log, dead-man revert jobs, prior
admin states, on-demand requests, idle clocks and the last state seen."""

from __future__ import annotations

from agent.store.schema import TableSet

# Version 1: the tables as netwatt made them before versioning (IF NOT EXISTS: a file of that time may
# hold them already).
_V1 = """
CREATE TABLE IF NOT EXISTS wifi_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, target TEXT NOT NULL, controller TEXT NOT NULL,
    ap TEXT NOT NULL, radio TEXT NOT NULL, grp TEXT NOT NULL, action TEXT NOT NULL, who TEXT NOT NULL,
    reason TEXT NOT NULL, before INTEGER, after INTEGER, result TEXT NOT NULL, duration_s REAL NOT NULL,
    error TEXT NOT NULL DEFAULT '', power_before_w REAL, power_after_w REAL, power_method TEXT NOT NULL DEFAULT '',
    power_share REAL NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS wifi_actions_by_time ON wifi_actions (time);
CREATE TABLE IF NOT EXISTS wifi_deadman (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, controller TEXT NOT NULL,
    restore INTEGER NOT NULL, created REAL NOT NULL, due REAL NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS wifi_baseline (target TEXT PRIMARY KEY, enabled INTEGER NOT NULL, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wifi_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    until REAL NOT NULL, who TEXT NOT NULL, note TEXT NOT NULL DEFAULT ''
);
-- what each on-demand request changed, and the state before it: restored when the request ends
CREATE TABLE IF NOT EXISTS wifi_request_changes (
    request INTEGER NOT NULL, target TEXT NOT NULL, before INTEGER NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (request, target)
);
CREATE TABLE IF NOT EXISTS wifi_idle (target TEXT PRIMARY KEY, zero_since REAL, last_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wifi_state (
    target TEXT PRIMARY KEY, enabled INTEGER, clients INTEGER, time REAL NOT NULL, error TEXT NOT NULL DEFAULT ''
);
"""

WIFI_TABLES = TableSet("wifi", (_V1,))
