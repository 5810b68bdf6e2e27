"""InfluxDB 1.x: ``POST {url}/write?db=..&rp=..&precision=s``, Basic auth, gzip body (urllib3).

What InfluxDB 1.6 answers (observed on Debian's influxdb 1.6.7, asserted by tests/test_influx_outputs.py):

- 204 on success; also 204 for an empty body.
- 400 ``{"error":"partial write: unable to parse '<line>': <reason> dropped=0"}`` when some lines are
  bad: **the valid lines of the batch are stored anyway** (1.x has no all-or-nothing write). The
  batch is REJECTED; resending it would only rewrite the same points.
- 400 ``{"error":"unable to parse '<line>': ..."}`` when every line is bad; 400 ``partial write: field
  type conflict: ... dropped=N`` for a field whose type differs from the stored one.
- 401 ``{"error":"authorization failed"}`` for a wrong user or password (auth-enabled), 403 ``user is
  required to write to database`` / ``"<user>" user is not authorized to write to database``.
- 404 ``{"error":"database not found: \\"<db>\\""}``.
- 500 ``{"error":"retention policy not found: <rp>"}``: a configuration error, not an outage, so it
  is REFUSED here rather than retried.
- 413 ``Request Entity Too Large`` (plain text) when the body exceeds ``[http] max-body-size``
  (25 MB by default), measured on the body as sent: gzip'd, the same batch may fit.
- An unknown ``precision`` value is silently accepted (read as nanoseconds): we always send ``s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3

from agent.settings.config import AgentSettings, OutputSpec

from .base import Outcome, Verdict
from .http import Urllib3Output, http_settings, secret_setting, setting_error, text_setting


class InfluxDBv1Output(Urllib3Output):
    def __init__(self, spec: OutputSpec, agent: AgentSettings) -> None:
        settings = http_settings(spec, agent)
        self.database = text_setting(spec, "database")
        self.retention_policy = text_setting(spec, "retention_policy", "")
        self.username = text_setting(spec, "username", "")
        self._password = secret_setting(spec, "password", required=False)
        if self._password is not None and not self.username:
            raise setting_error(spec, "username", "password is set but username is not")
        if self.username and self._password is None:
            raise setting_error(spec, "password", f"username {self.username!r} needs a password")
        where = self.database + (f"/{self.retention_policy}" if self.retention_policy else "")
        self.name = f"influxdb_v1:{where}@{settings.url.split('://', 1)[1]}"
        super().__init__(settings, target=f"influxdb_v1 {settings.url} database {where!r}",
                         secrets=(self._password,))
        params = {"db": self.database, "precision": "s"}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        self._url = f"{settings.url}/write?{urlencode(params)}"

    def _write_url(self) -> str:
        return self._url

    def _headers(self) -> dict[str, str]:
        if not self.username or self._password is None:
            return {}
        return dict(urllib3.make_headers(basic_auth=f"{self.username}:{self._password.reveal()}"))

    def _refusal_hint(self, status: int) -> str:
        user = f"user {self.username!r}" if self.username else "no username configured"
        if status == 401:
            if not self.username:
                return "the server has auth-enabled: set username and password"
            return f"authentication failed ({user}): check username and password"
        if status == 403:
            return (f"not allowed to write ({user}): grant WRITE on {self.database!r} "
                    "or set username/password if the server has auth-enabled")
        if status == 404:
            return (f"database {self.database!r} does not exist: create it (CREATE DATABASE "
                    f"\"{self.database}\") or fix database/url")
        return "unexpected answer: check that the url points at an InfluxDB 1.x server"

    def _outcome(self, status: int, message: str, headers: Mapping[str, Any]) -> Outcome:
        if status == 500 and "retention policy not found" in message:
            return Outcome(Verdict.REFUSED, f"{self.target}: retention policy "
                           f"{self.retention_policy!r} does not exist: create it or fix retention_policy "
                           f"(HTTP 500: {message})", status)
        outcome = super()._outcome(status, message, headers)
        if status == 400 and message.startswith("partial write"):
            # 1.x stored the lines that parsed: say so, the operator looking for them will ask.
            return Outcome(outcome.verdict, outcome.message + "; any valid lines of the batch were stored",
                           status)
        return outcome
