"""UK Carbon Intensity API (NESO; no key; CC BY 4.0): half-hourly gCO2/kWh, national or per region.

National slots carry ``forecast`` and ``actual`` (null for future slots); regional values are
forecasts only. The value is CO2 only (no CH4/N2O) and includes imports and T&D losses, so it is
labelled gas=co2 and noted. Quirks handled (carbon-intensity/api-definitions issues): ``data`` as an
object for one region, ``{}`` with 200, duplicate half-hours.
"""

from __future__ import annotations

from typing import Any

from agent.emissions.factors import Basis, Granularity, GridFactor, Signal
from agent.emissions.providers.base import HttpJson, ProviderError, iso_minutes, parse_time

BASE_URL = "https://api.carbonintensity.org.uk"
DATASET = "uk-carbon-intensity-api"
NOTE = "CO2 only; includes imports and T&D losses (do not add T&D again)"


def parse(reply: Any, *, zone: str, region: str) -> list[GridFactor]:
    if not isinstance(reply, dict):
        raise ProviderError(f"unexpected reply: {type(reply).__name__}")
    if "error" in reply:
        error = reply["error"]
        raise ProviderError(str(error.get("message") if isinstance(error, dict) else error))
    slots: dict[float, GridFactor] = {}
    for slot in _slots(reply.get("data"), region):
        intensity = slot.get("intensity") or {}
        actual, forecast = intensity.get("actual"), intensity.get("forecast")
        value = actual if actual is not None else forecast
        if value is None:
            continue
        start, end = parse_time(slot["from"]), parse_time(slot["to"])
        slots[start] = GridFactor(
            g_per_kwh=float(value), zone=zone, start_s=start, end_s=end,
            source="ukci-national" if region == "national" else f"ukci-region-{region}",
            dataset=DATASET, release="api.carbonintensity.org.uk (NESO)", basis=Basis.DIRECT, gas="co2",
            granularity=Granularity.HALF_HOURLY, forecast=actual is None, original=f"{value} gCO2/kWh",
            url=BASE_URL, note=NOTE)
    return [slots[k] for k in sorted(slots)]


def _slots(data: Any, region: str) -> list[dict[str, Any]]:
    """Every {from, to, intensity} slot, whatever nesting the endpoint used."""
    if data is None:
        return []
    items = [data] if isinstance(data, dict) else list(data)
    out: list[dict[str, Any]] = []
    for item in items:
        if "regions" in item:                       # /regional/...: slot -> regions
            for r in item["regions"]:
                if str(r.get("regionid")) == region:
                    out.append({"from": item["from"], "to": item["to"], "intensity": r.get("intensity")})
        elif "data" in item:                         # one region: region object -> its own slots
            out += _slots(item["data"], region)
        elif "from" in item:
            out.append(item)
    return out


class UkCarbonIntensity:
    name = "uk_carbon_intensity"
    signal = Signal.AVERAGE

    def __init__(self, http: HttpJson, base_url: str = "") -> None:
        self.http = http
        self.base_url = (base_url or BASE_URL).rstrip("/")

    async def fetch(self, zone: str, provider_zone: str, start_s: float, end_s: float) -> list[GridFactor]:
        span = f"{iso_minutes(start_s)}/{iso_minutes(end_s)}"
        if provider_zone == "national":
            url = f"{self.base_url}/intensity/{span}"
        else:
            url = f"{self.base_url}/regional/intensity/{span}/regionid/{provider_zone}"
        return parse(await self.http.get(url), zone=zone, region=provider_zone)
