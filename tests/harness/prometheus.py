"""A real Prometheus (Debian's ``prometheus`` package, 2.42) on 127.0.0.1 scraping given targets.

Its own TSDB under the work dir, the web/API listener on a free loopback port, every scrape at
``scrape_interval``. ``query(promql, at)`` runs an instant query through the HTTP API.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .ports import free_tcp_port
from .process import ManagedProcess, find_tool
from .server import SubprocessServer


class PromQueryError(RuntimeError):
    """A PromQL query failed; the message carries Prometheus' error."""


class PrometheusServer(SubprocessServer):
    name = "prometheus"
    bind_errors = ("address already in use",)

    def __init__(self, targets: list[str], *, scrape_interval: str = "1s", work_dir: Path | None = None,
                 ready_timeout: float = 60.0) -> None:
        super().__init__(work_dir, ready_timeout)
        self.targets = targets
        self.scrape_interval = scrape_interval

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def config(self) -> str:
        targets = ", ".join(json.dumps(t) for t in self.targets)
        return (f"global:\n  scrape_interval: {self.scrape_interval}\n  scrape_timeout: {self.scrape_interval}\n"
                f"scrape_configs:\n  - job_name: netwatt\n    static_configs:\n      - targets: [{targets}]\n")

    def _process(self, port: int) -> ManagedProcess:
        config = self.work_dir / "prometheus.yml"
        config.write_text(self.config())
        argv = [find_tool("prometheus", "/usr/bin"), f"--config.file={config}",
                f"--storage.tsdb.path={self.work_dir / 'data'}", f"--web.listen-address={self.host}:{port}",
                "--log.level=warn"]
        return ManagedProcess(self.name, argv, self.work_dir / "prometheus.log")

    def _free_port(self) -> int:
        return free_tcp_port()

    def _ready(self) -> bool:
        return self._probe()        # a TCP listener: no UDP port to check

    def _probe(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1.0) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def api(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                raise PromQueryError(f"{params}: HTTP {exc.code}: {exc.read()[:300]!r}") from None
        if data.get("status") != "success":
            raise PromQueryError(f"{params}: {data}")
        return data["data"]

    def now(self) -> float:
        """Prometheus' own clock (epoch s). Its scrape timestamps come from it: a Go binary reads the clock
        without libc, so under libfaketime it differs from the test's ``time.time()``."""
        return float(self.api("query", {"query": "time()"})["result"][0])

    def query(self, promql: str, at: float) -> list[tuple[dict[str, str], float]]:
        """An instant query at ``at`` (epoch s): [(labels, value)] of the resulting vector."""
        data = self.api("query", {"query": promql, "time": f"{at:.3f}"})
        if data["resultType"] != "vector":
            raise PromQueryError(f"{promql!r}: a {data['resultType']}, not a vector")
        return [(row["metric"], float(row["value"][1])) for row in data["result"]]

    def samples(self, selector: str, at: float, window_s: int) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Raw samples of ``selector[window]`` at ``at``: (device, method) -> [(time, value)]."""
        data = self.api("query", {"query": f"{selector}[{window_s}s]", "time": f"{at:.3f}"})
        return {(row["metric"].get("device", ""), row["metric"].get("method", "")):
                [(float(t), float(v)) for t, v in row["values"]] for row in data["result"]}
