"""ENTSO-E Transparency Platform (token): actual generation per type (A75/A16) -> grid intensity.

Intensity per step = sum(MW_type x EF_type) / sum(MW_type) over the types with a factor in
config/grid_factors/entsoe_psr_factors.csv (per-fuel lifecycle factors, each with its source).
Types without a factor (pumped storage, other, peat, ...) are left out, never counted as 0 g, and
the share of generation left out is noted on every factor. Production basis: imports are not seen.
Curve type A03 omits repeated points: they are forward-filled. Consumption series (an
``outBiddingZone_Domain``, e.g. pumping) are not generation and are skipped.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from agent.emissions.factors import Basis, Granularity, GridFactor, Signal
from agent.emissions.providers.base import HttpJson, ProviderError, parse_time
from agent.settings.secrets import Secret

BASE_URL = "https://web-api.tp.entsoe.eu"
RESOLUTIONS = {"PT15M": (900.0, Granularity.QUARTER_HOURLY), "PT30M": (1800.0, Granularity.HALF_HOURLY),
               "PT60M": (3600.0, Granularity.HOURLY)}


def psr_factors(directory: Path) -> dict[str, float]:
    with (directory / "entsoe_psr_factors.csv").open(newline="", encoding="utf-8") as handle:
        return {row["psr_type"]: float(row["g_per_kwh"]) for row in csv.DictReader(handle)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element.iter() if _local(c.tag) == name), None)


def _text(element: ET.Element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def generation(xml: str) -> tuple[dict[float, dict[str, float]], float, Granularity]:
    """{step start: {psr type: MW}}, the step length and its granularity."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ProviderError(f"not XML: {exc}") from None
    if _local(root.tag) == "Acknowledgement_MarketDocument":
        raise ProviderError(_text(root, "text") or "acknowledgement without data")
    steps: dict[float, dict[str, float]] = defaultdict(dict)
    step_s, granularity = 3600.0, Granularity.HOURLY
    for series in (e for e in root if _local(e.tag) == "TimeSeries"):
        if _child(series, "outBiddingZone_Domain.mRID") is not None:
            continue
        psr = _text(series, "psrType")
        for period in (e for e in series if _local(e.tag) == "Period"):
            resolution = _text(period, "resolution")
            if resolution not in RESOLUTIONS:
                raise ProviderError(f"unsupported resolution {resolution!r}")
            step_s, granularity = RESOLUTIONS[resolution]
            start, end = parse_time(_text(period, "start")), parse_time(_text(period, "end"))
            points = {int(_text(p, "position")): float(_text(p, "quantity"))
                      for p in period if _local(p.tag) == "Point"}
            value: float | None = None
            for position in range(1, int((end - start) / step_s) + 1):
                value = points.get(position, value)          # A03: a missing position repeats the last
                if value is not None:
                    steps[start + (position - 1) * step_s][psr] = value
    return dict(steps), step_s, granularity


def parse(xml: str, *, zone: str, domain: str, factors: dict[str, float]) -> list[GridFactor]:
    steps, step_s, granularity = generation(xml)
    out = []
    for start in sorted(steps):
        mix = steps[start]
        known = {psr: mw for psr, mw in mix.items() if psr in factors and mw > 0}
        total = sum(mw for mw in mix.values() if mw > 0)
        covered = sum(known.values())
        if covered <= 0:
            continue
        value = sum(mw * factors[psr] for psr, mw in known.items()) / covered
        left_out = 1.0 - covered / total
        out.append(GridFactor(
            g_per_kwh=round(value, 6), zone=zone, start_s=start, end_s=start + step_s,
            source=f"entsoe-{domain.strip('-').lower()}", dataset="entsoe-a75-generation x per-fuel factors",
            release=f"ENTSO-E A75 {datetime.fromtimestamp(start, UTC):%Y-%m-%d}; factors entsoe_psr_factors.csv",
            basis=Basis.LIFECYCLE, gas="co2e", granularity=granularity, original=f"{value:.1f} g/kWh (computed)",
            url=BASE_URL,
            note="production basis, imports excluded" + (
                f"; {left_out:.1%} of generation of types without a factor left out" if left_out > 1e-9 else "")))
    return out


class Entsoe:
    name = "entsoe"
    signal = Signal.AVERAGE

    def __init__(self, http: HttpJson, token: Secret, factors: dict[str, float], *, base_url: str = "") -> None:
        self.http = http
        self.token = token
        self.factors = factors
        self.base_url = (base_url or BASE_URL).rstrip("/")

    async def fetch(self, zone: str, provider_zone: str, start_s: float, end_s: float) -> list[GridFactor]:
        query = urlencode({"documentType": "A75", "processType": "A16", "in_Domain": provider_zone,
                           "periodStart": f"{datetime.fromtimestamp(start_s, UTC):%Y%m%d%H%M}",
                           "periodEnd": f"{datetime.fromtimestamp(end_s, UTC):%Y%m%d%H%M}"})
        # the token goes in the query string (the API's only way): errors never include the URL
        xml = await self.http.get_text(f"{self.base_url}/api?securityToken={self.token.reveal()}&{query}")
        return parse(xml, zone=zone, domain=provider_zone, factors=self.factors)
