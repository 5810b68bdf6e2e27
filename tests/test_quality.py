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


def test_an_snmp_only_agent_never_loads_the_netconf_stack() -> None:
    """ncclient + paramiko + cryptography cost ~13 MB of RSS: loaded only when a device uses NETCONF."""
    script = """
import sys
from agent.cli import main
from agent.daemon import Agent
from agent.poll import Poller
from agent.config.load import load_config_text
from collectors.snmp.pysnmp_client import PysnmpClient
config = load_config_text("version: 1\\ncredentials: {c: {version: 2c, community: 'plain:x'}}\\n"
                          "devices: [{name: sw1, address: 192.0.2.1, credential: c}]\\n", environ={})
Poller(config, PysnmpClient())
print(sorted(m for m in ("paramiko", "ncclient", "nacl", "bcrypt") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
