"""agent/sdnotify.py against real AF_UNIX datagram sockets (filesystem path and abstract namespace)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.sdnotify import Notifier
from tests.notify_socket import NotifySocket


def test_ready_status_watchdog_to_a_path_socket(tmp_path: Path) -> None:
    with NotifySocket(tmp_path / "notify") as systemd:
        notifier = Notifier.from_environ({"NOTIFY_SOCKET": systemd.address})
        assert notifier.enabled
        assert notifier.ready("13 devices")
        assert notifier.watchdog()
        assert notifier.stopping()
        systemd.wait_for("STOPPING")
    assert systemd.messages == [{"READY": "1", "STATUS": "13 devices", "MAINPID": str(os.getpid())},
                                {"WATCHDOG": "1"}, {"STOPPING": "1", "STATUS": "stopping"}]


def test_abstract_namespace_socket() -> None:
    name = f"netwatt-test-{os.getpid()}"
    with NotifySocket(abstract_name=name) as systemd:
        notifier = Notifier.from_environ({"NOTIFY_SOCKET": "@" + name})
        assert notifier.reloading(123456)
        assert notifier.notify(ready=1, status="reloaded")
        systemd.wait_for("READY")
    assert systemd.messages == [{"RELOADING": "1", "MONOTONIC_USEC": "123456"}, {"READY": "1", "STATUS": "reloaded"}]


def test_outside_systemd_everything_is_a_no_op() -> None:
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert notifier.watchdog_s is None
    assert not notifier.ready("x")


def test_watchdog_interval_only_for_this_process() -> None:
    mine = Notifier.from_environ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_s == 60.0
    assert Notifier.from_environ({"WATCHDOG_USEC": "30000000"}).watchdog_s == 30.0
    assert Notifier.from_environ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}).watchdog_s is None
    assert Notifier.from_environ({"WATCHDOG_USEC": "0"}).watchdog_s is None
    assert Notifier.from_environ({"WATCHDOG_USEC": "soon"}).watchdog_s is None


def test_a_missing_socket_is_reported_once_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    assert not notifier.watchdog()
    assert not notifier.watchdog()
    warnings = [r for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1
