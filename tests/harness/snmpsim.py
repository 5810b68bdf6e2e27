"""snmpsim-command-responder serving a folder of .snmprec walks."""

from __future__ import annotations

from pathlib import Path

from .probe import v2c_get
from .process import ManagedProcess, ServerStartError, find_tool
from .server import SubprocessServer


def communities_of(data_dir: Path) -> list[str]:
    """snmpsim's v1/v2c community of each walk: its path under data_dir without `.snmprec`."""
    return sorted(p.relative_to(data_dir).with_suffix("").as_posix() for p in data_dir.rglob("*.snmprec"))


class SnmpsimServer(SubprocessServer):
    """Serves every walk in `data_dir`; the index goes to `cache_dir` so later starts skip indexing."""

    name = "snmpsim"

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path | None = None,
        *,
        work_dir: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        super().__init__(work_dir, ready_timeout)
        self.data_dir = data_dir.resolve()
        self.cache_dir = (cache_dir or self.work_dir / "cache").resolve()
        self.communities = communities_of(self.data_dir) if self.data_dir.is_dir() else []

    def _process(self, port: int) -> ManagedProcess:
        if not self.communities:
            raise ServerStartError(self.name, f"no .snmprec walk under {self.data_dir}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            find_tool("snmpsim-command-responder"),
            f"--data-dir={self.data_dir}",
            f"--agent-udpv4-endpoint={self.host}:{port}",
            f"--cache-dir={self.cache_dir}",
        ]
        # snmpsim refuses root without SNMPSIM_ALLOW_ROOT; unbuffered so the log tail is current.
        env = {"SNMPSIM_ALLOW_ROOT": "true", "PYTHONUNBUFFERED": "1"}
        return ManagedProcess(self.name, argv, self.work_dir / f"snmpsim-{port}.log", env)

    def _probe(self) -> bool:
        return v2c_get(self.host, self.port, self.communities[0], timeout=1.0)
