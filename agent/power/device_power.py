"""Readings -> the device's electrical power, without double counting (pure).

Order of trust for the total: PSU input sum > a device total object > PSU output sum > sum of
modules that do not contain each other. Budgets, capacities, averages and optics never count; PoE
is delivered from inside the switch's input power and is never added to it. Where PSUs report only
voltage and current, watts are derived (V x I). Where nothing usable exists the total is None with
method ``unknown``: never a guess presented as a measurement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from agent.power.readings import DevicePower, Kind, Method, Quantity, Reading, Status

BASIS_ORDER = (Kind.PSU_INPUT, Kind.CHASSIS, Kind.PSU_OUTPUT, Kind.MODULE)
# A supervisor, PSU or chassis drawing less than a watt is a wrong scale (C9600 micro-watt bug),
# not a measurement; more than 50 kW from one reading is not a network device.
MIN_LIVE_W = 1.0
MAX_READING_W = 50_000.0


def device_power(readings: Sequence[Reading]) -> DevicePower:
    readings = list(readings)
    _mark_duplicates(readings)
    _check_plausibility(readings)
    readings.extend(_derive_power(readings))
    for basis in BASIS_ORDER:
        chosen = _usable(readings, basis)
        if basis is Kind.MODULE:
            chosen = _outermost(chosen)
        if chosen and sum(r.value or 0.0 for r in chosen) > 0:
            for reading in chosen:
                reading.counted = True
            method = Method.DERIVED if any(r.method is Method.DERIVED for r in chosen) else Method.MEASURED
            total = round(sum(r.value or 0.0 for r in chosen), 6)
            return DevicePower(total, method, str(basis), readings)
    return DevicePower(None, Method.UNKNOWN, None, readings, note=_why_unknown(readings))


def _usable(readings: Sequence[Reading], kind: Kind) -> list[Reading]:
    return [r for r in readings if r.kind is kind and r.quantity is Quantity.POWER
            and r.status is Status.OK and r.value is not None]


def _mark_duplicates(readings: list[Reading]) -> None:
    """The same OID twice, or the same physical thing through two MIBs: the first one wins."""
    seen_oids: dict[str, Reading] = {}
    seen_keys: dict[tuple[str, Quantity], Reading] = {}
    for reading in readings:
        first = seen_oids.get(reading.address)
        if first is not None:
            reading.reject(f"same object as {first.profile}/{first.metric}", Status.DUPLICATE)
            continue
        seen_oids[reading.address] = reading
        if not reading.dedupe_key or reading.status is not Status.OK:
            continue
        key = (reading.dedupe_key, reading.quantity)
        first = seen_keys.get(key)
        if first is not None:
            reading.reject(f"same {reading.kind} as {first.address} ({first.profile})", Status.DUPLICATE)
        else:
            seen_keys[key] = reading


def _check_plausibility(readings: list[Reading]) -> None:
    power = [r for r in readings if r.quantity is Quantity.POWER and r.status is Status.OK
             and r.value is not None]
    capacities = [r.value for r in power if r.kind is Kind.CAPACITY and r.value]
    device_capacity = sum(v for v in capacities if v is not None)
    for reading in power:
        value = reading.value
        assert value is not None
        if value < 0:
            reading.reject(f"negative power {value:g} W")
        elif value > MAX_READING_W:
            reading.reject(f"{value:g} W is above {MAX_READING_W:g} W: not a plausible reading")
        elif reading.kind in BASIS_ORDER:
            if reading.kind is Kind.CHASSIS and value == 0:
                reading.reject("device total reads 0 W on a device that answers: unavailable")
            elif 0 < value < MIN_LIVE_W:
                reading.reject(f"{value:g} W is implausibly small for a {reading.kind} (wrong scale?)")
            elif reading.capacity_w is not None and value > reading.capacity_w:
                reading.reject(f"{value:g} W is above its rated capacity {reading.capacity_w:g} W")
            elif device_capacity and value > device_capacity:
                reading.reject(f"{value:g} W is above the device's reported capacity {device_capacity:g} W")
    # A standby PSU reading 0 W is real; every PSU reading 0 W on a live device is not.
    for kind in (Kind.PSU_INPUT, Kind.PSU_OUTPUT):
        group = _usable(readings, kind)
        if group and all(r.value == 0 for r in group):
            for reading in group:
                reading.reject("every power supply reads 0 W on a live device: unavailable")


def _derive_power(readings: Sequence[Reading]) -> list[Reading]:
    """PSU watts from voltage x current where the PSU has no watts reading of that side."""
    has_watts = {(r.component, r.kind) for r in _usable(readings, Kind.PSU_INPUT)}
    has_watts |= {(r.component, r.kind) for r in _usable(readings, Kind.PSU_OUTPUT)}
    pairs: dict[tuple[str, Kind], dict[Quantity, Reading]] = defaultdict(dict)
    for reading in readings:
        if (reading.kind in (Kind.PSU_INPUT, Kind.PSU_OUTPUT) and reading.status is Status.OK
                and reading.value is not None and reading.quantity is not Quantity.POWER):
            pairs[(reading.component, reading.kind)].setdefault(reading.quantity, reading)
    derived: list[Reading] = []
    for (component, kind), pair in pairs.items():
        volts, amps = pair.get(Quantity.VOLTAGE), pair.get(Quantity.CURRENT)
        if volts is None or amps is None or (component, kind) in has_watts:
            continue
        assert volts.value is not None
        assert amps.value is not None
        reading = Reading(
            component=component, kind=kind, quantity=Quantity.POWER,
            value=round(volts.value * amps.value, 6), source=volts.source,
            address=f"{volts.address} x {amps.address}", raw=[volts.raw, amps.raw], scale=1.0,
            profile=volts.profile, metric="derived_v_x_i", method=Method.DERIVED,
            entity=volts.entity, sensor="v_x_i",     # one per component and side
            reason="voltage x current" + (" (apparent power, VA, on the AC input)"
                                           if kind is Kind.PSU_INPUT else ""),
        )
        if reading.value is not None and 0 < reading.value < MIN_LIVE_W:
            reading.reject(f"{reading.value:g} W is implausibly small for a {kind}")
        derived.append(reading)
    return derived


def _outermost(modules: list[Reading]) -> list[Reading]:
    """Modules reported inside other reported modules are already in their parent's figure."""
    reported = {r.entity for r in modules if r.entity is not None}
    return [r for r in modules if not reported.intersection(r.within)]


def _why_unknown(readings: Sequence[Reading]) -> str:
    kinds = sorted({str(r.kind) for r in readings
                    if r.status is Status.OK and r.quantity is Quantity.POWER})
    if not readings:
        return "the device reported no power objects the profiles know"
    if not kinds:
        return "every power reading was rejected"
    return "no device-level power: only " + ", ".join(kinds)
