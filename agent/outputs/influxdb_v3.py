"""InfluxDB 3 Core/Enterprise: ``POST {url}/api/v3/write_lp?db=..&precision=second&accept_partial=false``.

From the InfluxDB 3 Core docs ("Use the v3 write_lp API to write data",
docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/):

- ``accept_partial=<BOOLEAN>`` "Accept or reject partial writes (default is true)". With the default,
  valid lines are stored and the answer is 400 ``{"error": "partial write of line protocol occurred",
  "data": [{"original_line", "line_number", "error_message"}, ...]}``. We send
  ``accept_partial=false`` so one bad line rejects the whole batch: 400 ``{"error": "parsing failed
  for write_lp endpoint", "data": {"original_line", "line_number", "error_message"}}`` and nothing is
  stored (our spool sets the batch aside as a whole). Newer servers may word the ``error`` string
  differently (e.g. "line protocol parsing error"): we only rely on the status.
- ``precision``: ``auto`` (guessed from the timestamp's magnitude) is the default; we always send
  ``second``. Values: auto, nanosecond, microsecond, millisecond, second.
- ``no_sync`` defaults to false (acknowledge after the WAL is persisted): we keep that default.
- Auth: ``Authorization: Bearer <token>``. The default port is 8181: an ``http://`` url without a
  port gets it (an ``https://`` one keeps 443, the usual TLS proxy in front). A server started without auth
  needs no token, so ``token`` is optional here.
- A database is created on first write ("schema-on-write", get-started/write), so 404 is rare: a
  wrong url (not an InfluxDB 3) or a deleted database.
"""

from __future__ import annotations

from urllib.parse import urlencode

from agent.settings.config import AgentSettings, OutputSpec

from .http import Urllib3Output, http_settings, secret_setting, text_setting

DEFAULT_PORT = 8181


class InfluxDBv3Output(Urllib3Output):
    def __init__(self, spec: OutputSpec, agent: AgentSettings) -> None:
        settings = http_settings(spec, agent, default_http_port=DEFAULT_PORT)
        self.database = text_setting(spec, "database")
        self._token = secret_setting(spec, "token", required=False)
        self.name = f"influxdb_v3:{self.database}@{settings.url.split('://', 1)[1]}"
        super().__init__(settings, target=f"influxdb_v3 {settings.url} database {self.database!r}",
                         secrets=(self._token,))
        params = {"db": self.database, "precision": "second", "accept_partial": "false"}
        self._url = f"{settings.url}/api/v3/write_lp?{urlencode(params)}"

    def _write_url(self) -> str:
        return self._url

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.reveal()}"} if self._token is not None else {}

    def _refusal_hint(self, status: int) -> str:
        if status == 401:
            auth = "check the token" if self._token is not None else "the server needs a token: set token"
            return f"authentication failed: {auth}"
        if status == 403:
            return f"the token may not write to database {self.database!r}: use a token with write permission"
        if status == 404:
            return (f"database {self.database!r} or the write_lp endpoint not found: check database and "
                    "that the url points at an InfluxDB 3 server")
        return "unexpected answer: check that the url points at an InfluxDB 3 server"
