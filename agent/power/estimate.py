"""A labelled estimate for devices that report no electrical power (method ``estimated``).

Order (shared/reference/power-telemetry.md section 7): the model's base power calibrated by
same-model devices that do report, else the datasheet typical power, plus the measured PoE output
divided by the PSU efficiency (PoE leaves the switch through its supplies). With neither a base
figure nor a calibration, PoE / efficiency alone is given and flagged as a lower bound. Nothing
known: no estimate (the device stays ``unknown``). An estimate never replaces a measurement.
"""

from __future__ import annotations

import fnmatch
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from agent.datafiles import shipped_dir
from agent.errors import ConfigError
from agent.power.readings import DevicePower, Kind, Method, Quantity, Reading, Status
from agent.yamlfile.load import load_yaml_file
from agent.yamlfile.section import Section

MIN_CALIBRATION_DEVICES = 1


@dataclass(frozen=True, slots=True)
class PowerModel:
    model: str
    typical_w: float | None
    max_w: float | None
    psu_efficiency: float | None
    source: str


WILDCARDS = set("*?[")


def specificity(pattern: str) -> int:
    """How much of a model name a row's pattern pins down: its characters that are not wildcards."""
    return sum(1 for char in pattern if char not in WILDCARDS)


@dataclass(frozen=True, slots=True)
class PowerModels:
    default_psu_efficiency: float
    default_source: str
    models: dict[str, PowerModel] = field(default_factory=dict)     # lower-case model or pattern -> row

    def get(self, model: str) -> PowerModel | None:
        """The row of a model: an exact name first, else the most specific family pattern that
        matches ("C9300-48P*" before "C9300-*"; shell wildcards, case-insensitive)."""
        name = model.strip().lower()
        if not name:
            return None
        exact = self.models.get(name)
        if exact is not None:
            return exact
        families = [key for key in self.models if WILDCARDS & set(key) and fnmatch.fnmatchcase(name, key)]
        return self.models[max(families, key=specificity)] if families else None


def models_dir(configured: str = "") -> Path:
    found = shipped_dir("config/models", "models", marker="power.yaml", env="NETWATT_MODELS", configured=configured)
    if found is None:
        raise ConfigError("no model tables found (config/models/power.yaml); set NETWATT_MODELS")
    return found


def load_power_models(path: Path) -> PowerModels:
    top = Section(load_yaml_file(path), "", file=str(path), line=1)
    top.integer("version")
    default = top.number("default_psu_efficiency")
    default_source = top.text("default_psu_efficiency_source")
    models: dict[str, PowerModel] = {}
    for s in top.sections("models"):
        row = PowerModel(s.text("model"), s.number("typical_w", None, minimum=0.0),
                         s.number("max_w", None, minimum=0.0), s.number("psu_efficiency", None, minimum=0.1),
                         s.text("source"))
        if row.psu_efficiency is not None and row.psu_efficiency > 1:
            raise s.error("psu_efficiency", "an efficiency is at most 1")
        if not row.source.strip():
            raise s.error("source", "every row names its source (datasheet URL and date)")
        if row.typical_w is not None and row.max_w is not None and row.typical_w > row.max_w:
            raise s.error("typical_w", f"typical {row.typical_w:g} W is above max_w {row.max_w:g} W")
        if row.model.lower() in models:
            raise s.error("model", f"{row.model} has a row already")
        s.finish()
        models[row.model.lower()] = row
    top.finish()
    return PowerModels(default, default_source, models)


@dataclass
class Calibration:
    """Measured input power of reporting devices, per model: the fleet's own evidence."""

    base: dict[str, dict[str, float]] = field(default_factory=dict)    # model -> device -> input W less PoE

    def note(self, model: str, device: str, power: DevicePower, efficiency: float) -> None:
        """A measured (or derived) device total, less its own PoE share, is evidence of the model's base."""
        if model and power.power_w is not None and power.method in (Method.MEASURED, Method.DERIVED):
            poe = poe_output_w(power.readings) or 0.0
            self.base.setdefault(model.lower(), {})[device] = max(0.0, power.power_w - poe / efficiency)

    def base_w(self, model: str) -> tuple[float, int] | None:
        """Median base power of same-model reporting devices and how many devices it rests on."""
        values = list(self.base.get(model.lower(), {}).values()) if model else []
        if len(values) < MIN_CALIBRATION_DEVICES:
            return None
        return statistics.median(values), len(values)


def poe_output_w(readings: list[Reading]) -> float | None:
    """Measured PoE delivered: PSE totals when present, else the per-port sum (never budgets)."""
    ok = [r for r in readings if r.quantity is Quantity.POWER and r.status is Status.OK and r.value is not None]
    totals = [r.value for r in ok if r.kind is Kind.POE_TOTAL and r.value is not None]
    if totals:
        return float(sum(totals))
    ports = [r.value for r in ok if r.kind is Kind.POE_PORT and r.value is not None]
    return float(sum(ports)) if ports else None


def estimate(power: DevicePower, *, model: str, models: PowerModels, calibration: Calibration) -> DevicePower:
    """The device's power, estimated when it reported none; unchanged otherwise."""
    if power.power_w is not None:
        return power
    row = models.get(model)
    efficiency = row.psu_efficiency if row and row.psu_efficiency else models.default_psu_efficiency
    eff_source = row.source if row and row.psu_efficiency else models.default_source
    poe = poe_output_w(power.readings)
    calibrated = calibration.base_w(model)
    parts: list[str] = []
    total = 0.0
    if calibrated is not None:
        base, count = calibrated
        total += base
        parts.append(f"base {base:g} W = median of {count} same-model device(s) that measure input, less their PoE")
        basis = "model_calibrated+poe"
    elif row is not None and row.typical_w is not None:
        total += row.typical_w
        parts.append(f"datasheet typical {row.typical_w:g} W ({row.source})")
        basis = "model_typical+poe"
    else:
        basis = "poe_only_lower_bound"
    if poe is not None:
        total += poe / efficiency
        parts.append(f"measured PoE {poe:g} W / PSU efficiency {efficiency:g} ({eff_source})")
    if not parts:
        return power
    if basis == "poe_only_lower_bound":
        parts.append("no base power known for the model: a lower bound")
    return DevicePower(round(total, 6), Method.ESTIMATED, basis, power.readings,
                       note="estimated: " + "; ".join(parts) + (f" (was: {power.note})" if power.note else ""))
