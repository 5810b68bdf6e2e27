"""``netwatt report`` and ``netwatt factors``: the handlers behind the CLI subcommands."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.clock import wall_clock
from agent.config.load import Config
from agent.emissions.bundled import BundledFactors, factors_dir
from agent.emissions.embodied import load_footprints
from agent.emissions.factors import FactorError
from agent.emissions.refresh import refresh
from agent.emissions.zones import zone_table
from agent.errors import NetwattError, UsageError
from agent.power.estimate import load_power_models, models_dir
from agent.report import render
from agent.report.data import GROUPINGS, build, fleet_power_by_model, local_day
from agent.report.sections import build_sections
from agent.report.wifi_section import wifi_section
from agent.store.sqlite import Store


def parse_day(text: str, timezone: str = "UTC") -> float:
    """Midnight starting the day ``text`` (YYYY-MM-DD) in ``timezone``, as a Unix time."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return datetime(day.year, day.month, day.day, tzinfo=_zone(timezone)).timestamp()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone: {name!r} is not an IANA time zone (e.g. Europe/Paris, UTC)") from None


def report_text(store: Store, config: Config, *, start: str, end: str | None, by: str, output_format: str,
                timezone: str = "UTC") -> str:
    start_s = parse_day(start, timezone)
    tomorrow = wall_clock().astimezone(_zone(timezone)).date() + timedelta(days=1)
    end_s = parse_day(end or tomorrow.isoformat(), timezone)
    if end_s <= start_s:
        raise UsageError("--to must be after --from")
    if by not in GROUPINGS:
        raise UsageError(f"--by must be one of {', '.join(GROUPINGS)}")
    directory = models_dir(config.emissions.models_dir)
    footprints = load_footprints(directory / "embodied.yaml")
    power_models = load_power_models(directory / "power.yaml")
    planned = {r.new_model.lower(): power_models.get(r.new_model) for r in config.emissions.replacements}
    power = {m: (row.typical_w, f"datasheet typical ({row.source})")       # family rows match by pattern
             for m, row in planned.items() if row is not None and row.typical_w is not None}
    # the fleet's own measurements of the model win over its datasheet
    power.update({m: (w, "mean measured input of the fleet's units") for m, w in
                  fleet_power_by_model(store, start_s, end_s).items()})
    data = build(store, config, start_s=start_s, end_s=end_s, by=by, footprints=footprints, power_w=power,
                 timezone=timezone)
    sections = build_sections(data)
    wifi = wifi_section(store, config, data)
    if wifi is not None:
        sections.append(wifi)
    meta: dict[str, object] = {"from": start, "to": local_day(end_s, timezone), "by": by, "timezone": timezone}
    if output_format == "json":
        return render.as_json(sections, meta)
    if output_format == "csv":
        return render.as_csv(sections)
    if output_format == "html":
        return render.as_html(sections, meta)
    return render.as_table(sections)


def refresh_factors(source: Path, *, release: str, since: int, directory: Path | None) -> str:
    target = directory or factors_dir()
    try:
        result = refresh(source, target, release=release, since=since)
        BundledFactors(target)           # the table still loads
    except (OSError, FactorError) as exc:
        raise NetwattError(f"factors refresh: {exc}") from None
    lines = [f"{target / 'countries.csv'}: {result.added} rows added, {result.replaced} replaced "
             f"(release {release!r}); skipped {result.skipped_aggregates} aggregates, {result.skipped_empty} empty"]
    if result.unmapped:
        lines.append("ISO codes without a zone in iso3.csv (add them to use their rows): "
                     + ", ".join(sorted(result.unmapped)))
    return "\n".join(lines)


def show_factor(zone: str, day: str, directory: Path | None) -> str:
    bundled = BundledFactors(directory)
    problem = zone_table(bundled).problem(zone)
    if problem:
        raise UsageError(f"--zone: {problem}")
    factor = bundled.lookup(zone, parse_day(day))
    return "\n".join(f"{k}: {v}" for k, v in factor.to_json().items())


def zones_listing(directory: Path | None) -> str:
    try:
        return zone_table(BundledFactors(directory)).listing()
    except (OSError, FactorError) as exc:
        raise NetwattError(f"factors zones: {exc}") from None
