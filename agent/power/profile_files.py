"""Profile files: where the shipped ones live, loading a folder of them, and the common header of a
profile that decides which parser reads the rest (``protocol: snmp`` in ``agent.power.profiles``,
``protocol: netconf`` in ``agent.power.yang_profiles``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.datafiles import shipped_dir
from agent.errors import ConfigError, ConfigErrors
from agent.power.profiles import Profile, parse_snmp_profile
from agent.power.yang_profiles import parse_yang_profile
from agent.yamlfile.load import load_yaml_file
from agent.yamlfile.section import Section


def builtin_profile_dirs() -> list[Path]:
    """Where shipped profiles live: $NETWATT_PROFILES, the source tree, then the install prefix."""
    found = shipped_dir("config/profiles", "profiles", marker=".", env="NETWATT_PROFILES")
    return [found] if found else []


def load_profile_dir(directory: Path) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    errors: list[ConfigError] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            profile = parse_profile(load_yaml_file(path), file=str(path))
        except ConfigError as exc:
            errors.append(exc)
            continue
        if profile.name in profiles:
            errors.append(ConfigError(f"profile {profile.name!r} is also defined in "
                                      f"{profiles[profile.name].file}", file=str(path), key="name"))
        profiles[profile.name] = profile
    if errors:
        raise ConfigErrors(errors)
    return profiles


def load_builtin_profiles() -> dict[str, Profile]:
    dirs = builtin_profile_dirs()
    if not dirs:
        raise ConfigError("no profile directory found (set NETWATT_PROFILES)")
    return load_profile_dir(dirs[0])


def parse_profile(data: Any, *, file: str, name: str | None = None, path: str = "") -> Profile:
    """One profile (a file's content, or ``profiles: NAME`` of the main config when ``name`` is given)."""
    top = Section(data, path, file=file, line=getattr(data, "line", 1))
    inline = name is not None          # defined in the main config under profiles: NAME
    version = top.integer("version", 1) if inline else top.integer("version")
    if version != 1:
        raise top.error("version", f"profile schema version {version} is not supported (this is 1)")
    profile_name = top.text("name", name)
    if inline and profile_name != name:
        raise top.error("name", f"does not match the key it is defined under ({name!r})")
    description = top.text("description", "")
    vendor = top.text("vendor", "")
    if top.choice("protocol", ("snmp", "netconf"), "snmp") == "netconf":
        return parse_yang_profile(top, profile_name, file, description, vendor)
    return parse_snmp_profile(top, profile_name, file, description, vendor)
