"""A refusal is an error: `wifi on|off|apply` exits 1 when a target was refused or failed, the JSON says
which and why, and the API answers 4xx. Real snmpd with the AireOS tables."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli import main
from agent.config.load import load_config_text
from tests import test_wifi_snmp
from tests.harness.snmpd import NetSnmpd
from tests.test_wifi_snmp import ENV, EXAMPLE, Clock, close, service
from tests.wifi_venue import Venue, cli_setup

venue = test_wifi_snmp.venue            # the snmpd venue fixture
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALLOW = "allow_controllers: [wlc-1, sw-bowl-1]"


def not_allowlisted(server: NetSnmpd, state: Path) -> str:
    """The Vélodrome example with the WLC left out of the controller allowlist."""
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint).replace("/var/lib/netwatt", str(state))
    assert ALLOW in text
    return text.replace(ALLOW, "allow_controllers: [sw-bowl-1]")


def test_cli_exits_1_when_every_target_is_refused(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    v, server = venue
    path = cli_setup(not_allowlisted(server, tmp_path / "state"), tmp_path, monkeypatch, ENV, lambda: MONDAY)
    assert main(["wifi", "-c", str(path), "--format", "json", "off", "--group", "concourse", "--for", "1h"]) == 1
    out = capsys.readouterr().out
    data = json.loads(out[out.index("{"):])
    assert data["ok"] is False
    refused = {p["target"]: p["why"] for p in data["problems"]}
    assert set(refused) == {f"wlc-1/{ap}/{s}" for ap in ("conc-01", "conc-02", "office-01") for s in (0, 1)}
    assert refused["wlc-1/conc-01/0"] == "controller wlc-1 is not in guards.allow_controllers"
    assert v.radio_enabled("conc-01", 0)                        # nothing was switched
    assert main(["wifi", "-c", str(path), "apply"]) == 1       # the bowl's default off is refused as well
    assert "NOT DONE wlc-1/bowl-n-01/0: refused: controller wlc-1 is not in" in capsys.readouterr().out
    assert main(["wifi", "-c", str(path), "plan"]) == 0         # a dry run reports, it does not fail


def test_cli_exits_0_when_the_group_is_done(venue: tuple[Venue, NetSnmpd], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    v, server = venue
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", server.endpoint)
    path = cli_setup(text.replace("/var/lib/netwatt", str(tmp_path / "state")), tmp_path, monkeypatch, ENV,
                     lambda: MONDAY)
    assert main(["wifi", "-c", str(path), "--format", "json", "off", "--group", "bowl", "--for", "1h"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["ok"] is True
    assert not v.radio_enabled("bowl-n-01", 0)
    assert main(["wifi", "-c", str(path), "status"]) == 0      # the table, from the store's typed records
    table = capsys.readouterr().out.splitlines()
    assert next(line for line in table if line.startswith("wlc-1/bowl-n-01/0 ")).split()[1] == "off"
    assert any(line.startswith("request 1: group bowl off until ") and "(cli:" in line for line in table), table
    # the concourse's critical office AP refused: the group's request exits 1 and says why
    assert main(["wifi", "-c", str(path), "--format", "json", "off", "--group", "concourse", "--for", "1h"]) == 1
    out = capsys.readouterr().out
    problems = json.loads(out[out.index("{"):])["problems"]
    assert {p["target"] for p in problems} >= {"wlc-1/office-01/0", "wlc-1/office-01/1"}
    assert all(p["result"] == "refused" for p in problems)


def test_api_answers_403_to_a_refused_request(venue: tuple[Venue, NetSnmpd], tmp_path: Path) -> None:
    from agent.httpapi import LocalHttpServer  # noqa: PLC0415
    from agent.wifi.api import add_routes  # noqa: PLC0415
    v, server = venue
    config = load_config_text(not_allowlisted(server, tmp_path / "state"), file="velodrome.yaml", environ=ENV)
    token = ENV["NETWATT_WIFI_TOKEN"]

    def post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    async def scenario() -> None:
        svc, store, reader = service(config, Clock(MONDAY))
        http = LocalHttpServer("127.0.0.1", 0)
        add_routes(http, svc)
        await http.start()
        try:
            status, body = await asyncio.to_thread(post, f"{http.url}/wifi/off", {"group": "concourse", "for": "1h"})
            assert status == 403, body
            assert body["ok"] is False
            assert {p["result"] for p in body["problems"]} == {"refused"}  # type: ignore[attr-defined]
            assert v.radio_enabled("conc-02", 1)
        finally:
            await http.close()
            await close(svc, store, reader)

    asyncio.run(scenario())


def test_cli_exits_1_when_the_controller_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text().replace("127.0.0.1:1161", "127.0.0.1:9")
    path = cli_setup(text.replace("/var/lib/netwatt", str(tmp_path / "state")), tmp_path, monkeypatch, ENV,
                     lambda: MONDAY)
    assert main(["wifi", "-c", str(path), "--format", "json", "off", "--group", "bowl", "--for", "1h"]) == 1
    out = capsys.readouterr().out
    problems = json.loads(out[out.index("{"):])["problems"]
    assert {p["result"] for p in problems} == {"unknown"}
    assert len(problems) == 6
