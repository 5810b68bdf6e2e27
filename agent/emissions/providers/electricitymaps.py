"""Electricity Maps v3 (key in the ``auth-token`` header): hourly gCO2eq/kWh per zone.

``past-range`` rows are keyed by ``datetime`` (the hour they describe, not ``updatedAt``);
``carbonIntensity`` may be null (skipped); ``isEstimated`` is kept. The default factor type of the
API is lifecycle; netwatt asks for ``direct`` unless configured, and labels whatever comes back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from agent.emissions.factors import Basis, Granularity, GridFactor, Signal
from agent.emissions.providers.base import HttpJson, ProviderError, iso_minutes, parse_time
from agent.settings.secrets import Secret

BASE_URL = "https://api.electricitymap.org"
HOUR_S = 3600.0


def parse(reply: Any, *, zone: str, provider_zone: str, requested_type: str) -> list[GridFactor]:
    if not isinstance(reply, dict):
        raise ProviderError(f"unexpected reply: {type(reply).__name__}")
    rows = reply.get("data") if "data" in reply else reply.get("history")
    if rows is None and "carbonIntensity" in reply:      # carbon-intensity/latest
        rows = [reply]
    factors = []
    for row in rows or []:
        value = row.get("carbonIntensity")
        if value is None:
            continue
        start = parse_time(row["datetime"])
        kind = row.get("emissionFactorType") or requested_type
        method = row.get("estimationMethod")
        factors.append(GridFactor(
            g_per_kwh=float(value), zone=zone, start_s=start, end_s=start + HOUR_S,
            source=f"electricitymaps-{provider_zone.lower()}", dataset="electricity-maps-v3",
            release=f"updatedAt {row.get('updatedAt', '?')}", basis=Basis(kind), gas="co2e",
            granularity=Granularity.HOURLY, estimated=bool(row.get("isEstimated")),
            original=f"{value} gCO2eq/kWh", url=BASE_URL,
            note=f"estimated ({method})" if row.get("isEstimated") and method else ""))
    return factors


class ElectricityMaps:
    name = "electricity_maps"
    signal = Signal.AVERAGE

    def __init__(self, http: HttpJson, token: Secret, *, base_url: str = "",
                 emission_factor_type: str = "direct") -> None:
        self.http = http
        self.token = token
        self.base_url = (base_url or BASE_URL).rstrip("/")
        self.emission_factor_type = emission_factor_type

    async def fetch(self, zone: str, provider_zone: str, start_s: float, end_s: float) -> list[GridFactor]:
        query = urlencode({"zone": provider_zone, "start": iso_minutes(start_s), "end": iso_minutes(end_s),
                           "emissionFactorType": self.emission_factor_type})
        reply = await self.http.get(f"{self.base_url}/v3/carbon-intensity/past-range?{query}",
                                    {"auth-token": self.token.reveal()})
        return parse(reply, zone=zone, provider_zone=provider_zone, requested_type=self.emission_factor_type)
