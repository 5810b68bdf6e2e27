"""The ``emissions:`` section of the config: live factor providers, per-site operator factors,
contracts (market-based Scope 2), overhead, embodied lifetime, the reduction target and refresh plans.

Everything optional: without the section, location-based emissions use the bundled tables. The
feature parses and shows its own section; the whole config is assembled above (agent/config/).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from agent.emissions.bundled import BundledFactors
from agent.emissions.factors import Basis, FactorError, factor_problem, to_g_per_kwh
from agent.emissions.zones import zone_table
from agent.errors import ConfigError, ConfigErrors
from agent.settings.config import Device, Site
from agent.settings.dump import Shown, day, plain
from agent.settings.secrets import Secret, secret_at
from agent.yamlfile.section import Section

PROVIDER_TYPES = ("uk_carbon_intensity", "electricity_maps", "watttime", "entsoe")
CONTRACT_KINDS = ("supplier", "eac", "ppa")


@dataclass(frozen=True, slots=True)
class OperatorFactor:
    """A factor the operator supplies, with the source it must name (invoice, certificate, AIB table)."""

    g_per_kwh: float
    source: str
    original: str
    basis: Basis = Basis.DIRECT
    gas: str = "co2e"
    start_s: float | None = None        # None: any time
    end_s: float | None = None

    def active(self, time_s: float) -> bool:
        return ((self.start_s is None or time_s >= self.start_s)
                and (self.end_s is None or time_s < self.end_s))


@dataclass(frozen=True, slots=True)
class Contract:
    """A contractual instrument covering ``share`` of the site's consumption over its period."""

    name: str
    kind: str                           # supplier rate, energy attribute certificates, PPA
    share: float                        # 0..1 of the site's consumption it covers
    factor: OperatorFactor


@dataclass(frozen=True, slots=True)
class SiteEmissions:
    overhead: float = 1.0               # PUE-like multiplier; overhead = (overhead - 1) x IT energy
    location_factor: OperatorFactor | None = None
    contracts: tuple[Contract, ...] = ()
    residual_mix: OperatorFactor | None = None

    @property
    def has_market(self) -> bool:
        return bool(self.contracts or self.residual_mix)

    @property
    def own_factor_always(self) -> bool:
        """The operator's location factor covers all time: the grid zone's own factor is never needed."""
        own = self.location_factor
        return own is not None and own.start_s is None and own.end_s is None


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    type: str
    zones: dict[str, str]               # netwatt grid_zone -> the provider's zone/region id
    url: str = ""
    token: Secret | None = None
    username: str = ""
    password: Secret | None = None
    emission_factor_type: str = "direct"


@dataclass(frozen=True, slots=True)
class Target:
    baseline_from_s: float
    baseline_to_s: float
    reduction_pct: float                # e.g. 45 for -45 %
    target_year: int


@dataclass(frozen=True, slots=True)
class Replacement:
    old_model: str
    new_model: str


@dataclass(frozen=True, slots=True)
class EmissionsSettings:
    providers: tuple[ProviderSpec, ...] = ()
    sites: dict[str, SiteEmissions] = field(default_factory=dict)
    refresh_interval_s: float = 900.0
    lifetime_years: float = 5.0         # default amortisation period of embodied emissions
    acquired: dict[str, int] = field(default_factory=dict)    # device -> acquisition year
    target: Target | None = None
    replacements: tuple[Replacement, ...] = ()
    embodied_by_role: dict[str, str] = field(default_factory=dict)    # role -> generic footprint row
    factors_dir: str = ""               # bundled tables; "" = the shipped config/grid_factors
    models_dir: str = ""                # power and embodied model tables; "" = config/models

    def site(self, name: str) -> SiteEmissions:
        return self.sites.get(name, SiteEmissions())


class ConfigWithEmissions(Protocol):
    """What the emissions feature reads of the whole config: its own section and the inventory's devices
    and sites (the assembled ``Config`` of agent/config/load.py is one)."""

    @property
    def devices(self) -> dict[str, Device]: ...

    @property
    def sites(self) -> dict[str, Site]: ...

    @property
    def emissions(self) -> EmissionsSettings: ...


def parse_emissions(s: Section, *, env: dict[str, str], base_dir: Path | None,
                    sites: set[str], devices: set[str] | None = None) -> EmissionsSettings:
    providers = tuple(p for p in (s.attempt(None, _provider, p, env, base_dir) for p in s.sections("providers"))
                      if p is not None)
    site_settings: dict[str, SiteEmissions] = {}
    for name, section in s.named_sections("sites"):
        if name not in sites:
            s.report(ConfigError(f"unknown site {name!r} (sites: {', '.join(sorted(sites)) or 'none'})",
                                 file=section.file, line=section.line, key=section.path))
            continue
        site_settings[name] = s.attempt(SiteEmissions(), _site, section)
    target = _target(s.section("target")) if s.has("target") else None
    if not s.has("target"):
        s.raw("target", None)
    replacements = []
    for r in s.sections("replacements"):
        replacements.append(Replacement(r.text("old_model"), r.text("new_model")))
        r.finish()
    acquired_section = s.section("acquired", {})
    acquired = {}
    for key in list(acquired_section.data):
        if devices is not None and str(key) not in devices:
            raise acquired_section.error(str(key), f"unknown device {key!r}")
        acquired[str(key)] = acquired_section.integer(str(key), minimum=1990, maximum=2100)
    acquired_section.finish()
    by_role = s.section("embodied_by_role", {})
    embodied_by_role = {str(k): by_role.text(str(k)) for k in list(by_role.data)}
    by_role.finish()
    settings = EmissionsSettings(
        providers=providers, sites=site_settings,
        refresh_interval_s=s.duration("refresh_interval", 900.0, minimum=60.0),
        lifetime_years=s.number("lifetime_years", 5.0, minimum=0.5),
        acquired=acquired, target=target, embodied_by_role=embodied_by_role, replacements=tuple(replacements),
        factors_dir=_path(s, "factors_dir", base_dir), models_dir=_path(s, "models_dir", base_dir),
    )
    s.finish()
    return settings


def _path(s: Section, key: str, base_dir: Path | None) -> str:
    text = s.text(key, "")
    if text and base_dir is not None and not Path(text).is_absolute():
        return str(base_dir / text)
    return text


def _provider(s: Section, env: dict[str, str], base_dir: Path | None) -> ProviderSpec:
    kind = s.choice("type", PROVIDER_TYPES)
    zones_section = s.section("zones")
    zones = {str(k).upper(): zones_section.text(str(k)) for k in list(zones_section.data)}
    zones_section.finish()
    if not zones:
        raise s.error("zones", "map at least one grid_zone to the provider's zone id")

    def secret(key: str) -> Secret | None:
        return secret_at(s, key, environ=env, base_dir=base_dir) if s.has(key) else None

    spec = ProviderSpec(kind, zones, url=s.text("url", ""), token=secret("token"),
                        username=s.text("username", ""), password=secret("password"),
                        emission_factor_type=s.choice("emission_factor_type", ("direct", "lifecycle"), "direct"))
    if kind in ("electricity_maps", "entsoe") and spec.token is None:
        raise s.error("token", f"{kind} needs an API token (a secret reference, e.g. env:EM_TOKEN)")
    if kind == "watttime" and (not spec.username or spec.password is None):
        raise s.error("username", "watttime needs username and password (password as a secret reference)")
    s.finish()
    return spec


def _site(s: Section) -> SiteEmissions:
    overhead = s.number("overhead", 1.0, minimum=1.0, maximum=10.0)
    location, residual = (s.attempt(None, lambda k=key: _operator_factor(s.section(k))) if s.has(key) else None
                          for key in ("location_factor", "residual_mix"))
    for key in ("location_factor", "residual_mix"):
        if not s.has(key):
            s.raw(key, None)
    contracts = []
    for c in s.sections("contracts"):
        contract = s.attempt(None, _contract, c)
        if contract is not None:
            contracts.append(contract)
    site = SiteEmissions(overhead, location, tuple(contracts), residual)
    s.finish()
    return site


def _contract(c: Section) -> Contract:
    kind = c.choice("kind", CONTRACT_KINDS)
    share = c.number("share", 1.0)
    if not 0 <= share <= 1:
        c.report(c.error("share", f"a share of the consumption is from 0 to 1, not {share:g}"))
    # a certificate or PPA of renewable power carries 0 g/kWh (GHG Protocol Scope 2 guidance)
    return Contract(c.text("name", kind), kind, share, _operator_factor(c, zero_ok=True))


def _operator_factor(s: Section, *, zero_ok: bool = False) -> OperatorFactor:
    value = s.number("value")
    unit = s.text("unit", "g/kWh")
    try:
        g_per_kwh = to_g_per_kwh(value, unit)
        problem = factor_problem(g_per_kwh, unit, zero_ok=zero_ok)
    except FactorError as exc:
        raise s.error("unit", str(exc)) from None
    if problem:
        raise s.error("value", f"{value:g} {unit}: {problem}")
    source = s.text("source")
    if not source.strip():
        raise s.error("source", "name where the factor comes from (invoice, certificate, dataset and year)")
    factor = OperatorFactor(g_per_kwh, source, f"{value:g} {unit}",
                            basis=Basis(s.choice("basis", ("direct", "lifecycle"), "direct")),
                            gas=s.choice("gas", ("co2", "co2e"), "co2e"),
                            start_s=_date(s, "from"), end_s=_date(s, "to"))
    if factor.start_s is not None and factor.end_s is not None and factor.end_s <= factor.start_s:
        raise s.error("to", "must be after 'from'")
    s.finish()
    return factor


def _date(s: Section, key: str) -> float | None:
    if not s.has(key):
        s.raw(key, None)
        return None
    text = s.text(key)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise s.error(key, f"{text!r} is not a date (YYYY-MM-DD)") from None
    return float(calendar.timegm(day.timetuple()))


def _target(s: Section) -> Target:
    start, end = _date(s, "baseline_from"), _date(s, "baseline_to")
    if start is None or end is None:
        raise ConfigError("baseline_from and baseline_to are required", file=s.file, line=s.line, key=s.path)
    if end <= start:
        raise s.error("baseline_to", "must be after baseline_from")
    target = Target(start, end, s.number("reduction_pct", minimum=0.0), s.integer("target_year", minimum=2000))
    if target.reduction_pct > 100:
        raise s.error("reduction_pct", "a reduction is at most 100 %")
    s.finish()
    return target


def check_grid_zones(sites: dict[str, Site], sections: dict[str, Section], emissions: EmissionsSettings) -> None:
    """A zone without a factor would leave the site's energy without emissions: refused here, not found at run."""
    zoned = {name: site.grid_zone for name, site in sites.items() if site.grid_zone}
    if not zoned:
        return
    try:
        bundled = BundledFactors(Path(emissions.factors_dir) if emissions.factors_dir else None)
    except (FactorError, OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the grid factor tables: {exc}", file=sections[next(iter(zoned))].file,
                          key="emissions.factors_dir") from None
    table = zone_table(bundled, frozenset(z for p in emissions.providers if p.type != "watttime" for z in p.zones))
    errors = [sections[name].error("grid_zone", f"site {name}: {problem}") for name, zone in zoned.items()
              if (problem := table.problem(zone)) and not emissions.site(name).own_factor_always]
    if errors:
        raise ConfigErrors(errors)


def dump_emissions(settings: EmissionsSettings) -> dict[str, Any]:
    """The section as ``check-config --show`` prints it, in the file's keys."""
    shown: dict[str, Any] = plain(settings, _SHOWN)
    return shown


def _factor_shown(f: OperatorFactor) -> dict[str, Any]:
    value, _, unit = f.original.partition(" ")
    out: dict[str, Any] = {"value": float(value), "unit": unit, "source": f.source, "basis": str(f.basis),
                           "gas": f.gas, "from": day(f.start_s), "to": day(f.end_s)}
    return {k: v for k, v in out.items() if v is not None}


def _contract_shown(c: Contract) -> dict[str, Any]:
    return {"name": c.name, "kind": c.kind, "share": c.share, **_factor_shown(c.factor)}


def _target_shown(t: Target) -> dict[str, Any]:
    return {"baseline_from": day(t.baseline_from_s), "baseline_to": day(t.baseline_to_s),
            "reduction_pct": t.reduction_pct, "target_year": t.target_year}


_SHOWN: Shown = {OperatorFactor: _factor_shown, Contract: _contract_shown, Target: _target_shown}
