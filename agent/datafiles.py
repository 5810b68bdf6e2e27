"""Files netwatt ships beside its code: found in the source tree (a checkout, an editable install)
or where the wheel installs them (``<prefix>/share/netwatt``, pyproject's data-files)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agent.errors import NetwattError

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def shipped_file(source: str, installed: str) -> Path:
    """``source``: the path in the repository; ``installed``: the path under ``<prefix>/share/netwatt``."""
    for candidate in (SOURCE_ROOT / source, Path(sys.prefix) / "share" / "netwatt" / installed):
        if candidate.is_file():
            return candidate
    raise NetwattError(f"{installed} not found (looked in {SOURCE_ROOT / source} and "
                       f"{Path(sys.prefix) / 'share' / 'netwatt' / installed}): is netwatt installed completely?")


def shipped_dir(source: str, installed: str, *, marker: str, env: str, configured: str = "") -> Path | None:
    """The first folder holding ``marker``: the configured one, ``$env``, the source tree, the install prefix."""
    candidates = [Path(configured)] if configured else []
    if value := os.environ.get(env):
        candidates.append(Path(value))
    candidates += [SOURCE_ROOT / source, Path(sys.prefix) / "share" / "netwatt" / installed]
    return next((c for c in candidates if (c / marker).exists()), None)


def sample_config() -> Path:
    return shipped_file("config/netwatt.example.yaml", "netwatt.example.yaml")
