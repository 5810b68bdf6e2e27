"""Why the store cannot be written, said where `netwatt status` (another process) can read it.

The note is a file in the state directory, allocated when the agent starts and later overwritten in
place, never grown: on a full disk a write that needs no new block still succeeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

NOTE_FILE = "store-problem.json"
NOTE_BYTES = 4096


class ProblemNote:
    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / NOTE_FILE
        self._fd: int | None = None
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size < NOTE_BYTES:
                os.pwrite(self._fd, b" " * NOTE_BYTES, 0)
            self.set(None)
        except OSError:        # best effort: the agent's own log and /healthz still say it
            self.close()

    def set(self, problem: str | None, *, unsaved: int = 0) -> None:
        if self._fd is None:
            return
        data = json.dumps({"problem": problem, "since": time.time() if problem else None, "unsaved_polls": unsaved})
        raw = data.encode()[:NOTE_BYTES - 1]
        with contextlib.suppress(OSError):
            os.pwrite(self._fd, raw.ljust(NOTE_BYTES, b" "), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_problem(directory: Path | str) -> dict[str, object] | None:
    """The running agent's store problem, or None when it has none (or never wrote a note)."""
    try:
        data = json.loads((Path(directory) / NOTE_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("problem") else None
