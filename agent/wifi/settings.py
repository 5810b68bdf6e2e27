"""The ``wifi:`` section of the config: controllers, access points, groups and their policies, guard rails.

Everything is checked when the config loads: unknown names, a group that switches the management SSID,
and two rules of one group that want opposite states at the same time are errors naming file:line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from agent.errors import ConfigError, ConfigErrors
from agent.settings.address import is_loopback, join_host_port, parse_listen
from agent.settings.config import AgentSettings, Device, Site
from agent.settings.dump import Shown, duration, named, plain
from agent.settings.secrets import Secret, secret_at
from agent.wifi.cron import Cron, parse_cron
from agent.wifi.model import Scope, Target
from agent.yamlfile.section import Section
from collectors.snmp.types import SnmpTarget

CONTROLLER_TYPES = ("aireos", "ifmib", "poe", "openconfig", "c9800")
SNMP_TYPES = ("aireos", "ifmib", "poe")
BANDS = ("2.4", "5", "6", "dual")
DEFAULT_MODES = ("on", "off", "unmanaged")
TOKEN_SCHEMES = ("env:", "file:", "credential:")
MIN_TOKEN_CHARS = 16
# contradictions are searched over two whole years, so every weekday/month combination shows up
_OVERLAP_FROM = datetime(2027, 1, 1)
_OVERLAP_DAYS = 731

State = Literal["on", "off"]


@dataclass(frozen=True, slots=True)
class ControllerSpec:
    name: str
    type: str
    device: str = ""                  # SNMP types and defaults for NETCONF: a device of the config
    host: str = ""
    port: int = 830
    username: str = ""
    password: Secret | None = None
    known_hosts: str = ""             # NETCONF host-key check (a known_hosts file)
    timeout_s: float = 30.0
    confirm_timeout_s: float = 120.0  # NETCONF confirmed commit: rolled back by the device after this
    wlans: dict[str, int] = field(default_factory=dict)    # SSID name -> WLAN index (AireOS, 9800)
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RadioSpec:
    slot: int
    band: str
    if_index: int | None = None       # ifmib controllers: the radio's ifIndex
    critical: bool = False


@dataclass(frozen=True, slots=True)
class PoePort:
    switch: str                       # a device of the config (measurement) ...
    port: str                         # ... and its pethPsePortTable index "group.port"


@dataclass(frozen=True, slots=True)
class AccessPoint:
    name: str
    controller: str
    mac: str = ""                     # base radio MAC (CISCO-LWAPP-AP-MIB index)
    ethernet_mac: str = ""            # AIRESPACE-WIRELESS-MIB index (bsnAPDot3MacAddress); default: mac
    model: str = ""
    radios: tuple[RadioSpec, ...] = ()
    poe: PoePort | None = None
    critical: bool = False
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    start: datetime                   # local wall time of the group's site (naive)
    end: datetime
    state: State = "on"
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    cron: Cron
    duration_s: float
    state: State = "on"
    line: int | None = None


@dataclass(frozen=True, slots=True)
class IdleRule:
    after_s: float                    # no clients for this long -> off
    max_sleep_s: float | None = None  # then on again for a look (an off radio cannot see who would come)
    ignore: frozenset[str] = frozenset()    # AP names or "ap/slot" the rule never switches off


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    site: str
    timezone: str
    scope: Scope
    targets: tuple[Target, ...]
    default: str = "unmanaged"
    coverage_floor: int = 0
    pre_s: float = 0.0
    post_s: float = 0.0
    events: tuple[Event, ...] = ()
    windows: tuple[Window, ...] = ()
    idle: IdleRule | None = None
    line: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Guards:
    max_changes_per_run: int = 20
    max_changes_per_minute: int = 30
    management_ssids: frozenset[str] = frozenset()
    management_keys: frozenset[str] = frozenset()       # controller/ssid:NAME of every alias of those WLANs
    allow_controllers: frozenset[str] | None = None     # None: every controller of the section
    allow_aps: frozenset[str] | None = None
    allow_ssids: frozenset[str] | None = None
    dead_man_s: float = 300.0         # a disable not confirmed within this is reverted
    retries: int = 2


@dataclass(frozen=True, slots=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8470
    token: Secret | None = None


@dataclass(frozen=True, slots=True)
class WifiConfig:
    controllers: dict[str, ControllerSpec]
    access_points: dict[str, AccessPoint]
    groups: dict[str, Group]
    guards: Guards = Guards()
    api: ApiSettings = ApiSettings()
    evaluate_every_s: float = 60.0
    estimates_w: dict[str, float] = field(default_factory=dict)   # model -> W saved per radio (fallback)

    def group(self, name: str) -> Group:
        if name not in self.groups:
            raise ConfigError(f"no Wi-Fi group named {name!r} (groups: {', '.join(sorted(self.groups)) or 'none'})")
        return self.groups[name]

    def only_controllers(self, keep: set[str]) -> WifiConfig | None:
        """The section as one shard sees it: those controllers, their APs, the groups' targets on them
        (a group split over shards keeps its coverage floor in each part: more radios on, never fewer).
        None when no controller is left."""
        if not keep & set(self.controllers):
            return None
        groups = {}
        for name, group in self.groups.items():
            targets = tuple(t for t in group.targets if t.controller in keep)
            if targets:
                groups[name] = dataclasses.replace(group, targets=targets)
        return dataclasses.replace(
            self, controllers={n: c for n, c in self.controllers.items() if n in keep},
            access_points={n: a for n, a in self.access_points.items() if a.controller in keep}, groups=groups)

    def targets(self) -> list[Target]:
        seen: dict[str, Target] = {}
        for group in self.groups.values():
            for target in group.targets:
                seen.setdefault(target.key, target)
        return list(seen.values())


class ConfigWithWifi(Protocol):
    """What the Wi-Fi feature reads of the whole config: its own section and the inventory (the devices it
    reaches controllers and PoE switches through); the assembled ``Config`` of agent/config/load.py is one."""

    @property
    def file(self) -> str: ...

    @property
    def agent(self) -> AgentSettings: ...

    @property
    def devices(self) -> dict[str, Device]: ...

    @property
    def wifi(self) -> WifiConfig | None: ...

    def snmp_target(self, device: Device) -> SnmpTarget: ...


def parse_wifi(s: Section, *, devices: dict[str, Device], sites: dict[str, Site], env: dict[str, str],
               base_dir: Path | None) -> WifiConfig:
    errors: list[ConfigError] = []
    controllers = {name: controller for name, c in s.named_sections("controllers")
                   if (controller := s.attempt(None, _controller, name, c, devices, env, base_dir)) is not None}
    aps: dict[str, AccessPoint] = {}
    for a in s.sections("access_points"):
        try:
            ap = _access_point(a, controllers, devices)
        except ConfigError as exc:
            errors.append(exc)
            continue
        if ap.name in aps:
            first = aps[ap.name].line
            errors.append(a.error("name", f"access point {ap.name!r} is listed twice (first at line {first})"))
        else:
            errors.extend(_same_thing(a, ap, aps, controllers))
        aps[ap.name] = ap
    guards = _guards(s.section("guards", {}), controllers, aps)
    api = _api(s.section("api", {}), env, base_dir)
    estimates = s.section("estimates", {})
    estimates_w = {str(model): estimates.number(str(model), minimum=0.0) for model in list(estimates.data)}
    estimates.finish()
    groups: dict[str, Group] = {}
    for name, g in s.named_sections("groups"):
        try:
            groups[name] = _group(name, g, controllers=controllers, aps=aps, sites=sites, guards=guards)
        except ConfigError as exc:
            errors.append(exc)
    evaluate_every_s = s.duration("evaluate_every", 60.0, minimum=1.0)
    s.finish()
    if errors:
        raise ConfigErrors(errors)
    return WifiConfig(controllers, aps, groups, guards, api, evaluate_every_s, estimates_w)


def _controller(name: str, s: Section, devices: dict[str, Any], env: dict[str, str],
                base_dir: Path | None) -> ControllerSpec:
    s.check_name(name)
    kind = s.choice("type", CONTROLLER_TYPES)
    device_name = s.text("device", "")
    if device_name and device_name not in devices:
        raise s.error("device", f"controller {name}: unknown device {device_name!r}")
    if kind in SNMP_TYPES and not device_name:
        raise s.error("device", f"controller {name}: a {kind} controller is reached through a device of the "
                      "config (its address and SNMP credential)")
    device = devices.get(device_name)
    password = secret_at(s, "password", environ=env, base_dir=base_dir) if s.has("password") else None
    wlans_section = s.section("wlans", {})
    wlans = {str(k): wlans_section.integer(str(k), minimum=0) for k in list(wlans_section.data)}
    wlans_section.finish()
    spec = ControllerSpec(
        name=name, type=kind, device=device_name,
        host=s.text("host", device.host if device else ""),
        port=s.integer("port", 830, minimum=1, maximum=65535),
        username=s.text("username", ""), password=password,
        known_hosts=s.text("known_hosts", ""),
        timeout_s=s.duration("timeout", 30.0, minimum=0.1),
        confirm_timeout_s=s.duration("confirm_timeout", 120.0, minimum=1.0),
        wlans=wlans, line=s.line,
    )
    if kind not in SNMP_TYPES and not spec.host:
        raise s.error("host", f"controller {name}: needs a host (or a device)")
    s.finish()
    return spec


def _access_point(s: Section, controllers: dict[str, ControllerSpec], devices: dict[str, Any]) -> AccessPoint:
    name = s.text("name")
    s.check_name(name, key="name")
    controller = s.text("controller")
    if controller not in controllers:
        raise s.error("controller", f"access point {name}: unknown controller {controller!r} "
                      f"(controllers: {', '.join(controllers) or 'none'})")
    radios = []
    for r in s.sections("radios"):
        radios.append(RadioSpec(slot=r.integer("slot", minimum=0, maximum=7), band=r.choice("band", BANDS),
                                if_index=r.integer("if_index", None, minimum=1), critical=r.boolean("critical", False)))
        r.finish()
    poe = None
    if s.has("poe"):
        p = s.section("poe")
        poe = PoePort(switch=p.text("switch"), port=p.text("port"))
        if poe.switch not in devices:
            raise p.error("switch", f"access point {name}: unknown device {poe.switch!r}")
        p.finish()
    ap = AccessPoint(name=name, controller=controller, mac=s.text("mac", ""), ethernet_mac=s.text("ethernet_mac", ""),
                     model=s.text("model", ""),
                     radios=tuple(radios), poe=poe, critical=s.boolean("critical", False), line=s.line)
    s.finish()
    return ap


def _mac(text: str) -> str:
    return "".join(c for c in text.lower() if c in "0123456789abcdef")


def _same_thing(s: Section, ap: AccessPoint, aps: dict[str, AccessPoint],
                controllers: dict[str, ControllerSpec]) -> list[ConfigError]:
    """Guards hold by what a thing is, not by what it is called: one AP (MAC, PoE port) under two names, or
    one radio (slot, ifIndex) listed twice, would let a change reach a critical or unlisted thing by its
    other name."""
    errors = []
    for other in aps.values():
        same_controller = other.controller == ap.controller
        if same_controller and ap.mac and _mac(ap.mac) == _mac(other.mac):
            errors.append(s.error("mac", f"access point {ap.name}: MAC {ap.mac} is access point {other.name} "
                                  f"(line {other.line}); one AP has one entry"))
        if ap.poe is not None and other.poe is not None and (ap.poe.switch, ap.poe.port) == (
                other.poe.switch, other.poe.port):
            errors.append(s.error("poe", f"access point {ap.name}: PoE port {ap.poe.switch} {ap.poe.port} is "
                                  f"already access point {other.name}'s (line {other.line})"))
        if same_controller and controllers[ap.controller].type == "ifmib":
            shared = sorted({r.if_index for r in ap.radios if r.if_index is not None}
                            & {r.if_index for r in other.radios if r.if_index is not None})
            if shared:
                errors.append(s.error("radios", f"access point {ap.name}: ifIndex {shared[0]} "
                                      f"is a radio of access point {other.name} (line {other.line})"))
    slots = [r.slot for r in ap.radios]
    if len(set(slots)) != len(slots):
        twice = sorted({x for x in slots if slots.count(x) > 1})
        errors.append(s.error("radios", f"access point {ap.name}: slot {twice[0]} is listed twice (a radio is "
                              "its slot, whatever its band)"))
    indexes = [r.if_index for r in ap.radios if r.if_index is not None]
    if len(set(indexes)) != len(indexes):
        errors.append(s.error("radios", f"access point {ap.name}: one ifIndex is listed for two radios"))
    return errors


def management_keys(names: frozenset[str], controllers: dict[str, ControllerSpec]) -> frozenset[str]:
    """Every SSID target key that is a management SSID: by name, and on controllers that index WLANs,
    every name (alias) of the management SSID's WLAN index."""
    keys = set()
    for spec in controllers.values():
        indexes = {spec.wlans[n] for n in names if n in spec.wlans}
        aliases = {n for n, index in spec.wlans.items() if index in indexes}
        keys |= {f"{spec.name}/ssid:{n}" for n in names | aliases}
    return frozenset(keys)


def _guards(s: Section, controllers: dict[str, ControllerSpec], aps: dict[str, AccessPoint]) -> Guards:
    def allow(key: str, known: dict[str, Any] | None) -> frozenset[str] | None:
        if not s.has(key):
            s.raw(key, None)
            return None
        names = frozenset(s.text_list(key))
        unknown = sorted(names - set(known)) if known is not None else []
        if unknown:
            raise s.error(key, f"unknown name(s): {', '.join(unknown)}")
        return names

    guards = Guards(
        max_changes_per_run=s.integer("max_changes_per_run", 20, minimum=1),
        max_changes_per_minute=s.integer("max_changes_per_minute", 30, minimum=1),
        management_ssids=(names := frozenset(s.text_list("management_ssids", []))),
        management_keys=management_keys(names, controllers),
        allow_controllers=allow("allow_controllers", controllers),
        allow_aps=allow("allow_aps", aps),
        allow_ssids=allow("allow_ssids", None),
        dead_man_s=s.duration("dead_man", 300.0, minimum=5.0),
        retries=s.integer("retries", 2, minimum=0, maximum=10),
    )
    s.finish()
    return guards


def _api(s: Section, env: dict[str, str], base_dir: Path | None) -> ApiSettings:
    host, port = parse_listen(s, "listen", "127.0.0.1:8470")
    if not is_loopback(host):
        raise s.error("listen", f"{host} is not a loopback address: the Wi-Fi API listens on the loopback only "
                      "(e.g. 127.0.0.1:8470 or [::1]:8470)")
    token = None
    if s.has("token"):
        reference = s.text("token")
        if not reference.startswith(TOKEN_SCHEMES):
            raise s.error("token", "the bearer token switches radios: give a secret reference (env:NAME, "
                          "file:PATH or credential:NAME), never the token itself nor plain:")
        token = secret_at(s, "token", environ=env, base_dir=base_dir)
        if len(token.reveal()) < MIN_TOKEN_CHARS:
            # the length only, never the value
            raise s.error("token", f"{reference} resolves to {len(token.reveal())} characters; a bearer token "
                          f"needs at least {MIN_TOKEN_CHARS} (e.g. openssl rand -hex 24)")
    s.finish()
    return ApiSettings(host, port, token)


def _group(name: str, s: Section, *, controllers: dict[str, ControllerSpec], aps: dict[str, AccessPoint],
           sites: dict[str, Any], guards: Guards) -> Group:
    s.check_name(name)
    site_name = s.text("site")
    if site_name not in sites:
        raise s.error("site", f"group {name}: unknown site {site_name!r} (sites: {', '.join(sites) or 'none'})")
    scope = Scope(s.choice("scope", tuple(Scope), "radio"))
    targets = _targets(name, s, scope, controllers=controllers, aps=aps, guards=guards)
    pre_s, post_s = s.duration("pre", 0.0), s.duration("post", 0.0)
    events = tuple(_event(e) for e in s.sections("events"))
    windows = tuple(_window(w) for w in s.sections("windows"))
    idle = None
    if s.has("idle"):
        i = s.section("idle")
        idle = IdleRule(after_s=i.duration("after", minimum=60.0), ignore=frozenset(i.text_list("ignore", [])),
                        max_sleep_s=i.duration("max_sleep", minimum=60.0) if i.has("max_sleep") else None)
        if not i.has("max_sleep"):
            i.raw("max_sleep", None)
        i.finish()
    group = Group(name=name, site=site_name, timezone=sites[site_name].timezone, scope=scope, targets=targets,
                  default=s.choice("default", DEFAULT_MODES, "unmanaged"),
                  coverage_floor=s.integer("coverage_floor", 0, minimum=0),
                  pre_s=pre_s, post_s=post_s, events=events, windows=windows, idle=idle, line=s.line)
    s.finish()
    _check_contradictions(group, s)
    return group


def _targets(name: str, s: Section, scope: Scope, *, controllers: dict[str, ControllerSpec],
             aps: dict[str, AccessPoint], guards: Guards) -> tuple[Target, ...]:
    targets: list[Target] = []
    if scope is Scope.SSID:
        controller = s.text("controller")
        if controller not in controllers:
            raise s.error("controller", f"group {name}: unknown controller {controller!r}")
        for ssid in s.text_list("ssids"):
            target = Target(controller, Scope.SSID, ssid=ssid)
            if ssid in guards.management_ssids or target.key in guards.management_keys:
                index = controllers[controller].wlans.get(ssid)
                what = f" (WLAN {index}, as {', '.join(sorted(guards.management_ssids))})" if index is not None else ""
                raise s.error("ssids", f"group {name}: {ssid!r} is a management SSID{what}, never switched")
            targets.append(target)
        return tuple(targets)
    for ap_name in s.text_list("aps"):
        ap = aps.get(ap_name)
        if ap is None:
            raise s.error("aps", f"group {name}: unknown access point {ap_name!r}")
        if scope is Scope.AP:
            if ap.poe is None and controllers[ap.controller].type not in ("c9800",):
                raise s.error("aps", f"group {name}: access point {ap_name} has no PoE port and its controller "
                              "cannot switch a whole AP")
            owner = _poe_controller(ap, controllers) if ap.poe is not None else ap.controller
            if owner is None:
                switch = ap.poe.switch if ap.poe is not None else ""
                raise s.error("aps", f"group {name}: no controller of type poe for switch {switch!r}"
                              f" (access point {ap_name})")
            # switching the whole AP switches its radios: a critical radio makes the AP critical
            critical = ap.critical or any(r.critical for r in ap.radios)
            targets.append(Target(owner, Scope.AP, ap=ap.name, critical=critical))
        else:
            if not ap.radios:
                raise s.error("aps", f"group {name}: access point {ap_name} lists no radios")
            targets.extend(Target(ap.controller, Scope.RADIO, ap=ap.name, radio=r.slot, band=r.band,
                                  critical=ap.critical or r.critical) for r in ap.radios)
    return tuple(targets)


def _poe_controller(ap: AccessPoint, controllers: dict[str, ControllerSpec]) -> str | None:
    assert ap.poe is not None
    return next((c.name for c in controllers.values() if c.type == "poe" and c.device == ap.poe.switch), None)


def _event(s: Section) -> Event:
    def local(key: str) -> datetime:
        text = s.text(key)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise s.error(key, f"{text!r} is not a date and time (2026-10-25T20:45)") from None
        if value.tzinfo is not None:
            raise s.error(key, "give the site's local time without an offset (the site's time zone applies)")
        return value

    event = Event(name=s.text("name"), start=local("start"), end=local("end"),
                  state=_state(s), line=s.line)
    if event.end <= event.start:
        raise s.error("end", f"event {event.name}: ends before it starts")
    s.finish()
    return event


def _state(s: Section) -> State:
    return "off" if s.choice("state", ("on", "off"), "on") == "off" else "on"


def _window(s: Section) -> Window:
    try:
        cron = parse_cron(s.text("cron"))
    except ValueError as exc:
        raise s.error("cron", str(exc)) from None
    window = Window(name=s.text("name"), cron=cron, duration_s=s.duration("duration", minimum=60.0),
                    state=_state(s), line=s.line)
    s.finish()
    return window


def occurrences(group: Group, start_utc: datetime, end_utc: datetime) -> list[tuple[datetime, datetime, str, str]]:
    """Every rule occurrence overlapping [start, end]: (from, to, state, "event:NAME"/"window:NAME"), buffers
    included, in UTC (aware)."""
    zone = group.zone
    pre, post = timedelta(seconds=group.pre_s), timedelta(seconds=group.post_s)
    found: list[tuple[datetime, datetime, str, str]] = []
    for event in group.events:
        begin = event.start.replace(tzinfo=zone) - pre
        end = event.end.replace(tzinfo=zone) + post
        if begin <= end_utc and end >= start_utc:
            found.append((begin, end, event.state, f"event:{event.name}"))
    for window in group.windows:
        length = timedelta(seconds=window.duration_s)
        for first in window.cron.starts_between(start_utc - length - post, end_utc + pre, zone):
            found.append((first - pre, first + length + post, window.state, f"window:{window.name}"))
    return found


def _check_contradictions(group: Group, s: Section) -> None:
    """Two rules wanting opposite states at the same moment is a config error, not a coin toss."""
    rules = {f"event:{e.name}": e.line for e in group.events} | {f"window:{w.name}": w.line for w in group.windows}
    if len({e.state for e in group.events} | {w.state for w in group.windows}) < 2:
        return
    zone_utc = ZoneInfo("UTC")
    start = _OVERLAP_FROM.replace(tzinfo=zone_utc)
    spans = occurrences(group, start, start + timedelta(days=_OVERLAP_DAYS))
    if group.events:     # events may lie outside the scanned years: scan around them as well
        first = min(e.start for e in group.events).replace(tzinfo=group.zone) - timedelta(days=1)
        last = max(e.end for e in group.events).replace(tzinfo=group.zone) + timedelta(days=1)
        spans += occurrences(group, first, last)
    spans.sort()
    latest_end: dict[str, tuple[datetime, str]] = {}
    for begin, end, state, rule in spans:
        other = "off" if state == "on" else "on"
        if other in latest_end and latest_end[other][0] > begin:
            clash = latest_end[other][1]
            raise ConfigError(
                f"group {group.name}: {rule} ({state}) overlaps {clash} ({other}) around "
                f"{begin.astimezone(group.zone):%Y-%m-%d %H:%M} {group.timezone}: contradictory rules "
                f"(line {rules.get(clash)})", file=s.file, line=rules.get(rule, s.line), key=f"{s.path}")
        if state not in latest_end or latest_end[state][0] < end:
            latest_end[state] = (end, rule)


def dump_wifi(w: WifiConfig) -> dict[str, Any]:
    """The section as ``check-config --show`` prints it, in the file's keys."""
    # management_keys is derived from management_ssids (every alias of their WLANs), not a key of the file
    guards = {k: v for k, v in plain(w.guards, _SHOWN).items() if k != "management_keys"}
    return {"evaluate_every": duration(w.evaluate_every_s), "controllers": plain(w.controllers, _SHOWN),
            "access_points": [plain(a, _SHOWN) for a in w.access_points.values()], "guards": guards,
            "api": plain(w.api, _SHOWN), "estimates": dict(w.estimates_w), "groups": plain(w.groups, _SHOWN)}


def _group_shown(g: Group) -> dict[str, Any]:
    out = {k: v for k, v in named(g, _SHOWN).items() if k not in ("timezone", "targets")}    # timezone: the site's
    if g.scope is Scope.SSID:
        out["controller"] = g.targets[0].controller if g.targets else ""
        out["ssids"] = [t.ssid for t in g.targets]
    else:
        out["aps"] = list(dict.fromkeys(t.ap for t in g.targets))
    return out


def _api_shown(a: ApiSettings) -> dict[str, Any]:
    return {"listen": join_host_port(a.host, a.port), **({"token": str(a.token)} if a.token is not None else {})}


def _controller_shown(c: ControllerSpec) -> dict[str, Any]:
    return named(c, _SHOWN)


def _cron_shown(c: Cron) -> str:
    return c.text


_SHOWN: Shown = {Group: _group_shown, ApiSettings: _api_shown, ControllerSpec: _controller_shown, Cron: _cron_shown}
