"""``check-config --show``: the whole file as netwatt understood it, put together from the inventory's
dump and each feature's own (the rules are agent/settings/dump.py's)."""

from __future__ import annotations

import yaml

from agent.config.load import Config
from agent.emissions.settings import dump_emissions
from agent.settings.dump import dump_inventory
from agent.wifi.settings import dump_wifi


def dump_config(config: Config) -> str:
    data = dump_inventory(config)
    data["emissions"] = dump_emissions(config.emissions)
    if config.wifi is not None:
        data["wifi"] = dump_wifi(config.wifi)
    custom = sorted(config.profiles)
    return (yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
            + f"# profiles known (built in and from profiles:): {', '.join(custom)}\n")
