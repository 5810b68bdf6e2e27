"""``netwatt demo``: the bundled lab served by snmpsim, the agent run on it for a few cycles, what it measured.

Polls were skipped before (apscheduler's "maximum number of running instances"): a device's first poll
walks its tables (with gufo-snmp column by column), every device at once against one single-threaded
snmpsim, and that first round took 4 s on a loaded 2-core host against a 2-s interval. The demo now runs
that discovery round first, unscheduled and uncommitted, so the scheduled polls are the steady ones
(a GET of known instances, ~0.2 s a round quiet, ~1 s loaded) and every device gets every poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agent.clock import wall_clock
from agent.config.load import load_config_text
from agent.daemon import Agent, open_store
from agent.lab import SnmpsimProcess, lab_config_text, lab_dir
from agent.report.demo import emissions_summary
from agent.views.status import DemoProgress, demo_table

INTERVAL_S = 2
CONFIG_NAME = "netwatt.yaml"


@contextlib.contextmanager
def _state_directory(keep: Path | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="netwatt-demo-") as state:
            yield Path(state)
    else:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()


def run_demo(*, cycles: int, keep: Path | None) -> int:
    with SnmpsimProcess(lab_dir()) as server, _state_directory(keep) as state:
        print(f"lab: {len(server.communities)} recorded devices served by snmpsim on "
              f"{server.host}:{server.port}; agent state in {state}", file=sys.stderr)
        text = lab_config_text(server, state_directory=state, interval_s=INTERVAL_S)
        config_path = state / CONFIG_NAME if keep is not None else None
        if config_path is not None:
            config_path.write_text(text, encoding="utf-8")
        config = load_config_text(text, file=str(config_path or "<lab>"))
        progress = DemoProgress(len(config.devices), cycles)
        agent = Agent(config, on_commit=progress.update)
        first_day = asyncio.run(_discover_then_run(agent, cycles))
        progress.done()
        store = open_store(config)
        try:
            print(demo_table(store))
            print(emissions_summary(store))
            skipped = agent.stats.skipped
        finally:
            store.close()
        if skipped:
            print(f"  {skipped} poll(s) skipped: a poll was still running when the next was due", file=sys.stderr)
        print(report_hint(config_path, first_day, netwatt_command()))
    return 0 if progress.polls else 1


async def _discover_then_run(agent: Agent, cycles: int) -> str:
    """The discovery round, then (just after an energy-interval boundary, so one whole interval closes) the
    scheduled cycles. Returns the UTC day the stored data starts on, for the report hint."""
    await agent.poller.poll_many(agent.config.devices.values())
    energy_s = agent.config.agent.energy_interval_s
    await asyncio.sleep(energy_s - wall_clock().timestamp() % energy_s + 0.05)
    first_day = wall_clock().date().isoformat()
    await agent.run(duration_s=INTERVAL_S * (cycles - 1) + 1.0)
    return first_day


def report_hint(config_path: Path | None, first_day: str, netwatt: str = "netwatt") -> str:
    if config_path is None:
        return ("  full report: run the demo again with --keep DIR (./netwatt-demo --keep DIR) to keep the store "
                "and config; it then prints the `netwatt report` command (see README 'Emissions: method')")
    html = config_path.parent / "report.html"
    command = " ".join(shlex.quote(part) for part in (
        netwatt, "report", "-c", str(config_path), "--from", first_day, "--format", "html", "-o", str(html)))
    return f"  full report: {command}"


def netwatt_command() -> str:
    """How to call this netwatt again: its full path when it is not the one on PATH (a venv's, not activated)."""
    script = Path(sys.argv[0])
    if script.name != "netwatt":
        return "netwatt"
    found = shutil.which("netwatt")
    if found is not None and Path(found).absolute() == script.absolute():
        return "netwatt"
    return str(script.absolute())
