"""A real InfluxDB 1.x (Debian's ``influxdb`` package, 1.6.7) on 127.0.0.1 with its own data dir.

``influxd -config FILE`` with meta/data/wal under the work dir, HTTP and the RPC (backup) service on
two free loopback TCP ports, reporting, monitoring and every other listener off. ``stop()`` and
``start()`` again reuse the same ports and data: the fault tests stop it for a while and restart it.
With ``auth_enabled`` an admin user is created on first start (1.x allows that one unauthenticated
``CREATE USER`` while no user exists) and every helper here authenticates as that user.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

from .ports import free_tcp_port
from .process import ManagedProcess, ServerStartError, find_tool
from .require import StartedServers
from .server import SubprocessServer

_ATTEMPTS = 3
_BIND_ERRORS = ("address already in use", "bind: ")


class InfluxQueryError(RuntimeError):
    """An InfluxQL statement failed; the message carries influxd's error."""


class InfluxServer(SubprocessServer):
    name = "influxd"

    def __init__(
        self,
        *,
        auth_enabled: bool = False,
        admin_user: str = "admin",
        admin_password: str | None = None,
        max_body_size: int | None = None,
        work_dir: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        super().__init__(work_dir, ready_timeout)
        self.auth_enabled = auth_enabled
        self.admin_user = admin_user
        self.admin_password = admin_password or "adm-" + secrets.token_hex(8)
        self.max_body_size = max_body_size
        self.rpc_port = 0
        self.conf_path = self.work_dir / "influxd.conf"
        self._bootstrapped = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- process -------------------------------------------------------------------------------------

    def config(self) -> str:
        d = self.work_dir
        body_limit = f"  max-body-size = {self.max_body_size}\n" if self.max_body_size is not None else ""
        return (
            "reporting-disabled = true\n"
            f'bind-address = "{self.host}:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d / "meta"}"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{d / "data"}"\n  wal-dir = "{d / "wal"}"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            "[subscriber]\n  enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
            "[retention]\n  enabled = false\n"
            "[shard-precreation]\n  enabled = false\n"
            f'[http]\n  enabled = true\n  bind-address = "{self.host}:{self.port}"\n'
            f"  auth-enabled = {'true' if self.auth_enabled else 'false'}\n"
            "  log-enabled = true\n  pprof-enabled = false\n"
            f"{body_limit}"
            "[ifql]\n  enabled = false\n"
            "[logging]\n  suppress-logo = true\n  level = \"info\"\n"
            # collectd, graphite, opentsdb and udp are off unless a [[...]] section enables them.
        )

    def _process(self, port: int) -> ManagedProcess:
        self.conf_path.write_text(self.config())
        argv = [find_tool("influxd", "/usr/bin", "/usr/sbin"), "-config", str(self.conf_path)]
        proc = ManagedProcess(self.name, argv, self.work_dir / "influxd.log")
        # influxd lets INFLUXDB_* variables override the file: none of the caller's may leak in.
        for key in [k for k in proc.env if k.startswith("INFLUXDB_")]:
            del proc.env[key]
        return proc

    def _probe(self) -> bool:
        try:
            status, headers, _ = self.http("GET", "/ping", auth=False, timeout=1.0)
        except OSError:
            return False
        return status == 204 and "X-Influxdb-Version" in headers

    def _launch(self) -> None:
        proc = self._proc = self._process(self.port)
        proc.start()
        proc.wait_ready(self._probe, self.ready_timeout)

    def start(self) -> Self:
        """Start (first time: on new free ports) and wait for /ping; ServerStartError with the log tail."""
        if self._proc is not None:
            return self
        if self.port:  # a restart: same ports, same data
            try:
                self._launch()
            except ServerStartError:
                self.stop()
                raise
            return self
        for attempt in range(1, _ATTEMPTS + 1):
            self.port = free_tcp_port()
            self.rpc_port = free_tcp_port()
            while self.rpc_port == self.port:
                self.rpc_port = free_tcp_port()
            try:
                self._launch()
                break
            except ServerStartError as exc:
                self.stop()
                if attempt == _ATTEMPTS or not any(m in exc.log_tail for m in _BIND_ERRORS):
                    self.port = 0
                    raise
        if self.auth_enabled and not self._bootstrapped:
            self.query(f"CREATE USER \"{self.admin_user}\" WITH PASSWORD '{self.admin_password}' "
                       "WITH ALL PRIVILEGES", auth=False)
        self._bootstrapped = True
        return self

    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    # --- HTTP helpers -------------------------------------------------------------------------------------

    def http(self, method: str, path: str, params: dict[str, str] | None = None, body: bytes | None = None,
             headers: dict[str, str] | None = None, *, auth: bool = True, timeout: float = 10.0
             ) -> tuple[int, dict[str, str], bytes]:
        """One request to influxd; (status, headers, body) for any status. OSError if unreachable."""
        url = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        if auth and self.auth_enabled:
            pair = f"{self.admin_user}:{self.admin_password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers.items()), exc.read()

    def query(self, influxql: str, db: str | None = None, *, auth: bool = True) -> list[dict[str, Any]]:
        """Run InfluxQL (POST /query, epoch=s); one dict per row.

        Each row has ``name`` (the measurement), ``tags`` (the series' GROUP BY tags, {} without
        GROUP BY) and one key per column, ``time`` in seconds. Raises InfluxQueryError on any error.
        """
        params = {"q": influxql, "epoch": "s"}
        if db:
            params["db"] = db
        form = urllib.parse.urlencode(params).encode()
        status, _, raw = self.http("POST", "/query", body=form, auth=auth,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise InfluxQueryError(f"{influxql!r}: HTTP {status}, not JSON: {raw[:200]!r}") from None
        if status != 200 or "error" in data:
            raise InfluxQueryError(f"{influxql!r}: HTTP {status}: {data.get('error', raw[:200])}")
        rows: list[dict[str, Any]] = []
        for result in data.get("results", []):
            if "error" in result:
                raise InfluxQueryError(f"{influxql!r}: {result['error']}")
            for series in result.get("series", []):
                for values in series.get("values", []):
                    row: dict[str, Any] = {"name": series.get("name", ""), "tags": series.get("tags", {})}
                    row.update(zip(series["columns"], values, strict=True))
                    rows.append(row)
        return rows

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')

    def create_user(self, name: str, password: str, *, write_on: str | None = None,
                    read_on: str | None = None) -> None:
        self.query(f"CREATE USER \"{name}\" WITH PASSWORD '{password}'")
        if write_on:
            self.query(f'GRANT WRITE ON "{write_on}" TO "{name}"')
        if read_on:
            self.query(f'GRANT READ ON "{read_on}" TO "{name}"')

    def write(self, lines: list[str], db: str, precision: str = "s") -> tuple[int, bytes]:
        """A raw 1.x write (test setup): (status, body)."""
        body = ("\n".join(lines) + "\n").encode()
        status, _, raw = self.http("POST", "/write", {"db": db, "precision": precision}, body)
        return status, raw


class InfluxServerPool(StartedServers):
    """Starts InfluxServers on demand under one root and stops them all at the end (a session fixture)."""

    def __call__(self, *, auth_enabled: bool = False, max_body_size: int | None = None) -> InfluxServer:
        return self._start(InfluxServer(auth_enabled=auth_enabled, max_body_size=max_body_size,
                                        work_dir=self.work_root / f"influxd-{len(self._servers) + 1}"))
