"""Embodied emissions of the hardware (Scope 3 category 2, capital goods).

Inventory: the full cradle-to-gate footprint in the acquisition year, never depreciated (GHG
Protocol Scope 3 Standard). Dashboards: the same footprint, without the PCF's own use phase,
spread per day over the lifetime: ``(PCF x (1 - use_share)) / (lifetime_years x 365.25)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.yamlfile.load import load_yaml_file
from agent.yamlfile.section import Section

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class Footprint:
    model: str
    pcf_kgco2e: float
    use_share: float
    lifetime_years: float | None
    provenance: str                 # vendor | generic
    source: str

    @property
    def cradle_to_gate_kgco2e(self) -> float:
        return self.pcf_kgco2e * (1.0 - self.use_share)

    def per_day_g(self, default_lifetime_years: float) -> float:
        years = self.lifetime_years or default_lifetime_years
        return self.cradle_to_gate_kgco2e * 1000.0 / (years * DAYS_PER_YEAR)

    def amortised_g(self, seconds: float, default_lifetime_years: float) -> float:
        return self.per_day_g(default_lifetime_years) * seconds / 86400.0


def load_footprints(path: Path) -> dict[str, Footprint]:
    top = Section(load_yaml_file(path), "", file=str(path), line=1)
    top.integer("version")
    rows: dict[str, Footprint] = {}
    for s in top.sections("models"):
        row = Footprint(s.text("model"), s.number("pcf_kgco2e", minimum=0.0), s.number("use_share", 0.0, minimum=0.0),
                        s.number("lifetime_years", None, minimum=0.5), s.choice("provenance", ("vendor", "generic")),
                        s.text("source"))
        if row.use_share >= 1:
            raise s.error("use_share", "the use-phase share is below 1")
        if not row.source.strip():
            raise s.error("source", "every row names its source (PCF document URL and date)")
        s.finish()
        rows[row.model.lower()] = row
    top.finish()
    return rows


def footprint_for(rows: dict[str, Footprint], model: str, role: str, by_role: dict[str, str]) -> Footprint | None:
    if model and model.lower() in rows:
        return rows[model.lower()]
    generic = by_role.get(role)
    return rows.get(generic.lower()) if generic else None
