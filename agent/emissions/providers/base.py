"""What live factor providers share: one narrow contract, and JSON over HTTP at one seam.

A provider turns (netwatt zone, provider zone id, time range) into GridFactors keyed by the period
they describe. Parsing is a pure function per provider (tested on recorded replies); the only I/O
is ``HttpJson.get``. Errors never carry credentials: headers are never part of a message.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any, Protocol

import urllib3

from agent import __version__
from agent.emissions.factors import GridFactor, Signal
from agent.errors import NetwattError

TIMEOUT_S = 10.0
MESSAGE_LIMIT = 200


class ProviderError(NetwattError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message if status is None else f"HTTP {status}: {message}")


class Provider(Protocol):
    name: str
    signal: Signal

    async def fetch(self, zone: str, provider_zone: str, start_s: float, end_s: float) -> list[GridFactor]: ...


class HttpJson:
    """GET -> parsed JSON, in a worker thread so the agent's event loop never blocks on a slow API."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)

    async def get(self, url: str, headers: dict[str, str] | None = None) -> Any:
        text = await self.get_text(url, headers, accept="application/json")
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise ProviderError(f"not JSON: {text[:80]!r}") from None

    async def get_text(self, url: str, headers: dict[str, str] | None = None, *,
                       accept: str = "application/xml") -> str:
        return await asyncio.to_thread(self._get, url, dict(headers or {}), accept)

    def _get(self, url: str, headers: dict[str, str], accept: str) -> str:
        # Accept only: a Content-Type on a GET makes the UK regional API answer 400 (api-definitions #16)
        headers = {"Accept": accept, "User-Agent": f"netwatt/{__version__}", **headers}
        try:
            response = self.pool.request("GET", url, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise ProviderError(f"no answer: {type(exc).__name__}") from None
        text: str = response.data.decode("utf-8", "replace")
        if response.status >= 400:
            raise ProviderError(_message(text), status=response.status)
        return text


def _message(text: str) -> str:
    if text.lstrip().startswith("<"):                 # an XML error document (ENTSO-E): its <text> says why
        match = re.search(r"<text>(.*?)</text>", text, re.DOTALL)
        return (match.group(1).strip() if match else text.strip())[:MESSAGE_LIMIT]
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:MESSAGE_LIMIT]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or error)[:MESSAGE_LIMIT]
        for key in ("message", "detail", "error"):
            if data.get(key):
                return str(data[key])[:MESSAGE_LIMIT]
    return text.strip()[:MESSAGE_LIMIT]


def parse_time(text: str) -> float:
    """'2018-01-20T12:00Z', '2023-03-20T17:00:00.000Z', '2026-04-01T00:00:00+00:00' -> epoch seconds."""
    value = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso_minutes(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%MZ")
