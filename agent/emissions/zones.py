"""Which grid zones netwatt has a factor for, and what a user probably meant by one it has not.

A site's ``grid_zone`` must name a zone of the bundled tables (or its country: ``GB-13`` falls back
to ``GB``), or one a configured live provider maps. Anything else would leave the site's energy
without a factor, so ``check-config`` refuses it and names the likely intended zone: the common
non-ISO codes (``UK``, ``EL``), ISO 3166 alpha-3 codes and country names, then the closest spellings.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from agent.emissions.bundled import BundledFactors
from agent.emissions.refresh import iso3_map

# codes people use that ISO 3166-1 alpha-2 (the tables' key) does not: the EU's and the UK's own
COMMON_ALIASES = {
    "UK": "GB",     # United Kingdom: ISO 3166 is GB
    "EL": "GR",     # Greece in EU statistics (Eurostat, ENTSO-E): ISO 3166 is GR
    "EN": "GB", "ENG": "GB", "SCO": "GB", "WAL": "GB",
    "USA": "US",
}


@dataclass(frozen=True, slots=True)
class ZoneTable:
    names: dict[str, str]               # zone -> its name, every zone with a bundled factor
    aliases: dict[str, str]             # other spelling (upper case) -> zone
    live: frozenset[str]                # zones a configured provider maps

    def known(self, zone: str) -> bool:
        zone = zone.strip().upper()
        return zone in self.names or zone in self.live or zone.split("-", 1)[0] in self.names

    def problem(self, zone: str) -> str:
        """Why ``zone`` has no factor, with the zones the user probably meant ("" when it is known)."""
        if self.known(zone):
            return ""
        wanted = zone.strip().upper()
        alias = self.aliases.get(wanted)
        if alias is not None:
            return (f"unknown grid zone {zone!r}: did you mean {alias!r} ({self.names.get(alias, alias)})? "
                    "zones are ISO 3166-1 alpha-2 codes or their subdivisions; `netwatt factors zones` lists them")
        nearest = difflib.get_close_matches(wanted, sorted(self.names) + sorted(self.live), n=3, cutoff=0.5)
        nearest += [self.aliases[a] for a in difflib.get_close_matches(wanted, sorted(self.aliases), n=2, cutoff=0.8)
                    if self.aliases[a] not in nearest]
        hint = ("nearest known zones: " + ", ".join(f"{z} ({self.names.get(z, 'live provider')})" for z in nearest)
                if nearest else "no known zone is close")
        return (f"unknown grid zone {zone!r}: no factor for it, its energy would have no emissions; {hint}; "
                "`netwatt factors zones` lists every zone")

    def listing(self) -> str:
        by_zone: dict[str, list[str]] = {}
        for alias, zone in self.aliases.items():
            by_zone.setdefault(zone, []).append(alias)
        lines = ["zone     name                                   other spellings (check-config suggests the zone)"]
        for zone in sorted(set(self.names) | self.live):
            name = self.names.get(zone, "(live provider only)")
            lines.append(f"{zone:<8} {name[:38]:<38} {', '.join(sorted(by_zone.get(zone, [])))}".rstrip())
        return "\n".join(lines)


def zone_table(bundled: BundledFactors, live: frozenset[str] = frozenset()) -> ZoneTable:
    names = {zone: rows[-1].name for table in reversed(bundled.tables) for zone, rows in table.items()}
    aliases = {alias: zone for alias, zone in COMMON_ALIASES.items() if zone in names}
    codes = iso3_map(bundled.directory) if (bundled.directory / "iso3.csv").exists() else {}
    for iso3, (zone, name) in codes.items():
        if zone.upper() in names:
            aliases.setdefault(iso3.upper(), zone.upper())
            aliases.setdefault(name.upper(), zone.upper())
    return ZoneTable(names, aliases, live)
