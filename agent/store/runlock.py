"""One agent per state directory: ``netwatt run`` holds an exclusive ``flock`` on
``<state_directory>/agent.lock`` (its pid written inside) for as long as it runs. A second one refuses to
start and names the first one's pid; the kernel drops the lock when its holder dies, even by SIGKILL."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agent.store.sqlite import StoreError

LOCK_FILE = "agent.lock"


class RunLock:
    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot use the state directory {self.path.parent}: {exc.strerror} "
                             f"({self.path})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise StoreError(f"another netwatt agent ({who}) already runs on the state directory "
                             f"{self.path.parent}; one agent per state directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)           # closing drops the flock
            self._fd = None
