"""Golden tests: every recorded device through the real parsing code, against its expected output
and against the truth a human stated for it."""

from __future__ import annotations

import json
import re

import pytest

from tests.devices_matrix import README, matrix_markdown
from tests.golden_cases import Case, cases, comparable, run_case

CASES = cases()


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
