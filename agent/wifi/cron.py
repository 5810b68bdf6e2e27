"""Cron-style window starts (``minute hour day-of-month month day-of-week``), matched on local wall time.

Windows are evaluated by looking back over the real (UTC) minutes a window can span and asking whether
the site's local time matched the expression at one of them: a window "every Friday 18:00 for 4h"
therefore starts at 18:00 local on both sides of a DST change and lasts 4 real hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MONTH_NAMES = {n: i for i, n in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


@dataclass(frozen=True, slots=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]      # 0 = Sunday (7 is accepted as Sunday too)
    any_day: bool
    any_weekday: bool

    def matches(self, local: datetime) -> bool:
        if local.minute not in self.minutes or local.hour not in self.hours or local.month not in self.months:
            return False
        weekday = (local.weekday() + 1) % 7
        day_ok, weekday_ok = local.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:       # cron: both restricted -> either matches
            return day_ok and weekday_ok
        return day_ok or weekday_ok

    def starts_between(self, start_utc: datetime, end_utc: datetime, zone: ZoneInfo) -> list[datetime]:
        """UTC minutes in [start, end] whose local time matches, oldest first."""
        minute = start_utc.replace(second=0, microsecond=0)
        if minute < start_utc:
            minute += timedelta(minutes=1)
        found = []
        while minute <= end_utc:
            local = minute.astimezone(zone)
            if local.hour in self.hours and self.matches(local):
                found.append(minute)
                minute += timedelta(minutes=1)
            elif local.hour not in self.hours:
                minute = (minute + timedelta(minutes=60 - local.minute))   # skip to the next local hour
            else:
                minute += timedelta(minutes=1)
        return found


def parse_cron(text: str) -> Cron:
    """Raises ValueError naming the bad field."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"{text!r}: a cron expression has 5 fields (minute hour day month weekday)")
    sets = []
    for part, (name, low, high) in zip(parts, _FIELDS, strict=True):
        names = _DAY_NAMES if name == "day of week" else _MONTH_NAMES if name == "month" else {}
        sets.append(_field(part.lower(), name, low, high, names))
    weekdays = frozenset(0 if d == 7 else d for d in sets[4])
    return Cron(text, frozenset(sets[0]), frozenset(sets[1]), frozenset(sets[2]), frozenset(sets[3]), weekdays,
                any_day=parts[2] == "*", any_weekday=parts[4] == "*")


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else None
        if step_text and not step:
            raise ValueError(f"{name}: bad step in {item!r}")
        if body == "*":
            first, last = low, high
        else:
            first_text, _, last_text = body.partition("-")
            first = _value(first_text, name, low, high, names)
            last = _value(last_text, name, low, high, names) if last_text else (high if step else first)
        if first > last:
            raise ValueError(f"{name}: range {item!r} runs backwards")
        values.update(range(first, last + 1, step or 1))
    return values


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name}: {text!r} is not in {low}-{high}")
    return int(text)
