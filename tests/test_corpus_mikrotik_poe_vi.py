"""MikroTik per-port PoE voltage (dV) and current (mA), read offline from the recorded RB5009 walk
(../shared/corpus/librenms), equal what LibreNMS discovered for the same objects; they are PoE and
never count."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.discover import discover_recording
from agent.power.readings import Kind, Quantity
from tests.corpus import CORPUS, absent_note, corpus_present, corpus_required

if not corpus_present():
    if corpus_required():
        raise RuntimeError(f"NETWATT_REQUIRE_CORPUS=1 but {absent_note()}")
    pytest.skip(absent_note(), allow_module_level=True)

WALK = CORPUS / "routeros_rb5009upr+s+.snmprec"
POE_TABLE = "1.3.6.1.4.1.14988.1.1.15.1.1."          # mtxrPOEEntry


def test_poe_port_voltage_and_current_equal_librenms() -> None:
    result, _ = asyncio.run(discover_recording(WALK))
    ours = {r.address: r for r in result.power.readings}
    expected = json.loads(WALK.with_suffix(".expected.json").read_text(encoding="utf-8"))
    quantities = {"voltage": Quantity.VOLTAGE, "current": Quantity.CURRENT}
    compared = 0
    for sensor in expected["sensors"]:
        oid = sensor["sensor_oid"].lstrip(".")
        if sensor["sensor_class"] not in quantities or not oid.startswith(POE_TABLE):
            continue
        reading = ours[oid]
        assert (reading.quantity, reading.kind) == (quantities[sensor["sensor_class"]], Kind.POE_PORT)
        assert reading.value == pytest.approx(sensor["sensor_current"], abs=1e-9), sensor["sensor_descr"]
        assert not reading.counted
        compared += 1
    assert compared == 16                               # 8 ports x (voltage, current)
