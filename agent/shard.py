"""Sharding a fleet over several agents: ``netwatt run --shard K/N`` polls only shard K of N.

A device (or Wi-Fi controller) belongs to exactly one shard, chosen from a stable hash of its name
with jump consistent hashing (Lamping & Veach, 2014): every agent computes the same answer without
talking to the others, and going from N to N+1 shards moves only ~1/(N+1) of the devices (all of them
to the new shard), where ``hash % N`` (Prometheus' hashmod) would move most of them.

Shards are numbered 1..N. ``K-N`` is accepted too, for systemd instance names (``netwatt@2-4``).
``auto`` is for a Kubernetes StatefulSet: K is the pod's ordinal + 1 (host name ``netwatt-0`` is
shard 1) and N comes from the ``NETWATT_SHARDS`` environment variable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from agent.config.load import Config

_SHARD = re.compile(r"^\s*(\d+)\s*[/-]\s*(\d+)\s*$")
_JUMP_MULTIPLIER = 2862933555777941757
_MASK64 = (1 << 64) - 1
_ORDINAL = re.compile(r"-(\d+)$")
SHARDS_ENV = "NETWATT_SHARDS"


@dataclass(frozen=True, slots=True)
class Shard:
    index: int      # 1..count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """'2/4' or '2-4' -> Shard(2, 4); ValueError with the accepted forms otherwise."""
    match = _SHARD.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a shard: use K/N or K-N, e.g. 2/4 (shard 2 of 4)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ValueError(f"shard {text!r}: K must be between 1 and N")
    return Shard(index, count)


def auto_shard(hostname: str | None = None, environ: Mapping[str, str] | None = None) -> Shard:
    """The shard of a StatefulSet pod: ordinal K-1 from the host name (``netwatt-2`` -> 3), N from $NETWATT_SHARDS."""
    hostname = socket.gethostname() if hostname is None else hostname
    environ = os.environ if environ is None else environ
    match = _ORDINAL.search(hostname)
    if match is None:
        raise ValueError(f"--shard auto: host name {hostname!r} does not end in -<ordinal> "
                         "(a StatefulSet pod is named <set>-0, <set>-1, ...); use --shard K/N elsewhere")
    count_text = environ.get(SHARDS_ENV, "").strip()
    if not count_text:
        raise ValueError(f"--shard auto: {SHARDS_ENV} is not set (the number of shards, = the StatefulSet's replicas)")
    if not count_text.isdigit() or int(count_text) < 1:
        raise ValueError(f"--shard auto: {SHARDS_ENV}={count_text!r} is not a positive whole number")
    ordinal, count = int(match.group(1)), int(count_text)
    if ordinal >= count:
        raise ValueError(f"--shard auto: pod ordinal {ordinal} ({hostname}) but {SHARDS_ENV}={count}: "
                         f"set {SHARDS_ENV} to the StatefulSet's replicas")
    return Shard(ordinal + 1, count)


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) a device or controller name belongs to: the same on every host and run."""
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    bucket, candidate = -1, 0
    while candidate < count:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket + 1


def owns(name: str, shard: Shard | None) -> bool:
    """Whether this agent polls/controls ``name`` (no shard: it owns everything). For the Wi-Fi code too."""
    return shard is None or shard.owns(name)


def restrict(config: Config, shard: Shard | None) -> Config:
    """The config as shard K sees it: its devices and Wi-Fi controllers only, its own state directory (one
    SQLite writer per store) and its own host tag on self-metrics; outputs stay the same for every shard.

    A Wi-Fi controller goes with the device it is reached through (SNMP types), else with its own name:
    the shard that polls a WLC also switches its radios. A PoE switch the savings meter reads that
    lands in another shard leaves those APs' savings estimated (labelled so), never double-read."""
    if shard is None:
        return config
    agent = dataclasses.replace(
        config.agent,
        state_directory=f"{config.agent.state_directory.rstrip('/')}/shard-{shard.index}-of-{shard.count}",
        hostname=f"{config.agent.hostname or _hostname()}-shard-{shard.index}-of-{shard.count}",
    )
    devices = {name: device for name, device in config.devices.items() if shard.owns(name)}
    wifi = config.wifi and config.wifi.only_controllers(
        {name for name, c in config.wifi.controllers.items() if shard.owns(c.device or name)})
    return dataclasses.replace(config, agent=agent, devices=devices, wifi=wifi)


def _hostname() -> str:
    return socket.gethostname()
