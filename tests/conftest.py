"""Session fixtures that start real servers on 127.0.0.1; the logic lives in tests/harness."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import require_server as _require_server
from tests.harness.pool import MisbehavingFactory, ServerPool, SnmpdFactory, SnmpsimFactory
from tests.harness.require import RequireServer


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """Every server started through the factories below; all stopped at session end."""
    with ServerPool(tmp_path_factory.mktemp("servers")) as pool:
        yield pool


@pytest.fixture(scope="session")
def require_server() -> RequireServer:
    """`require_server(server.start)`: a server that cannot start fails the test (log tail), never skips."""
    return _require_server


@pytest.fixture(scope="session")
def snmpd_factory(server_pool: ServerPool) -> SnmpdFactory:
    """`snmpd_factory(communities=[...], v3_users=[V3User(...)], extra_lines=[...]) -> NetSnmpd`."""
    return server_pool.snmpd


@pytest.fixture(scope="session")
def snmpsim_factory(server_pool: ServerPool) -> SnmpsimFactory:
    """`snmpsim_factory(data_dir, cache_dir=None) -> SnmpsimServer`, one server per data_dir."""
    return server_pool.snmpsim


@pytest.fixture(scope="session")
def misbehaving_agent_factory(server_pool: ServerPool) -> MisbehavingFactory:
    """`misbehaving_agent_factory(mode, table=None, delay_s=3.0) -> MisbehavingAgent`."""
    return server_pool.misbehaving


from tests.harness.influxd import InfluxServerPool  # noqa: E402  (appended with its fixture)


@pytest.fixture(scope="session")
def influxd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServerPool]:
    """`influxd_factory(auth_enabled=False) -> InfluxServer`: a real InfluxDB 1.x (fails, never skips)."""
    pool = InfluxServerPool(tmp_path_factory.mktemp("influxd"))
    try:
        yield pool
    finally:
        pool.close()


from agent.lab import SnmpsimProcess, lab_config_text, lab_dir  # noqa: E402  (appended with its fixture)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimProcess]:
    """The bundled lab (config/lab walks) served by a real snmpsim on 127.0.0.1, for the whole session."""
    with SnmpsimProcess(lab_dir(), cache_dir=tmp_path_factory.mktemp("lab-cache")) as server:
        yield server


@pytest.fixture(scope="module")
def lab_config(lab: SnmpsimProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config polling the lab, with a state directory of its own for each test module."""
    state = tmp_path_factory.mktemp("lab-state")
    path = state / "netwatt.yaml"
    path.write_text(lab_config_text(lab, state_directory=state))
    return path


from tests.harness.netconf_pool import NetconfServerPool  # noqa: E402  (appended with its fixture)


@pytest.fixture(scope="session")
def netconf_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetconfServerPool]:
    """`netconf_servers.netconfd(modules=[...], modpath=[...])` (real netconfd behind real sshd) and
    `netconf_servers.canned(case_dir, delay_s=...)` (recorded replies over real SSH); fail, never skip."""
    with NetconfServerPool(tmp_path_factory.mktemp("netconf")) as pool:
        yield pool


@pytest.fixture(params=["pysnmp", "gufo"])
def snmp_backend(request: pytest.FixtureRequest) -> str:
    """Each SNMP read backend in turn (collectors.snmp.backends): the suites that use it run on both."""
    return str(request.param)


from tests.corpus import absent_note, corpus_present  # noqa: E402  (appended with its hook)


def under_faketime() -> bool:
    return "faketime" in os.environ.get("LD_PRELOAD", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under libfaketime (however it was started) the tests marked real_clock are left out: they involve
    no date logic but cannot run there (see the marker in pyproject.toml and .ci/run)."""
    if not under_faketime():
        return
    left_out = [item for item in items if item.get_closest_marker("real_clock") is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker("real_clock") is None]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line when the LibreNMS corpus beside the clone is absent and its tests did not run; one when
    the clock is moved by libfaketime."""
    if not corpus_present():
        terminalreporter.write_line(absent_note())
    if under_faketime():
        terminalreporter.write_line(f"libfaketime {os.environ.get('FAKETIME', '')}: tests marked real_clock not run")


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Under libfaketime a pool thread left in a timed wait (ncclient or paramiko waiting on a NETCONF peer
    a test made stop answering) never wakes, and Python would wait for it forever at exit. Once everything
    is reported and the harness's servers are stopped, leave without joining such threads."""
    if under_faketime() and _EXIT_STATUS:
        from tests.harness.process import _kill_leftovers  # noqa: PLC0415
        _kill_leftovers()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
