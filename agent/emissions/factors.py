"""Grid emission factors with their provenance, and the unit conversions into g/kWh (pure).

A factor is never a bare number: it says which zone and which period it describes, which dataset
and release it comes from, whether it counts generation only (``direct``, what Scope 2 asks for)
or the whole life cycle, which gas basis, its time granularity and whether it is an estimate or a
forecast. Most errors of peer tools come from losing one of these (shared/reference/emissions.md
section 4.3), so every emissions result carries the factor it used.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from agent.errors import NetwattError

LB_IN_G = 453.59237                   # one avoirdupois pound in grams (exact)


class FactorError(NetwattError):
    pass


class Basis(StrEnum):
    DIRECT = "direct"           # generation (combustion) only: the Scope 2 figure
    LIFECYCLE = "lifecycle"     # plus upstream fuel and plant manufacture: label it, never call it Scope 2 direct


class Granularity(StrEnum):
    FIVE_MINUTE = "5min"
    QUARTER_HOURLY = "15min"
    HALF_HOURLY = "half_hourly"
    HOURLY = "hourly"
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def rank(self) -> int:
        """Smaller is finer: the finest factor covering an interval is used."""
        return list(Granularity).index(self)


class Signal(StrEnum):
    AVERAGE = "average"         # grid-average intensity: inventories (location-based Scope 2)
    MARGINAL = "marginal"       # marginal operating emissions rate: scheduling only, never inventories


# value in UNIT x factor = g/kWh
UNITS = {
    "g/kwh": 1.0, "kg/mwh": 1.0, "t/gwh": 1.0,
    "kg/kwh": 1000.0, "t/mwh": 1000.0,
    "g/mwh": 0.001,
    "lb/mwh": LB_IN_G / 1000.0,
    "lbs/mwh": LB_IN_G / 1000.0, "lbs_co2_per_mwh": LB_IN_G / 1000.0,
}


def to_g_per_kwh(value: float, unit: str) -> float:
    """'394.8 lb/MWh' -> 179.08 g/kWh. Unknown units are errors, never guessed."""
    text = unit.strip().lower().replace(" ", "")
    factor = UNITS.get(text) or UNITS.get(re.sub(r"co2(eq|e)?", "", text))
    if factor is None:
        raise FactorError(f"unknown emission factor unit {unit!r} (known: g/kWh, kg/kWh, kg/MWh, t/MWh, lb/MWh)")
    return value * factor


MAX_G_PER_KWH = 2000.0               # above any grid or fuel (lignite is ~1,100 g/kWh): a unit or typing error


def factor_problem(g_per_kwh: float, unit: str = "g/kWh", *, zero_ok: bool = False) -> str:
    """Why a factor (already in g/kWh) cannot be right, stated in ``unit`` ("" when it can)."""
    if not math.isfinite(g_per_kwh):
        return "a factor must be a finite number"
    if g_per_kwh < 0:
        return "a factor cannot be negative"
    if g_per_kwh == 0 and not zero_ok:
        return "a factor must be more than 0 (0 g/kWh is only for a contract's renewable certificates)"
    if g_per_kwh > MAX_G_PER_KWH:
        limit = MAX_G_PER_KWH / to_g_per_kwh(1.0, unit)
        in_unit = "" if unit.strip().lower() == "g/kwh" else f" ({limit:,.6g} {unit})"
        return f"a factor above {MAX_G_PER_KWH:,.0f} g/kWh{in_unit} is not credible; check value and unit"
    return ""


@dataclass(frozen=True, slots=True)
class GridFactor:
    g_per_kwh: float
    zone: str                   # the netwatt grid zone it was looked up for (FR, US-CA, GB-13)
    start_s: float              # the period the value describes (not when it was fetched)
    end_s: float
    source: str                 # short id, the `factor_source` tag: owid-2023, egrid2023, ukci-region-13
    dataset: str
    release: str
    basis: Basis
    gas: str                    # co2 or co2e
    granularity: Granularity
    estimated: bool = False
    forecast: bool = False
    signal: Signal = Signal.AVERAGE
    original: str = ""          # the value as published, with its unit ("394.8 lb/MWh")
    url: str = ""
    note: str = ""              # why this factor: a year mismatch, a fallback and its reason
    data_period: str = ""       # the period the value was published for, when it stands in for another

    def covers(self, time_s: float) -> bool:
        return self.start_s <= time_s < self.end_s

    def period(self) -> str:
        """The period the value describes (an annual factor standing in for a later year names its own)."""
        if self.data_period:
            return self.data_period
        start = datetime.fromtimestamp(self.start_s, UTC)
        if self.granularity is Granularity.ANNUAL:
            return f"{start.year}"
        if self.granularity is Granularity.MONTHLY:
            return f"{start.year}-{start.month:02d}"
        end = datetime.fromtimestamp(self.end_s, UTC)
        return f"{start:%Y-%m-%dT%H:%MZ}/{end:%Y-%m-%dT%H:%MZ}"

    def with_note(self, note: str) -> GridFactor:
        return replace(self, note="; ".join(n for n in (self.note, note) if n))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(basis=str(self.basis), granularity=str(self.granularity), signal=str(self.signal),
                    period=self.period())
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GridFactor:
        fields = {k: v for k, v in data.items() if k != "period"}
        return cls(**{**fields, "basis": Basis(data["basis"]), "granularity": Granularity(data["granularity"]),
                      "signal": Signal(data.get("signal", "average"))})


def year_bounds(year: int) -> tuple[float, float]:
    """A calendar year in UTC (annual datasets do not say which time zone; UTC is the convention)."""
    return (calendar.timegm((year, 1, 1, 0, 0, 0)), calendar.timegm((year + 1, 1, 1, 0, 0, 0)))


def year_of(time_s: float) -> int:
    return datetime.fromtimestamp(time_s, UTC).year


def energy_weighted(pairs: list[tuple[float, float]]) -> float | None:
    """Average factor of [(wh, g_per_kwh)]: sum(E_i x EF_i) / sum(E_i). Never a plain mean of factors."""
    energy = sum(wh for wh, _ in pairs)
    if energy <= 0:
        return None
    return sum(wh * ef for wh, ef in pairs) / energy
