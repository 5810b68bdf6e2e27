"""`netwatt run` as systemd runs it: READY only after the checks, WATCHDOG=1 only while polls are
committed, RELOADING/READY on SIGHUP, STOPPING on SIGTERM; /healthz and /metrics on 127.0.0.1.
A real snmpsim lab, a real AF_UNIX notify socket, real HTTP; the agent in its own process except
where the test must stall its scheduler."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent import health
from agent.config.load import load_config_text
from agent.daemon import Agent
from agent.lab import SnmpsimProcess, lab_config_text
from agent.sdnotify import Notifier
from agent.settings.http import HttpSettings
from agent.store.sqlite import Store
from agent.supervise import Supervisor
from tests.agent_process import netwatt, start_agent, wait_for
from tests.harness.ports import free_tcp_port
from tests.notify_socket import NotifySocket

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.getheader("Content-Type") or "", reply.read().decode()
    finally:
        conn.close()


def service_config(lab: SnmpsimProcess, tmp_path: Path, *, port: int, outputs: str = "") -> Path:
    text = lab_config_text(lab, state_directory=tmp_path / "state", interval_s=1)
    text = text.replace("agent:\n", f"agent:\n  http: {{listen: '127.0.0.1:{port}'}}\n", 1)
    path = tmp_path / "netwatt.yaml"
    path.write_text(text + (f"outputs:\n{outputs}" if outputs else ""))
    return path


def parse_exposition(text: str) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """Prometheus text format 0.0.4, strictly: HELP then TYPE once per family, then its samples."""
    families: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    current = ""
    lines = text.splitlines()
    assert text.endswith("\n")
    for i, line in enumerate(lines):
        if line.startswith("# HELP "):
            current = line.split()[2]
            assert current not in families, f"{current} twice"
            assert lines[i + 1].startswith(f"# TYPE {current} "), line
            families[current] = (lines[i + 1].split()[3], [])
        elif line.startswith("# TYPE "):
            assert line.split()[3] in ("counter", "gauge")
        else:
            match = re.fullmatch(r'([a-z_]+)(\{(?:[a-z_]+="[^"\\\n]*",?)*\})? (\S+)', line)
            assert match, f"bad sample line {line!r}"
            assert match.group(1) == current, f"{line!r} outside its family {current}"
            families[current][1].append((match.group(2) or "", float(match.group(3))))
    for name, (kind, _) in families.items():
        assert name.endswith("_total") == (kind == "counter"), f"{name}: {kind}"
    return families


def test_ready_watchdog_health_metrics_reload_stop(lab: SnmpsimProcess, tmp_path: Path) -> None:
    port = free_tcp_port()
    config = service_config(lab, tmp_path, port=port)
    log = tmp_path / "agent.log"
    with NotifySocket(tmp_path / "notify") as systemd:
        agent = start_agent(config, log, {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "2000000"})
        try:
            [ready] = systemd.wait_for("READY")
            # READY comes after the HTTP endpoints are bound: reachable the moment systemd hears READY
            status, _, _ = get(port, "/healthz")
            assert status in (200, 503)
            assert ready["MAINPID"] == str(agent.pid)
            assert ready["STATUS"].startswith("13 devices")
            systemd.wait_for("WATCHDOG", count=3, timeout=10)     # every 0.5 s while polls are committed
            wait_for(lambda: json.loads(get(port, "/healthz")[2])["polls_committed"] >= 13, 30,
                     "a first poll of every device")
            status, content_type, body = get(port, "/healthz")
            assert status == 200
            report = json.loads(body)
            assert content_type == "application/json"
            assert report["status"] == "ok"
            assert report["reasons"] == []
            assert report["devices"] == 13
            assert report["polls_committed"] >= 13
            assert report["last_poll_age_s"] < 5

            status, content_type, body = get(port, "/metrics")
            assert status == 200
            assert content_type == "text/plain; version=0.0.4; charset=utf-8"
            families = parse_exposition(body)
            assert families["netwatt_devices"] == ("gauge", [("", 13.0)])
            assert families["netwatt_polls_total"][1][0][1] >= 13
            assert families["netwatt_healthy"] == ("gauge", [("", 1.0)])
            assert families["netwatt_build_info"][1][0][0] == '{version="0.1.0"}'
            assert set(health.SELF_METRICS) == set(netwatt_agent_fields(log))

            agent.send_signal(signal.SIGHUP)
            reloaded = systemd.wait_for("READY", count=2)[1]
            assert reloaded["STATUS"].startswith("reloaded: 13 devices")
        finally:
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=15) == 0
        stopping = systemd.wait_for("STOPPING")
        assert stopping[0]["STATUS"].startswith("stopping: 13 devices")
    assert not any("READY" in m for m in systemd.messages[systemd.messages.index(stopping[0]):])


def netwatt_agent_fields(log: Path) -> list[str]:
    """The self-metric field names the agent writes to the `agent` measurement (from the store)."""
    store = Store(log.parent / "state")
    try:
        line = store.points("agent")[-1].line
    finally:
        store.close()
    fields = line.split(" ")[1]
    return [pair.split("=")[0] for pair in fields.split(",")]


def test_failing_output_makes_healthz_503(lab: SnmpsimProcess, tmp_path: Path) -> None:
    port, dead = free_tcp_port(), free_tcp_port()           # nothing listens on `dead`
    config = service_config(lab, tmp_path, port=port,
                            outputs=f"  - {{type: influxdb_v1, url: 'http://127.0.0.1:{dead}', database: netwatt}}\n")
    agent = start_agent(config, tmp_path / "agent.log")
    try:
        wait_for(lambda: _status(port) == 503, 40, "the output to count as failing")
        status, _, body = get(port, "/healthz")
        report = json.loads(body)
        assert status == 503
        assert report["status"] == "failing"
        [reason] = report["reasons"]
        assert reason.startswith(f"output influxdb_v1:netwatt@127.0.0.1:{dead}: ")
        assert "failed writes in a row" in reason
        families = parse_exposition(get(port, "/metrics")[2])
        assert families["netwatt_healthy"] == ("gauge", [("", 0.0)])
        [(labels, failures)] = families["netwatt_output_consecutive_failures"][1]
        assert failures >= health.OUTPUT_FAILURES
        assert labels.startswith('{output="influxdb_v1')
        [(_, pending)] = families["netwatt_output_pending_points"][1]
        assert pending > 0
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0


def _status(port: int) -> int:
    try:
        return get(port, "/healthz")[0]
    except OSError:
        return 0


def test_no_ready_when_the_config_does_not_check(lab: SnmpsimProcess, tmp_path: Path) -> None:
    config = service_config(lab, tmp_path, port=free_tcp_port(),
                            outputs="  - {type: influxdb_v2, url: 'http://127.0.0.1:1', org: o, bucket: b, "
                                    "token: 'env:NETWATT_TEST_UNSET_TOKEN'}\n")
    with NotifySocket(tmp_path / "notify") as systemd:
        out = netwatt("run", "-c", str(config), env={"NOTIFY_SOCKET": systemd.address}, timeout=60)
        time.sleep(0.3)
    assert out.returncode == 2
    assert "NETWATT_TEST_UNSET_TOKEN is not set" in out.stderr
    assert systemd.messages == []


def test_http_port_taken_fails_before_ready(lab: SnmpsimProcess, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        config = service_config(lab, tmp_path, port=holder.getsockname()[1])
        with NotifySocket(tmp_path / "notify") as systemd:
            out = netwatt("run", "-c", str(config), env={"NOTIFY_SOCKET": systemd.address}, timeout=60)
            time.sleep(0.3)
    assert out.returncode == 1
    assert "agent.http: cannot listen on 127.0.0.1:" in out.stderr
    assert systemd.with_key("READY") == []


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_watchdog_stops_when_polling_stalls_and_resumes(
        lab: SnmpsimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(health, "STALL_MARGIN_S", 1.0)        # stuck after 2 x 1 s interval + 1 s
    config = load_config_text(lab_config_text(lab, state_directory=tmp_path / "state", interval_s=1), file="lab.yaml")
    with NotifySocket(tmp_path / "notify") as systemd:
        port = free_tcp_port()
        supervisor = Supervisor(Notifier(systemd.address, watchdog_usec=400_000), HttpSettings("127.0.0.1", port))
        agent = Agent(config, lifecycle=supervisor)
        run = asyncio.get_running_loop().create_task(agent.run())
        try:
            await asyncio.to_thread(systemd.wait_for, "WATCHDOG", 20, 5)
            assert agent._scheduler is not None
            agent._scheduler.pause()                               # polling stops; the event loop does not
            await until(lambda: not agent._running)               # polls in flight may still land
            caplog.clear()
            await until(lambda: "polling is stuck (no poll committed for" in caplog.text)
            pings = len(systemd.with_key("WATCHDOG"))
            status, _, body = await asyncio.to_thread(get, port, "/healthz")
            assert status == 503
            assert json.loads(body)["reasons"][0].startswith("no poll committed for ")
            await asyncio.sleep(1.5)
            assert len(systemd.with_key("WATCHDOG")) == pings, "pinged although no poll was committed"
            agent._scheduler.resume()
            await asyncio.to_thread(systemd.wait_for, "WATCHDOG", 10, pings + 2)
            assert "polling advances again" in caplog.text
            assert (await asyncio.to_thread(get, port, "/healthz"))[0] == 200
        finally:
            agent.stop()
            await asyncio.wait_for(run, 20)
