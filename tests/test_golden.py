"""Golden tests: every recorded device through the real parsing code, against its expected output
and against the truth a human stated for it."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from agent.config.load import load_config_text
from agent.lab import SnmpsimProcess
from agent.poll import Poller
from agent.power.readings import PollResult
from collectors.snmp.backends import BackendRouter
from tests.devices_matrix import README, matrix_markdown
from tests.golden_cases import FIXED_TIME, PROFILES, Case, cases, comparable, run_case

CASES = cases()
SNMP_CASES = [c for c in CASES if c.protocol == "snmp"]   # NETCONF cases already go over real SSH in run_case


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_output_matches_expected(case: Case) -> None:
    expected = json.loads(case.expected_file.read_text(encoding="utf-8"))
    assert comparable(run_case(case)) == expected, (
        "output changed; if intended, run `python -m tests.regen_golden` and review the diff")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_total_matches_the_stated_truth(case: Case) -> None:
    result = run_case(case)
    truth = case.truth
    assert result.errors == []
    if truth["power_w"] is None:
        assert result.power.power_w is None
    else:
        assert result.power.power_w == pytest.approx(truth["power_w"], abs=1e-6)
    assert (str(result.power.method), result.power.basis) == (truth["method"], truth["basis"])
    # a derived reading's address is "V_oid x I_oid": both OIDs make up the total
    counted = {oid for r in result.power.readings if r.counted for oid in r.address.split(" x ")}
    assert counted == {str(oid) for oid in truth["counted"]}
    addresses = {r.address for r in result.power.readings}
    for trap in truth.get("traps", []):
        address = str(trap).split(": ", 1)[0].strip()      # "OID: reason" or "YANG path: reason"
        assert address not in counted, trap
        if case.protocol == "netconf":
            assert address in addresses, f"trap names no reading: {trap}"


def test_readme_device_matrix_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- devices:start -->\n(.*?)<!-- devices:end -->", text, flags=re.S)
    assert match, "README.md lost its device matrix markers"
    assert match.group(1) == matrix_markdown(), "run `python -m tests.regen_golden`"


# -- the same cases over UDP: every case's walk (the bundled lab's and the profile cases' own, in
# their folders) served by one real snmpsim, read by each SNMP backend ---------------------------

def _over_the_wire(lab: SnmpsimProcess, backend: str) -> dict[str, PollResult]:
    lines = ["version: 1", "credentials:"]
    lines += [f"  c-{c.name}: {{version: 2c, community: 'plain:{c.name}'}}" for c in SNMP_CASES]
    lines += ["devices:"]
    lines += [f"  - {{name: {c.name}, address: '{lab.host}:{lab.port}', credential: c-{c.name}, timeout: 5s}}"
              for c in SNMP_CASES]
    config = load_config_text("\n".join(lines), environ={}, builtin_profiles=PROFILES)

    async def poll_all() -> list[PollResult]:
        client = BackendRouter(backend)
        try:
            return await Poller(config, client, clock=lambda: FIXED_TIME).poll_many(config.devices.values())
        finally:
            await client.close()

    return {r.device: r for r in asyncio.run(poll_all())}


@pytest.fixture(scope="module")
def wire_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, PollResult]]:
    walks = tmp_path_factory.mktemp("golden-walks")
    for case in SNMP_CASES:             # the community of a walk is its file name (copied: snmpsim
        (walks / f"{case.name}.snmprec").write_bytes(case.walk.read_bytes())   # resolves symlinks)
    with SnmpsimProcess(walks, cache_dir=tmp_path_factory.mktemp("golden-cache")) as server:
        return {backend: _over_the_wire(server, backend) for backend in ("pysnmp", "gufo")}


def _without_requests(output: dict[str, Any]) -> dict[str, Any]:
    """Request counts depend on the backend (gufo's GETBULK carries one subtree) and on the recording."""
    return {k: v for k, v in output.items() if k != "requests"}


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["pysnmp", "gufo"])
@pytest.mark.parametrize("case", SNMP_CASES, ids=[c.name for c in SNMP_CASES])
def test_over_the_wire_matches_expected(wire_results: dict[str, dict[str, PollResult]], case: Case,
                                        backend: str) -> None:
    result = wire_results[backend][case.name]
    assert result.backend == backend
    expected = json.loads(case.expected_file.read_text(encoding="utf-8"))
    assert _without_requests(comparable(result)) == _without_requests(expected)
