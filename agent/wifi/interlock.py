"""One Wi-Fi writer per state directory, across processes.

The agent's scheduled round, its HTTP API and `netwatt wifi on|off|apply` from a shell all switch the
same radios and share the same store: an exclusive ``flock`` on ``<state_directory>/wifi.lock`` held
for a whole apply round makes them take turns, so two processes never plan against each other's
half-applied changes (the per-controller lock of the executor only covers one process). The kernel
drops the lock when its holder dies: a crashed process never leaves it stuck.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.wifi.model import WifiError

LOCK_FILE = "wifi.lock"


class WifiBusy(WifiError):
    """Another process is applying Wi-Fi changes for the same state directory."""


class ApplyLock:
    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / LOCK_FILE

    @asynccontextmanager
    async def held(self, *, wait_s: float, poll_s: float = 0.1) -> AsyncIterator[None]:
        """Hold the lock for the block; wait up to ``wait_s`` for it, then raise ``WifiBusy``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, writable = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), True
        except PermissionError:      # made by another user (root at a shell): flock needs no write access
            fd, writable = os.open(self.path, os.O_RDONLY), False
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WifiBusy(f"another netwatt process ({self._holder(fd)}) is applying Wi-Fi changes "
                                       f"(lock {self.path})") from None
                    await asyncio.sleep(poll_s)
            if writable:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)      # who holds it, for the message above
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @staticmethod
    def _holder(fd: int) -> str:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return f"pid {text}" if text.isdigit() else "pid unknown"
