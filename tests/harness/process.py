"""A child server process with a log file, a bounded readiness wait and a sure stop."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# Every process still running is killed when the interpreter exits, even after a crash of the session.
_LIVE: set[ManagedProcess] = set()


class ServerStartError(RuntimeError):
    """A server did not start; the message carries the reason and the server's log tail."""

    def __init__(self, name: str, reason: str, log_tail: str = "") -> None:
        self.name = name
        self.reason = reason
        self.log_tail = log_tail
        text = f"{name} did not start: {reason}"
        if log_tail:
            text += f"\n--- {name} log tail ---\n{log_tail}\n--- end of log tail ---"
        super().__init__(text)


def find_tool(name: str, *extra_dirs: str) -> str:
    """Full path of an executable: next to sys.executable, then PATH, then `extra_dirs`."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(extra_dirs))
    if found is None:
        raise ServerStartError(name, f"executable {name!r} not found (PATH, {', '.join(extra_dirs) or '-'})")
    return found


def tail_of(paths: Sequence[Path], lines: int = 40) -> str:
    parts: list[str] = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if text.strip():
            parts.append(f"[{path.name}]\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts) or "(log is empty)"


class ManagedProcess:
    """One child process; stdout+stderr go to `log_path`, `extra_logs` are files the child writes itself."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        extra_logs: Sequence[Path] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.extra_logs = list(extra_logs)
        self.env = dict(os.environ) | dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                # Own session: a Ctrl-C on the pytest terminal does not reach the child half-way.
                self._proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerStartError(self.name, f"cannot run {self.argv[0]}: {exc}") from exc
        _LIVE.add(self)

    def log_tail(self, lines: int = 40) -> str:
        return tail_of([self.log_path, *self.extra_logs], lines)

    def fail(self, reason: str) -> ServerStartError:
        return ServerStartError(self.name, f"{reason}; command: {' '.join(self.argv)}", self.log_tail())

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
        """Poll `probe` until it is true; raise ServerStartError on exit of the child or after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise self.fail("never started")
            code = self._proc.poll()
            if code is not None:
                raise self.fail(f"exited with status {code} before answering")
            if probe():
                return
            if time.monotonic() >= deadline:
                raise self.fail(f"no answer within {timeout:.0f} s")
            time.sleep(interval)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM by PID, SIGKILL after `grace` seconds; always reaps the child."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.stop(grace=1.0)
