"""The netwatt configuration file, whole: the inventory and the features' sections, checked in one pass.

``load_config`` reads and checks everything at once: unknown keys, wrong types, dangling references
and unresolvable secrets are errors naming file, line and key, all raised together. The generic tools
(YAML with lines, sections, secrets, durations, addresses) and the inventory live in agent/settings/
and agent/yamlfile/ and know no feature; each feature parses its own section with them; this module,
above them all, is the only one that knows every section.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.emissions.settings import EmissionsSettings, check_grid_zones, parse_emissions
from agent.power.profiles import Profile
from agent.settings.config import Inventory, parse_inventory, top_section
from agent.wifi.settings import WifiConfig, parse_wifi
from agent.yamlfile.load import load_yaml_file, load_yaml_text


@dataclass(frozen=True, slots=True)
class Config(Inventory):
    """The inventory and the features' sections: what the agent and the commands run on."""

    wifi: WifiConfig | None = None
    emissions: EmissionsSettings = field(default_factory=EmissionsSettings)


def load_config(path: Path | str, *, environ: dict[str, str] | None = None,
                builtin_profiles: dict[str, Profile] | None = None) -> Config:
    path = Path(path)
    return parse_config(load_yaml_file(path), file=str(path), environ=environ,
                        builtin_profiles=builtin_profiles, base_dir=path.parent)


def load_config_text(text: str, *, file: str = "<text>", environ: dict[str, str] | None = None,
                     builtin_profiles: dict[str, Profile] | None = None) -> Config:
    return parse_config(load_yaml_text(text, file), file=file, environ=environ,
                        builtin_profiles=builtin_profiles)


def parse_config(data: Any, *, file: str, environ: dict[str, str] | None = None,
                 builtin_profiles: dict[str, Profile] | None = None,
                 base_dir: Path | None = None) -> Config:
    """Check everything in one pass: each section, device and field on its own, all errors raised together."""
    env = dict(os.environ) if environ is None else environ
    top = top_section(data, file)
    inventory, site_sections = parse_inventory(top, env=env, builtin_profiles=builtin_profiles, base_dir=base_dir)
    wifi = None
    if top.has("wifi"):
        wifi = top.attempt(None, lambda: parse_wifi(top.section("wifi"), devices=inventory.devices,
                                                    sites=inventory.sites, env=env, base_dir=base_dir))
    emissions = top.attempt(EmissionsSettings(), lambda: parse_emissions(
        top.section("emissions", {}), env=env, base_dir=base_dir, sites=set(inventory.sites),
        devices=set(inventory.devices)))
    top.attempt(None, check_grid_zones, inventory.sites, site_sections, emissions)
    top.finish()
    top.raise_collected()
    shared = {f.name: getattr(inventory, f.name) for f in dataclasses.fields(Inventory)}
    return Config(**shared, wifi=wifi, emissions=emissions)
