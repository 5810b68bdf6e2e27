"""The one table by which every unit a device or a profile declares becomes watts, volts or amperes.

Every scaling netwatt applies goes through here: a unit name in a profile (``unit: milliwatts``) or
in a reply (IOS-XE ``sensor-units``), the ENTITY-SENSOR-MIB scale enum with its precision
(RFC 3433, also CISCO-ENTITY-SENSOR-MIB), and power-of-ten unit multipliers (IEEE 61850 /
ENERGY-OBJECT-MIB ``UnitMultiplier``, EXTREME-SYSTEM-MIB). A unit the table does not know is an
``UnknownUnit`` error ("unknown unit X"): the reading is rejected with that reason, never guessed.
"""

from __future__ import annotations

import re

from agent.power.readings import Quantity

# SI prefixes: name -> (symbol, power of ten). The exponents are also the legal unit multipliers.
PREFIXES: dict[str, tuple[str, int]] = {
    "yocto": ("y", -24), "zepto": ("z", -21), "atto": ("a", -18), "femto": ("f", -15),
    "pico": ("p", -12), "nano": ("n", -9), "micro": ("u", -6), "milli": ("m", -3),
    "centi": ("c", -2), "deci": ("d", -1), "": ("", 0), "deca": ("da", 1), "hecto": ("h", 2),
    "kilo": ("k", 3), "mega": ("M", 6), "giga": ("G", 9), "tera": ("T", 12), "peta": ("P", 15),
    "exa": ("E", 18), "zetta": ("Z", 21), "yotta": ("Y", 24),
}
# Base units: word (singular) -> (symbol, quantity). Volts AC/DC and amps are spelling variants.
BASES: dict[str, tuple[str, Quantity]] = {
    "watt": ("W", Quantity.POWER), "volt": ("V", Quantity.VOLTAGE), "ampere": ("A", Quantity.CURRENT),
}
_WORD_ALIASES = {"amp": "ampere", "voltsac": "volt", "voltsdc": "volt", "voltac": "volt", "voltdc": "volt"}
# RFC 3433 EntitySensorDataScale; note exa(14) before peta(15), as the MIB has it.
ENTITY_SENSOR_SCALE: dict[int, str] = {
    1: "yocto", 2: "zepto", 3: "atto", 4: "femto", 5: "pico", 6: "nano", 7: "micro", 8: "milli",
    9: "", 10: "kilo", 11: "mega", 12: "giga", 13: "tera", 14: "exa", 15: "peta", 16: "zetta", 17: "yotta",
}
_EXPONENTS = {exponent for _, exponent in PREFIXES.values()}
_SYMBOLS = {f"{symbol}{base}": (quantity, 10.0 ** exponent)
            for symbol, exponent in PREFIXES.values() for base, quantity in BASES.values()}
_SYMBOLS.update({f"µ{base}": (quantity, 1e-6) for base, quantity in BASES.values()})
_LONGEST_PREFIX_FIRST = sorted(PREFIXES.items(), key=lambda item: -len(item[0]))
_SEPARATORS = re.compile(r"[\s_\-]+")
# CISCO-ENTITY-FRU-CONTROL-MIB cefcPowerUnits: "CentiAmps @ 12V", "centiAmpsAt12V", "milliAmps12v",
# "Amps @ 50": amounts of current on a supply rail of that voltage, i.e. power.
_AT_VOLTAGE = re.compile(
    r"(?i)^(?P<current>[a-z]*amp(?:ere)?s?)\s*(?:@|at)?\s*(?P<volts>\d+(?:\.\d+)?)\s*(?:v|volts?)?$")


class UnknownUnit(ValueError):
    """A unit, scale or multiplier the table does not know; ``str()`` is the reading's reason."""


def unit(name: str) -> tuple[Quantity, float]:
    """``milliwatts``, ``milli-watts``, ``mW``, ``Watts``, ``volts-dc``, ``dA`` -> (quantity, factor);
    a current at a stated voltage (``CentiAmps @ 12V``) is power: amperes x volts."""
    text = name.strip()
    if text in _SYMBOLS:                      # symbols are case-sensitive: mW is not MW
        return _SYMBOLS[text]
    at_voltage = _AT_VOLTAGE.match(text)
    if at_voltage:
        current, amperes = unit(at_voltage["current"])
        if current is Quantity.CURRENT:
            return Quantity.POWER, amperes * float(at_voltage["volts"])
    word = _SEPARATORS.sub("", text.lower())
    for prefix, (_, exponent) in _LONGEST_PREFIX_FIRST:
        if not word.startswith(prefix):
            continue
        base = _WORD_ALIASES.get(word[len(prefix):], word[len(prefix):])
        base = _WORD_ALIASES.get(base.removesuffix("s"), base.removesuffix("s"))
        if base in BASES:
            return BASES[base][1], 10.0 ** exponent
    raise UnknownUnit(f"unknown unit {name!r}")


def unit_of(name: str, quantity: Quantity) -> float:
    """The factor of a unit that must measure ``quantity`` (a power row in millivolts is refused)."""
    measured, factor = unit(name)
    if measured is not quantity:
        raise UnknownUnit(f"unknown unit {name!r} for {quantity} (it measures {measured})")
    return factor


def entity_sensor_factor(scale: object, precision: object) -> float:
    """RFC 3433 / CISCO-ENTITY-SENSOR-MIB: SI prefix enum x decimal places."""
    if not isinstance(scale, int) or scale not in ENTITY_SENSOR_SCALE:
        raise UnknownUnit(f"unknown unit: sensor scale {scale!r} (RFC 3433 knows 1 yocto .. 17 yotta)")
    factor = 10.0 ** PREFIXES[ENTITY_SENSOR_SCALE[scale]][1]
    # 1..9 are decimal places; <= 0 is not fixed-point; anything else is a bug seen in the wild
    # (precision 1615384784) and is ignored rather than trusted.
    if isinstance(precision, int) and 1 <= precision <= 9:
        factor /= 10.0 ** precision
    return factor


def multiplier_factor(exponent: object) -> float:
    """A power-of-ten unit multiplier (IEEE 61850 / ENERGY-OBJECT-MIB UnitMultiplier): an SI prefix."""
    if not isinstance(exponent, int) or isinstance(exponent, bool) or exponent not in _EXPONENTS:
        raise UnknownUnit(f"unknown unit multiplier {exponent!r} (an SI prefix exponent, -24..24)")
    return 10.0 ** exponent

