"""``netwatt discover``: one device (or one recorded walk) polled with its profiles, plus every
power-like object it answers that no profile read (``agent.power.survey``), each with a verdict."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.config.load import load_config_text
from agent.errors import NetwattError
from agent.poll import Poller
from agent.power.profile_files import load_builtin_profiles, parse_profile
from agent.power.readings import PollResult
from agent.power.survey import Survey
from agent.settings.config import Inventory
from agent.snmp_client import snmp_client
from agent.yamlfile.load import load_yaml_file
from collectors.snmp.recorded import RecordedClient, RecordingError
from collectors.snmp.types import parse_oid

_RECORDING_CONFIG = ("version: 1\ncredentials:\n  recording: {version: 2c, community: 'plain:recording'}\n"
                     "devices:\n  - {name: recording, address: 127.0.0.1, credential: recording}\n")


async def discover_recording(walk: Path, *, extra_profiles: Sequence[Path] = ()) -> tuple[PollResult, list[str]]:
    """Poll a recorded walk as if it were a device, offline, and survey the whole recording; with
    ``extra_profiles`` (files being written) added to the shipped ones, same names replaced.
    Also returns the lines of the recording that could not be read (each named, then skipped)."""
    profiles = load_builtin_profiles()
    for path in extra_profiles:
        profile = parse_profile(load_yaml_file(path), file=str(path))
        profiles[profile.name] = profile
    config = load_config_text(_RECORDING_CONFIG, file="<recording>", environ={}, builtin_profiles=profiles)
    try:
        client = RecordedClient.from_files({"recording": walk})
    except (OSError, RecordingError) as exc:
        raise NetwattError(f"cannot read the recording: {exc}") from None
    skipped = [f"{walk}: {line} (skipped)" for line in client.skipped.get("recording", [])]
    result = await Poller(config, client).poll(config.devices["recording"])
    survey = Survey.for_device(config.profiles.values(), result.info.profiles)
    survey.add_unrecognised(result, client.recording("recording"))
    return result, skipped


async def discover_device(config: Inventory, name: str) -> PollResult:
    """Poll one device, then walk the power-like objects of its enterprise that no profile read."""
    device = config.device(name)
    client = snmp_client(config)
    try:
        result = await Poller(config, client).poll(device)
        if device.credential and result.info.sys_object_id:
            survey = Survey.for_device(config.profiles.values(), result.info.profiles)
            subtrees = survey.subtrees(parse_oid(result.info.sys_object_id), everything=False)
            walk = await client.walk(config.snmp_target(device), subtrees)
            survey.add_unrecognised(result, walk.varbinds)
            result.errors += [f"survey: {e}" for e in walk.errors]
        return result
    finally:
        await client.close()
