"""A stand-in for systemd's end of the notify protocol: a real AF_UNIX datagram socket that collects
what the agent sends (``KEY=VALUE`` lines per datagram)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType


class NotifySocket:
    def __init__(self, path: Path | None = None, *, abstract_name: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract_name is not None:
            self.sock.bind("\0" + abstract_name)
            self.address = "@" + abstract_name          # how systemd writes it in $NOTIFY_SOCKET
        else:
            assert path is not None
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)

    def __enter__(self) -> NotifySocket:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line))

    def with_key(self, key: str) -> list[dict[str, str]]:
        return [m for m in list(self.messages) if key in m]

    def wait_for(self, key: str, timeout: float = 30.0, count: int = 1) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_key(key)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {key} within {timeout:g}s; got {self.messages}")
