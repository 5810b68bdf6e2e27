"""Running netwatt as a user does, as a separate process: helpers shared by the process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def netwatt(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run one netwatt command to completion."""
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


def start_agent(config: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`netwatt run` in the background, JSON logs appended to ``log``."""
    return subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "-c", str(config), "--log-format", "json"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
                            env={**os.environ, **(env or {})})


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the agent") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
