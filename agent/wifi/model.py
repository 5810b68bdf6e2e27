"""Plain data of the Wi-Fi feature: what can be switched (targets), what was seen, what is wanted."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.errors import NetwattError


class Scope(StrEnum):
    RADIO = "radio"     # one radio slot of an AP
    AP = "ap"           # the whole AP (admin state, or its PoE port)
    SSID = "ssid"       # one WLAN on the controller


class WifiError(NetwattError):
    """A Wi-Fi action that could not be done; the message names the controller and the target."""


class ControllerError(WifiError):
    """The controller refused, did not answer, or did not do what it said it did."""


@dataclass(frozen=True, slots=True)
class Target:
    """One switchable thing on one controller. ``key`` is stable: it names rows in the store."""

    controller: str
    scope: Scope
    ap: str = ""
    radio: int | None = None
    ssid: str = ""
    band: str = ""
    critical: bool = False

    @property
    def key(self) -> str:
        if self.scope is Scope.SSID:
            return f"{self.controller}/ssid:{self.ssid}"
        if self.scope is Scope.AP:
            return f"{self.controller}/{self.ap}"
        return f"{self.controller}/{self.ap}/{self.radio}"

    @property
    def radio_tag(self) -> str:
        """The ``radio`` tag of the wifi_radio/wifi_action points."""
        if self.scope is Scope.RADIO:
            return str(self.radio)
        return f"ssid:{self.ssid}" if self.scope is Scope.SSID else "ap"


@dataclass(frozen=True, slots=True)
class Observed:
    """What a controller said about a target: admin state and associated clients (None: unknown)."""

    target: Target
    enabled: bool | None
    clients: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class Desired:
    """What the policies want for a target, and why (the reason is audited and shown by ``plan``)."""

    target: Target
    enabled: bool | None          # None: leave as it is (unmanaged, or no rule applies)
    reason: str
    who: str = "policy"
    request: int | None = None    # the on-demand request that wants this (its changes are restored at its end)
