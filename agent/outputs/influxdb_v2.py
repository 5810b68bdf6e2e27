"""InfluxDB 2.x through the official ``influxdb-client``: ``POST {url}/api/v2/write?org=..&bucket=..``.

One ``InfluxDBClient`` and one SYNCHRONOUS ``WriteApi`` for the output's life. Never the library's
batching mode: it retries and buffers on a background thread, loses points on close and reports
failures only through callbacks (reference/ecosystem.md 1.8-1.9). The forwarder owns the spool and
the backoff; this output turns one synchronous write into one ``Outcome``.

``retries`` is left at the client's default (False): urllib3 does not retry behind our back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import cast

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from agent.settings.config import AgentSettings, OutputSpec

from .base import Outcome, Verdict
from .http import (
    http_settings,
    outcome_for_exception,
    outcome_for_status,
    scrub,
    secret_setting,
    server_message,
    text_setting,
    truncate,
)


class InfluxDBv2Output:
    def __init__(self, spec: OutputSpec, agent: AgentSettings) -> None:
        self.settings = settings = http_settings(spec, agent)
        self.batch_size = settings.batch_size
        self.org = text_setting(spec, "org")
        self.bucket = text_setting(spec, "bucket")
        token = secret_setting(spec, "token", required=True)
        assert token is not None
        self._token = token
        self.name = f"influxdb_v2:{self.org}/{self.bucket}@{settings.url.split('://', 1)[1]}"
        self.target = f"influxdb_v2 {settings.url} org {self.org!r} bucket {self.bucket!r}"
        # The client is the HTTP boundary: it holds the token for the Authorization header.
        self._client: InfluxDBClient | None = InfluxDBClient(
            url=settings.url, token=token.reveal(), org=self.org,
            timeout=max(1, round(settings.timeout_s * 1000)), enable_gzip=settings.gzip,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    async def write(self, lines: list[str]) -> Outcome:
        if self._client is None:
            raise RuntimeError(f"{self.name}: write after close")
        if not lines:
            return Outcome(Verdict.ACCEPTED, "nothing to write")
        body = "\n".join(lines) + "\n"
        outcome = await asyncio.to_thread(self._write_blocking, body)
        clean = scrub(outcome.message, (self._token,))
        return outcome if clean == outcome.message else Outcome(outcome.verdict, clean, outcome.status,
                                                                 outcome.retry_after_s)

    def _write_blocking(self, body: str) -> Outcome:
        try:
            self._write_api.write(bucket=self.bucket, org=self.org, record=body,
                                  write_precision=cast(WritePrecision, WritePrecision.S))
        except ApiException as exc:
            return self._api_outcome(exc)
        except (HTTPError, OSError) as exc:
            return outcome_for_exception(exc, target=self.target, timeout_s=self.settings.timeout_s)
        return Outcome(Verdict.ACCEPTED)

    def _api_outcome(self, exc: ApiException) -> Outcome:
        status = exc.status
        if not status:
            # influxdb-client turns urllib3's SSLError into ApiException(status=0, reason=...).
            reason = truncate(" ".join(str(exc.reason or "").split()), 160)
            return Outcome(Verdict.REFUSED, f"{self.target}: TLS failed ({reason}); check the certificate, "
                           "the CA and http vs https")
        headers: Mapping[str, str] = exc.headers or {}
        return outcome_for_status(int(status), server_message(exc.body, headers), target=self.target,
                                  refusal_hint=self._refusal_hint(int(status)),
                                  retry_after=headers.get("Retry-After"), location=headers.get("Location"))

    def _refusal_hint(self, status: int) -> str:
        if status == 401:
            return "the token was not accepted: check token (it must be an API token of this server)"
        if status == 403:
            return f"the token may not write to bucket {self.bucket!r}: give it write permission"
        if status == 404:
            return f"org {self.org!r} or bucket {self.bucket!r} does not exist: check org, bucket and url"
        return "unexpected answer: check that the url points at an InfluxDB 2.x server"

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(self._close_blocking, client)

    def _close_blocking(self, client: InfluxDBClient) -> None:
        self._write_api.close()  # type: ignore[no-untyped-call]  # first (influxdb-client #309)
        client.close()  # type: ignore[no-untyped-call]
