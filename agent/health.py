"""Is the agent doing its job? The one answer behind ``/healthz``, the systemd watchdog and ``/metrics``.

Healthy means: poll results keep being committed (at least one within twice the longest poll
interval plus a margin; at start-up the same grace counts from the start) and no output has failed
its last ``OUTPUT_FAILURES`` writes in a row. Devices that do not answer are reported but do not
make the agent unhealthy: one dead switch must not get the whole agent restarted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent import __version__

if TYPE_CHECKING:
    from agent.daemon import Agent

STALL_MARGIN_S = 30.0
OUTPUT_FAILURES = 3
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def stall_after_s(agent: Agent) -> float:
    """How long without a committed poll before the agent counts as stuck."""
    intervals = [d.interval_s or agent.config.agent.interval_s for d in agent.config.devices.values()]
    return 2 * max(intervals, default=agent.config.agent.interval_s) + STALL_MARGIN_S


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reasons: list[str]
    report: dict[str, Any]


def stall_reason(agent: Agent, now_s: float | None = None) -> str | None:
    """Why polling is not advancing, or None while it is (or there is nothing to poll)."""
    if not agent.config.devices:
        return None
    now_s = time.monotonic() if now_s is None else now_s
    since = agent.progress.last_commit_s or agent.progress.started_s
    age = now_s - since
    limit = stall_after_s(agent)
    if age <= limit:
        return None
    what = "no poll committed" if agent.progress.last_commit_s is not None else "no poll committed since start"
    return f"{what} for {age:.0f}s (limit {limit:.0f}s: twice the longest interval + {STALL_MARGIN_S:.0f}s)"


def check_health(agent: Agent, now_s: float | None = None) -> Health:
    now_s = time.monotonic() if now_s is None else now_s
    reasons: list[str] = []
    if (stalled := stall_reason(agent, now_s)) is not None:
        reasons.append(stalled)
    if agent.store_problem is not None:
        reasons.append(f"{agent.store_problem}; {len(agent._unsaved)} polls kept in memory, retried")
    outputs = []
    for status in agent.store.output_statuses():
        failures = agent.forwarder.backoff[status.output].failures if status.output in agent.forwarder.backoff else 0
        if failures >= OUTPUT_FAILURES:
            reasons.append(f"output {status.output}: {failures} failed writes in a row, {status.pending} points "
                           f"waiting: {status.last_error}")
        outputs.append({"output": status.output, "pending": status.pending, "failures": failures,
                        "written": status.written, "dropped": status.dropped, "last_error": status.last_error})
    last = agent.progress.last_commit_s
    report: dict[str, Any] = {
        "status": "ok" if not reasons else "failing",
        "reasons": reasons,
        "version": __version__,
        "devices": len(agent.config.devices),
        "polls_committed": agent.progress.committed,
        "last_poll_age_s": round(now_s - last, 1) if last is not None else None,
        "unavailable_devices": sorted(agent.stats.unavailable)[:50],
        "unavailable_count": len(agent.stats.unavailable),
        "outputs": outputs,
        "store_problem": agent.store_problem,
    }
    return Health(not reasons, reasons, report)


# -- Prometheus text exposition (format 0.0.4) --------------------------------------------------

# self-metric field -> (metric name, type, help); the same numbers as the `agent` measurement
SELF_METRICS: dict[str, tuple[str, str, str]] = {
    "devices": ("netwatt_devices", "gauge", "Devices in the configuration."),
    "polls": ("netwatt_polls_total", "counter", "Device polls completed since start."),
    "poll_errors": ("netwatt_poll_errors_total", "counter", "Polls that returned at least one error."),
    "timeouts": ("netwatt_poll_timeouts_total", "counter", "SNMP requests that timed out."),
    "skipped": ("netwatt_polls_skipped_total", "counter", "Polls skipped because the previous one was running."),
    "unavailable": ("netwatt_devices_unavailable", "gauge", "Devices whose last poll returned nothing."),
    "poll_seconds": ("netwatt_poll_duration_seconds_total", "counter", "Time spent polling, summed over polls."),
    "spool_pending": ("netwatt_spool_pending_points", "gauge", "Points waiting to be forwarded, summed over outputs."),
    "points_written": ("netwatt_points_written_total", "counter", "Points acknowledged by an output."),
    "points_dropped": ("netwatt_points_dropped_total", "counter", "Points dropped because a buffer was full."),
    "points_set_aside": ("netwatt_points_set_aside_total", "counter", "Points an output rejected as malformed."),
    "in_flight_limit": ("netwatt_snmp_in_flight_limit", "gauge", "Current bound on SNMP requests in flight."),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class Exposition:
    """Families in order, each with its HELP and TYPE lines once, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            text = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
            self.lines.append(f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def metrics_text(agent: Agent, now_s: float | None = None) -> str:
    out = Exposition()
    out.family("netwatt_build_info", "gauge", "netwatt version.", [({"version": __version__}, 1)])
    values = agent.self_metrics()
    for field_name, (name, kind, help_text) in SELF_METRICS.items():
        out.family(name, kind, help_text, [({}, values[field_name])])
    health = check_health(agent, now_s)
    out.family("netwatt_healthy", "gauge", "1 when polls advance and outputs accept writes (see /healthz).",
               [({}, int(health.ok))])
    last = agent.progress.last_commit_s
    age = (time.monotonic() if now_s is None else now_s) - last if last is not None else float("nan")
    out.family("netwatt_last_poll_age_seconds", "gauge", "Seconds since poll results were last committed.",
               [({}, round(age, 3))])
    statuses = agent.store.output_statuses()
    for key, name, kind, help_text in (
            ("pending", "netwatt_output_pending_points", "gauge", "Points waiting for this output."),
            ("written", "netwatt_output_points_written_total", "counter", "Points this output acknowledged."),
            ("dropped", "netwatt_output_points_dropped_total", "counter", "Points dropped for this output."),
            ("set_aside", "netwatt_output_points_set_aside_total", "counter", "Points this output rejected.")):
        out.family(name, kind, help_text, [({"output": s.output}, getattr(s, key)) for s in statuses])
    out.family("netwatt_output_consecutive_failures", "gauge", "Failed writes in a row to this output.",
               [({"output": s.output}, agent.forwarder.backoff[s.output].failures)
                for s in statuses if s.output in agent.forwarder.backoff])
    return out.text()
