"""The cross-process Wi-Fi apply lock (agent/wifi/interlock.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from agent.wifi.interlock import ApplyLock, WifiBusy


def test_second_holder_waits_then_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ApplyLock(tmp_path).held(wait_s=0):
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(WifiBusy, match=rf"\(pid {os.getpid()}\) is applying Wi-Fi changes"):
                async with ApplyLock(tmp_path).held(wait_s=0.3):
                    pytest.fail("two holders at once")
            assert loop.time() - started >= 0.3                 # it waited before refusing
        async with ApplyLock(tmp_path).held(wait_s=0):           # released: free again
            pass

    asyncio.run(scenario())


def test_a_lock_file_made_by_another_user_is_still_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ran the CLI first and owns wifi.lock: the service opens it read-only (flock needs no write)."""
    (tmp_path / "wifi.lock").write_text("4242\n")
    real_open = os.open

    def no_write(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith("wifi.lock") and flags & os.O_RDWR:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_write)

    async def scenario() -> None:
        async with ApplyLock(tmp_path).held(wait_s=0):
            with pytest.raises(WifiBusy, match=r"pid 4242"):      # the file is left as it was
                async with ApplyLock(tmp_path).held(wait_s=0):
                    pass

    asyncio.run(scenario())
