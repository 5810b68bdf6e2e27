"""WattTime v3: the marginal operating emissions rate (MOER), a signal for *when* to shift load.

Marginal rates are consequential figures, not grid averages: they are cached with
``signal=marginal`` and never used for Scope 2 inventory numbers (the resolver ignores them).
Login is HTTP Basic on /login for a 30-minute bearer token, renewed on 401. Units come from
``meta.units``: lbs_co2_per_mwh is converted; a percentile (signal-index) is refused, never
multiplied as if it were a rate (a bug seen in public clients).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from agent.emissions.factors import Basis, Granularity, GridFactor, Signal, to_g_per_kwh
from agent.emissions.providers.base import HttpJson, ProviderError, iso_minutes, parse_time
from agent.settings.secrets import Secret

BASE_URL = "https://api.watttime.org"
POINT_S = 300.0


def parse(reply: Any, *, zone: str, region: str) -> list[GridFactor]:
    if not isinstance(reply, dict):
        raise ProviderError(f"unexpected reply: {type(reply).__name__}")
    meta = reply.get("meta") or {}
    units = str(meta.get("units", ""))
    if "percent" in units.lower() or not units:
        raise ProviderError(f"units {units!r} are not a rate (signal-index is a 0-100 percentile)")
    step = float(meta.get("data_point_period_seconds") or POINT_S)
    factors = []
    for row in reply.get("data") or []:
        if row.get("value") is None:
            continue
        start = parse_time(row["point_time"])
        factors.append(GridFactor(
            g_per_kwh=round(to_g_per_kwh(float(row["value"]), units), 6), zone=zone, start_s=start,
            end_s=start + step, source=f"watttime-{region.lower()}",
            dataset=f"watttime-v3-{meta.get('signal_type', 'co2_moer')}",
            release=str((meta.get("model") or {}).get("date", "")), basis=Basis.DIRECT, gas="co2",
            granularity=Granularity.FIVE_MINUTE, forecast="generated_at" in meta, signal=Signal.MARGINAL,
            original=f"{row['value']} {units}", url=BASE_URL, note="marginal signal: not for inventories"))
    return factors


class WattTime:
    name = "watttime"
    signal = Signal.MARGINAL

    def __init__(self, http: HttpJson, username: str, password: Secret, *, base_url: str = "") -> None:
        self.http = http
        self.username = username
        self.password = password
        self.base_url = (base_url or BASE_URL).rstrip("/")
        self._token: str | None = None

    async def _login(self) -> str:
        basic = base64.b64encode(f"{self.username}:{self.password.reveal()}".encode()).decode()
        reply = await self.http.get(f"{self.base_url}/login", {"Authorization": f"Basic {basic}"})
        token = reply.get("token") if isinstance(reply, dict) else None
        if not token:
            raise ProviderError("login answered without a token")
        self._token = str(token)
        return self._token

    async def fetch(self, zone: str, provider_zone: str, start_s: float, end_s: float) -> list[GridFactor]:
        query = urlencode({"region": provider_zone, "start": iso_minutes(start_s), "end": iso_minutes(end_s),
                           "signal_type": "co2_moer"})
        url = f"{self.base_url}/v3/historical?{query}"
        token = self._token or await self._login()
        try:
            reply = await self.http.get(url, {"Authorization": f"Bearer {token}"})
        except ProviderError as exc:
            if exc.status != 401:
                raise
            reply = await self.http.get(url, {"Authorization": f"Bearer {await self._login()}"})
        return parse(reply, zone=zone, region=provider_zone)
