"""Only corruption is corruption: a locked store is waited for, then reported with its holder's pid, never
moved; read-only commands never create, move or migrate a store; an unwritable state directory is one
clear error; a second `netwatt run` on one state directory refuses to start and names the first one."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent.store.sqlite
from agent.cli import main
from agent.lab import SnmpsimProcess, lab_config_text
from agent.store.sqlite import Store, StoreError
from tests.agent_process import netwatt, start_agent, wait_for

HOLD = """import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO counters VALUES ('held', 1)")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def config(tmp_path: Path, state: Path) -> Path:
    path = tmp_path / "netwatt.yaml"
    path.write_text(f"version: 1\nagent: {{state_directory: {state}}}\n")
    return path


def seeded(state: Path) -> int:
    store = Store(state)
    store._db.execute("INSERT INTO counters VALUES ('seed', 7)")
    store.close()
    return (state / "netwatt.db").stat().st_ino


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store's exclusive lock for 60 s."""
    state = tmp_path / "state"
    seeded(state)
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(state / "netwatt.db"), "60"],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n"
    yield child
    child.kill()
    child.wait()


def test_a_locked_store_is_waited_for_then_reported_never_moved(
        tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    inode = (state / "netwatt.db").stat().st_ino
    monkeypatch.setattr(agent.store.sqlite, "BUSY_TIMEOUT_S", 1.0)
    started = time.monotonic()
    assert main(["status", "-c", str(config(tmp_path, state))]) == 1
    assert time.monotonic() - started >= 1.0                        # it waited
    err = capsys.readouterr().err
    assert f"is locked by pid {holder.pid}" in err
    assert "Traceback" not in err
    with pytest.raises(StoreError, match=f"locked by pid {holder.pid}"):
        Store(state, busy_timeout_s=0.5)                             # a writer (the agent, wifi off) as well
    assert sorted(p.name for p in state.iterdir() if "corrupt" in p.name) == []
    assert (state / "netwatt.db").stat().st_ino == inode


def test_a_lock_released_within_the_busy_timeout_is_just_waited_for(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inode = seeded(state)
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(state / "netwatt.db"), "3"],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n"
    try:
        result = netwatt("status", "-c", str(config(tmp_path, state)), "--format", "json")
        assert result.returncode == 0, result.stderr
    finally:
        child.wait(timeout=30)
    assert (state / "netwatt.db").stat().st_ino == inode
    store = Store(state)
    try:
        assert dict(store._db.execute("SELECT name, value FROM counters")).get("seed") == 7
    finally:
        store.close()


def test_read_only_commands_never_create_move_or_migrate(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = config(tmp_path, state)
    for command in (["status"], ["report", "--from", "2026-01-01", "--to", "2026-02-01"]):
        result = netwatt(*command, "-c", str(path))
        assert result.returncode == 0, result.stderr
    assert not state.exists()                                           # nothing created
    state.mkdir()
    (state / "netwatt.db").write_bytes(b"not a database at all" * 50)
    result = netwatt("status", "-c", str(path))
    assert result.returncode == 1
    assert "is damaged" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in state.iterdir()) == ["netwatt.db"]    # not moved by a look
    (state / "netwatt.db").unlink()
    db = sqlite3.connect(state / "netwatt.db")
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")   # an older netwatt's
    db.commit()
    db.close()
    before = (state / "netwatt.db").read_bytes()
    result = netwatt("status", "-c", str(path))
    assert result.returncode == 1
    assert "store tables at version 0 (from before versioned tables)" in result.stderr
    assert "never migrates" in result.stderr
    assert (state / "netwatt.db").read_bytes() == before                # not migrated


def test_an_unwritable_state_directory_is_one_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "ro"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(state)], check=True)
    try:
        result = netwatt("run", "--once", "-c", str(config(tmp_path, state / "sub")))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert str(state / "sub") in result.stderr
        assert "Read-only file system" in result.stderr
        result = netwatt("status", "-c", str(config(tmp_path, state)))     # a look at nothing is fine
        assert result.returncode == 0, result.stderr
    finally:
        subprocess.run(["umount", str(state)], check=True)


def test_a_second_agent_on_one_state_directory_refuses_and_names_the_first(lab: SnmpsimProcess,
                                                                          tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = tmp_path / "lab.yaml"
    path.write_text(lab_config_text(lab, state_directory=state, interval_s=5))
    first = start_agent(path, tmp_path / "first.log")
    try:
        wait_for(lambda: (state / "agent.lock").exists() and (state / "agent.lock").read_text().strip().isdigit())
        second = netwatt("run", "-c", str(path), timeout=60)
        assert second.returncode == 1
        assert f"another netwatt agent (pid {first.pid}) already runs on the state directory {state}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)
    again = netwatt("run", "--once", "-c", str(path), timeout=120)     # the first one gone: free again
    assert "already runs" not in again.stderr


def test_wifi_status_and_plan_never_create_a_store(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "examples" / "velodrome.yaml"
    state = tmp_path / "state"
    path = tmp_path / "velodrome.yaml"
    path.write_text(example.read_text().replace("127.0.0.1:1161", "127.0.0.1:9").replace("/var/lib/netwatt",
                                                                                         str(state)))
    env = {"NETWATT_WLC_COMMUNITY": "x", "NETWATT_WIFI_TOKEN": "t0ken-of-sixteen-chars"}
    for action in ("status", "plan", "report"):
        result = netwatt("wifi", "-c", str(path), action, env=env)
        assert result.returncode == 0, result.stderr
    assert not state.exists()
