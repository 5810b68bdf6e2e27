"""``netwatt factors refresh --from owid-energy-data.csv --release LABEL``: a newer OWID/Ember release
into the bundled country table (config/grid_factors/countries.csv).

Reads OWID's energy-data CSV (github.com/owid/energy-data: one row per country and year, columns
``country, year, iso_code, ..., carbon_intensity_elec`` in gCO2e/kWh, lifecycle, from Ember) or the
grapher download of ``carbon-intensity-electricity`` (``Entity, Code, Year, Carbon intensity of
electricity - gCO2/kWh``). Aggregates (no ISO code, or ``OWID_*``) and empty values are skipped.
Rows of the new release replace the same (zone, year); other years stay, so a baseline year
keeps its factor. The result is written atomically.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agent.emissions.bundled import COLUMNS
from agent.emissions.factors import FactorError

DATASET = "owid-carbon-intensity-electricity"
SOURCE = "https://github.com/owid/energy-data (carbon_intensity_elec; Ember and Energy Institute via OWID, CC BY 4.0)"
_GRAPHER_VALUE = "carbon intensity of electricity"


@dataclass
class RefreshResult:
    added: int = 0
    replaced: int = 0
    skipped_aggregates: int = 0
    skipped_empty: int = 0
    unmapped: set[str] = field(default_factory=set)


def iso3_map(directory: Path) -> dict[str, tuple[str, str]]:
    with (directory / "iso3.csv").open(newline="", encoding="utf-8") as handle:
        return {row["iso3"]: (row["zone"], row["name"]) for row in csv.DictReader(handle)}


def read_owid(path: Path) -> list[tuple[str, str, int, float]]:
    """[(iso3, name, year, g_per_kwh)] from either OWID layout; empty values and aggregates skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if "carbon_intensity_elec" in header:
            name_col, code_col, year_col, value_col = "country", "iso_code", "year", "carbon_intensity_elec"
        else:
            value_col = next((h for h in header if h.lower().startswith(_GRAPHER_VALUE)), "")
            name_col, code_col, year_col = "Entity", "Code", "Year"
        missing = [c for c in (name_col, code_col, year_col, value_col) if not c or c not in header]
        if missing:
            raise FactorError(f"{path}:1: not an OWID energy-data or carbon-intensity CSV "
                              f"(missing {', '.join(m or 'carbon_intensity_elec' for m in missing)})")
        rows = []
        for line, record in enumerate(reader, start=2):
            if not record[value_col].strip():
                continue
            try:
                rows.append((record[code_col].strip(), record[name_col], int(record[year_col]),
                             float(record[value_col])))
            except ValueError as exc:
                raise FactorError(f"{path}:{line}: {exc}") from None
    return rows


def refresh(source: Path, directory: Path, *, release: str, since: int = 2015) -> RefreshResult:
    result = RefreshResult()
    codes = iso3_map(directory)
    table_path = directory / "countries.csv"
    with table_path.open(newline="", encoding="utf-8") as handle:
        existing = {(r["zone"], int(r["year"])): r for r in csv.DictReader(handle)}
    with source.open(newline="", encoding="utf-8-sig") as handle:
        total = sum(1 for _ in handle) - 1
    rows = read_owid(source)
    result.skipped_empty = total - len(rows)
    for iso3, name, year, value in rows:
        if not iso3 or iso3.startswith("OWID_"):
            result.skipped_aggregates += 1
            continue
        if year < since:
            continue
        mapped = codes.get(iso3)
        if mapped is None:
            result.unmapped.add(iso3)
            continue
        zone, _ = mapped
        key = (zone, year)
        if key in existing:
            result.replaced += 1
        else:
            result.added += 1
        existing[key] = {"zone": zone, "name": name, "year": str(year), "value": f"{value:g}", "unit": "g/kWh",
                         "dataset": DATASET, "release": release, "basis": "lifecycle", "gas": "co2e",
                         "source": SOURCE}
    _write_atomically(table_path, [existing[k] for k in sorted(existing)])
    return result


def _write_atomically(path: Path, rows: list[dict[str, str]]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
