"""The short emissions summary that ends ``netwatt demo``, with one worked example end to end."""

from __future__ import annotations

from agent.emissions.store import EmissionsStore
from agent.store.sqlite import Store


def emissions_summary(store: Store) -> str:
    rows = EmissionsStore(store).between(0.0, 1e12)
    location = [r for r in rows if r.scope2_method == "location"]
    if not location:
        return "emissions: no energy interval closed during the demo (run it with more --cycles)"
    energy = {(d, i.start_s): i for d, i in store.energy_intervals()}
    wh = sum(r.wh for r in location)
    grams = sum(r.gco2e for r in location)
    estimated = sum(r.wh for r in location if r.energy_method == "estimated")
    sources = sorted({r.factor_source for r in location})
    example = max(location, key=lambda r: (r.end_s - r.start_s, r.wh))
    interval = energy.get((example.device, example.start_s))
    factor = example.provenance[0]["factor"]
    seconds = interval.seconds if interval is not None else example.end_s - example.start_s
    mean_w = example.wh * 3600.0 / seconds if seconds else 0.0
    lines = [
        "",
        f"emissions (Scope 2, location-based): {grams:.4f} g CO2e for {wh:.4f} Wh over {len(location)} device "
        f"intervals; {100.0 * estimated / wh if wh else 0.0:.1f} % of that energy estimated (model data), "
        f"the rest measured or derived; factors: {', '.join(sources)}",
        f"worked example, {example.device}: {mean_w:.2f} W x {seconds:.2f} s / 3600 = {example.wh:.4f} Wh; "
        f"{example.wh:.4f} Wh / 1000 x {factor['g_per_kwh']:g} g/kWh = {example.gco2e:.4f} g CO2e",
        f"  factor {factor['source']}: {factor['original']}, {factor['dataset']} ({factor['release']}), "
        f"{factor['basis']}, {factor['gas']}, {factor['granularity']} {factor['period']}"
        + (f"; {factor['note']}" if factor.get("note") else ""),
    ]
    return "\n".join(lines)
