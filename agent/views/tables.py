"""Human-readable tables for the terminal (discover, poll --format table, demo)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.power.readings import UNIT, PollResult
from agent.views.terminal import printable


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns; every cell passes through ``printable`` (cells carry device-supplied text)."""
    rows = [[printable(c) for c in row] for row in rows]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i])
              for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def power_table(results: Sequence[PollResult]) -> str:
    rows = []
    for r in results:
        counted = sum(1 for reading in r.power.readings if reading.counted)
        status = "; ".join(r.errors) if r.errors else (r.power.note or f"{counted} readings counted")
        rows.append([r.device, f"{r.info.vendor} {r.info.model}".strip() or "-",
                     number(r.power.power_w), str(r.power.method), r.power.basis or "-", status])
    total = sum(r.power.power_w or 0.0 for r in results)
    table = grid(["device", "vendor/model", "power W", "method", "basis", "notes"], rows)
    return f"{table}\n\ntotal measured/derived power: {total:.2f} W over {len(results)} devices"


def discover_table(result: PollResult) -> str:
    rows = []
    for reading in result.power.readings:
        verdict = "COUNTED" if reading.counted else str(reading.status)
        if reading.reason:
            verdict += f": {reading.reason}"
        rows.append([reading.address, str(reading.raw), f"{reading.scale:g}",
                     f"{number(reading.value)} {UNIT[reading.quantity]}", str(reading.kind),
                     reading.component, verdict])
    header = (f"device {result.device}  sysObjectID {printable(result.info.sys_object_id or '?')}  "
              f"profiles: {', '.join(result.info.profiles) or 'none'}  "
              f"backend: {result.backend or '-'}\n"
              f"total: {number(result.power.power_w)} W  method {result.power.method}  "
              f"basis {result.power.basis or '-'}  {printable(result.power.note)}\n")
    errors = "".join(f"\nerror: {printable(e)}" for e in result.errors)
    return header + grid(["oid or path", "raw", "scale", "value", "kind", "component", "verdict"], rows) + errors
