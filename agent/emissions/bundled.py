"""The offline factor tables shipped in config/grid_factors/: annual, one row per zone and year.

``countries.csv`` holds national grid intensities (OWID/Ember, lifecycle); ``overrides.csv`` holds
finer or better-suited national sources that win over it: US states from eGRID, the UK from DESNZ,
Norwegian bidding zones. A zone ``CC-SUB`` falls back to its country ``CC``. A factor of another
year than the interval's is used only when the table has no row for that year, and says so.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from agent.datafiles import shipped_dir
from agent.emissions.factors import (
    Basis,
    FactorError,
    Granularity,
    GridFactor,
    factor_problem,
    to_g_per_kwh,
    year_bounds,
    year_of,
)

COLUMNS = ("zone", "name", "year", "value", "unit", "dataset", "release", "basis", "gas", "source")
FILES = ("overrides.csv", "countries.csv")        # earlier files win


def factors_dir() -> Path:
    found = shipped_dir("config/grid_factors", "grid_factors", marker="countries.csv", env="NETWATT_GRID_FACTORS")
    if found is None:
        raise FactorError("no bundled grid factor table found (config/grid_factors/countries.csv); "
                          "set NETWATT_GRID_FACTORS")
    return found


@dataclass(frozen=True, slots=True)
class Row:
    zone: str
    name: str
    year: int
    g_per_kwh: float
    original: str
    dataset: str
    release: str
    basis: Basis
    gas: str
    source: str


def read_rows(path: Path) -> list[Row]:
    """Read one table; a bad row is an error naming file:line and column."""
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FactorError(f"{path}:1: missing columns {', '.join(missing)}")
        for line, record in enumerate(reader, start=2):
            try:
                value = float(record["value"])
                # 0 is published for nearly all-hydro grids (OWID: Central African Republic)
                problem = factor_problem(to_g_per_kwh(value, record["unit"]), record["unit"], zero_ok=True)
                if problem:
                    raise FactorError(f"value {record['value']} {record['unit']}: {problem}")
                rows.append(Row(record["zone"].strip().upper(), record["name"], int(record["year"]),
                                round(to_g_per_kwh(value, record["unit"]), 6), f"{record['value']} {record['unit']}",
                                record["dataset"], record["release"], Basis(record["basis"]), record["gas"],
                                record["source"]))
            except (ValueError, FactorError) as exc:
                raise FactorError(f"{path}:{line}: {exc}") from None
    return rows


class BundledFactors:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or factors_dir()
        self.tables: list[dict[str, list[Row]]] = []
        for name in FILES:
            path = self.directory / name
            table: dict[str, list[Row]] = defaultdict(list)
            if path.exists():
                for row in read_rows(path):
                    table[row.zone].append(row)
            for rows in table.values():
                rows.sort(key=lambda r: r.year)
            self.tables.append(table)

    def zones(self) -> set[str]:
        return {zone for table in self.tables for zone in table}

    def lookup(self, zone: str, time_s: float) -> GridFactor:
        """The annual factor for ``zone`` in the year of ``time_s`` (or the closest year, noted)."""
        zone = zone.strip().upper()
        candidates = [zone] + ([zone.split("-", 1)[0]] if "-" in zone else [])
        for candidate in candidates:
            for table in self.tables:
                rows = table.get(candidate)
                if rows:
                    return self._factor(zone, rows, year_of(time_s))
        raise FactorError(f"grid zone {zone!r}: no bundled factor (set an operator factor for the site, "
                          f"or refresh the table: netwatt factors refresh)")

    @staticmethod
    def _factor(zone: str, rows: list[Row], year: int) -> GridFactor:
        exact = [r for r in rows if r.year == year]
        earlier = [r for r in rows if r.year < year]
        row = exact[-1] if exact else (earlier[-1] if earlier else rows[0])
        start, end = year_bounds(row.year)
        note = "" if row.year == year else f"no {year} value in the table: the {row.year} factor is used"
        factor = GridFactor(
            g_per_kwh=row.g_per_kwh, zone=zone, start_s=start, end_s=end,
            source=f"{row.dataset.split('-')[0]}-{row.zone.lower()}-{row.year}", dataset=row.dataset,
            release=row.release, basis=row.basis, gas=row.gas, granularity=Granularity.ANNUAL,
            original=row.original, url=row.source, note=note,
        )
        if row.year != year:
            # the factor stands in for the interval's own year: it covers that year, and says its own
            start, end = year_bounds(year)
            return replace(factor, start_s=start, end_s=end, data_period=str(row.year))
        return factor
