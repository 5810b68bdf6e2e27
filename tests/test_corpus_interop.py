"""Interoperability: real device walks (../shared/corpus/librenms) served by a real snmpsim agent,
polled over UDP by the real collector, once with each SNMP read backend (gufo-snmp and pysnmp). The
device total follows the corpus truth rule, every reading we keep equals what LibreNMS discovered on
the same walk (or the test says why not), and both backends give the same normalised output."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from agent.config.load import Config, load_config_text
from agent.lab import SnmpsimProcess
from agent.poll import Poller
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import PollResult, Quantity, Status
from collectors.snmp.backends import BackendRouter
from tests.corpus import CORPUS, absent_note, corpus_present, corpus_required
from tests.corpus_coverage import coverage
from tests.golden_cases import comparable

if not corpus_present():
    if corpus_required():
        raise RuntimeError(f"NETWATT_REQUIRE_CORPUS=1 but {absent_note()}")
    pytest.skip(absent_note(), allow_module_level=True)

# device: (power_w, method, basis, the OIDs that make the total)
TRUTH: dict[str, tuple[float | None, str, str | None, set[str]]] = {
    # PSU output (ARUBAWIRED); the ENTITY-SENSOR row 7401 repeats PSU 1/2 and must count once
    "arubaos-cx_8360": (104.0, "measured", "psu_output", {
        "1.3.6.1.4.1.47196.4.1.1.3.11.2.1.1.7.1.1", "1.3.6.1.4.1.47196.4.1.1.3.11.2.1.1.7.1.2"}),
    "ios_2960x": (None, "unknown", None, set()),              # PoE budget 370 W / consumption 115 W only
    "iosxe_c9200l": (None, "unknown", None, set()),           # PoE pools only
    "iosxe_c9400": (1318.0, "measured", "module", {
        f"1.3.6.1.4.1.9.9.91.1.1.1.1.4.{i}" for i in (1020, 2042, 3042, 4015)}),
    "iosxe_c9600-svl": (438.0, "measured", "module", {
        "1.3.6.1.4.1.9.9.91.1.1.1.1.4.3033", "1.3.6.1.4.1.9.9.91.1.1.1.1.4.9033"}),
    "iosxr_asr9010": (None, "unknown", None, set()),          # optics only, incl. -32768 sentinels
    "iosxr_ncs55a2": (215.28, "measured", "psu_input", {
        "1.3.6.1.4.1.9.9.91.1.1.1.1.4.4367", "1.3.6.1.4.1.9.9.91.1.1.1.1.4.8463"}),
    "junos_ex": (None, "unknown", None, set()),               # PoE controller loads only
    # PSU watts (output side); "PoE Power Used" 96 W is inside them and is not added
    "procurve": (93.0, "measured", "psu_output", {
        "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.1", "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.6.2"}),
    "routeros_rb5009upr+s+": (None, "unknown", None, set()),  # PoE out only
    "vrp_power": (90.43, "measured", "chassis", {"1.3.6.1.4.1.2011.6.157.1.6.0"}),
}
# Where LibreNMS records a value we deliberately do not keep, and why.
LIBRENMS_IS_WRONG = {
    # Cisco's -32768 is "no reading" on broken optics; LibreNMS scales it into -0.032768 W.
    "-32768": "error sentinel -32768",
}


def device_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", stem)


BACKENDS = ("pysnmp", "gufo")


@pytest.fixture(scope="module")
def results_by_backend(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, PollResult]]:
    walks = sorted(p.stem for p in CORPUS.glob("*.snmprec"))
    assert set(walks) == set(TRUTH), "every corpus walk needs its truth stated here"
    cache = tmp_path_factory.mktemp("snmpsim-cache")
    with SnmpsimProcess(CORPUS, cache_dir=cache) as server:
        lines = ["version: 1", "credentials:"]
        lines += [f"  c-{device_name(w)}: {{version: 2c, community: 'plain:{w}'}}" for w in walks]
        lines += ["devices:"]
        lines += [f"  - {{name: '{device_name(w)}', address: '127.0.0.1:{server.port}', "
                  f"credential: 'c-{device_name(w)}', timeout: 5s, retries: 1}}" for w in walks]
        config = load_config_text("\n".join(lines), environ={}, builtin_profiles=load_builtin_profiles())
        by_backend = {backend: asyncio.run(_poll_all(config, backend)) for backend in BACKENDS}
    return {backend: {r.device: r for r in results} for backend, results in by_backend.items()}


@pytest.fixture(params=BACKENDS)
def corpus_results(request: pytest.FixtureRequest,
                   results_by_backend: dict[str, dict[str, PollResult]]) -> dict[str, PollResult]:
    results = results_by_backend[request.param]
    assert {r.backend for r in results.values()} == {request.param}
    return results


async def _poll_all(config: Config, backend: str) -> list[PollResult]:
    client = BackendRouter(backend)
    try:
        return await Poller(config, client).poll_many(config.devices.values())
    finally:
        await client.close()


@pytest.mark.integration
@pytest.mark.parametrize("walk", sorted(TRUTH))
def test_device_total_follows_the_truth_rule(corpus_results: dict[str, PollResult], walk: str) -> None:
    result = corpus_results[device_name(walk)]
    power_w, method, basis, counted = TRUTH[walk]
    assert result.errors == []
    assert (result.power.power_w, str(result.power.method), result.power.basis) == (
        pytest.approx(power_w) if power_w is not None else None, method, basis)
    assert {r.address for r in result.power.readings if r.counted} == counted


@pytest.mark.integration
@pytest.mark.parametrize("walk", sorted(TRUTH))
def test_readings_equal_librenms(corpus_results: dict[str, PollResult], walk: str) -> None:
    result = corpus_results[device_name(walk)]
    ours = {r.address: r for r in result.power.readings if r.quantity is Quantity.POWER}
    expected = json.loads((CORPUS / f"{walk}.expected.json").read_text())
    compared = 0
    for sensor in expected["sensors"]:
        if sensor["sensor_class"] != "power":
            continue
        oid = sensor["sensor_oid"].lstrip(".")
        reading = ours.get(oid)
        assert reading is not None, f"{walk}: LibreNMS found {oid} ({sensor['sensor_descr']}), we did not"
        if reading.status is Status.REJECTED:
            assert str(reading.raw) in LIBRENMS_IS_WRONG, f"{walk}: {oid} rejected: {reading.reason}"
            assert reading.reason == LIBRENMS_IS_WRONG[str(reading.raw)]
            continue
        assert reading.value == pytest.approx(sensor["sensor_current"], abs=1e-9), (
            f"{walk}: {oid} {sensor['sensor_descr']}")
        compared += 1
    for address in TRUTH[walk][3]:
        assert ours[address].counted
    assert compared > 0 or walk == "iosxr_asr9010"


@pytest.mark.integration
def test_traps_never_count(corpus_results: dict[str, PollResult]) -> None:
    never = {"poe_budget", "budget", "capacity", "optic", "average", "poe_port", "poe_total", "rf_output"}
    for result in corpus_results.values():
        for reading in result.power.readings:
            if str(reading.kind) in never:
                assert not reading.counted, (result.device, reading.address)


@pytest.mark.integration
@pytest.mark.parametrize("walk", sorted(TRUTH))
def test_both_backends_give_the_same_output(results_by_backend: dict[str, dict[str, PollResult]],
                                            walk: str) -> None:
    """Values, scaling, classification, verdicts and totals, device by device (requests may differ:
    gufo's GETBULK carries one subtree, pysnmp's all of them)."""
    gufo, pysnmp = (comparable(results_by_backend[b][device_name(walk)]) for b in ("gufo", "pysnmp"))
    for output in (gufo, pysnmp):
        output.pop("requests")
        output.pop("time")
    assert gufo == pysnmp


def test_discover_coverage_of_the_corpus_meets_the_goals() -> None:
    """The acceptance suite's three ratios, measured offline with ``discover --walk`` on every
    corpus walk and printed (``pytest -s``, or ``python -m tests.corpus_coverage``)."""
    device_level = {walk for walk, truth in TRUTH.items() if truth[0] is not None}
    cov = coverage(CORPUS.glob("*.snmprec"), device_level)
    print("\n" + "\n".join(cov.lines()))
    assert cov.sensors > 0
    assert cov.seen >= 0.95 * cov.sensors, cov.misses
    assert cov.agree >= 0.99 * cov.accepted, cov.misses
    assert cov.devices_with_total >= 0.9 * cov.devices_with_power, cov.misses
