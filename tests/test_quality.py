"""The code is ruff-clean and mypy-strict-clean: checked as part of the suite, so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_collectors_never_import_agent() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "collectors").rglob("*.py")
                 if "from agent" in p.read_text() or "import agent" in p.read_text()]
    assert offenders == []
