"""systemd's notify protocol (sd_notify(3)): one datagram of ``KEY=VALUE`` lines to ``$NOTIFY_SOCKET``.

Written here rather than taken from ``sdnotify`` (2017, swallows every error) or ``systemd-python``
(a C binding): the protocol is one ``sendto``. A path starting with ``@`` is in the abstract
namespace. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op that returns False, so the
same code runs under a terminal, in tests and under the service manager.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("netwatt.sdnotify")


class Notifier:
    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """``$NOTIFY_SOCKET``, and ``$WATCHDOG_USEC`` when ``$WATCHDOG_PID`` is unset or is this process."""
        env = os.environ if environ is None else environ
        usec: int | None = None
        if env.get("WATCHDOG_USEC", "").isdigit() and env.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid()):
            usec = int(env["WATCHDOG_USEC"]) or None
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_s(self) -> float | None:
        """The service's WatchdogSec=, if the watchdog is on for this process."""
        return self.watchdog_usec / 1e6 if self.watchdog_usec else None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (keys upper-cased); True if the datagram was sent."""
        if self.address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode("utf-8")
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(message)
        except OSError as exc:
            if not self._warned:                 # once: a broken socket must not flood the journal
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify(ready=1, status=status, mainpid=os.getpid())

    def status(self, status: str) -> bool:
        return self.notify(status=status)

    def reloading(self, monotonic_usec: int) -> bool:
        return self.notify(reloading=1, monotonic_usec=monotonic_usec)

    def stopping(self, status: str = "stopping") -> bool:
        return self.notify(stopping=1, status=status)

    def watchdog(self) -> bool:
        return self.notify(watchdog=1)
