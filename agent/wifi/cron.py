"""Cron-style window starts (``minute hour day-of-month month day-of-week``) on the site's local wall time.

APScheduler's ``CronTrigger`` (time-zone aware) reads the fields and finds the starts. Two parts of
cron(5) stay here, because APScheduler 3.x reads them differently (both measured in
tests/test_wifi_policy.py):

- day-of-week numbers: cron counts 0 (and 7) as Sunday, APScheduler 3 counts 0 as Monday (the warning
  of ``CronTrigger.from_crontab``; changed only in 4.x). The field is read here and handed over as names.
- day-of-month and day-of-week both restricted: cron starts when *either* matches, APScheduler only when
  both do. Such an expression becomes two triggers, one per field.

Across DST (what CronTrigger does, pinned by a test): a window starts at its local time on both sides of
a change and lasts its duration in real time; a start in the hour that does not exist (spring forward)
happens once, an hour later on the wall clock (02:30 -> 03:30); a start in the hour that happens twice
(fall back) happens twice, once in each offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")         # cron's numbering: 0 (and 7) = Sunday
_LABELS = {"minute": "minute", "hour": "hour", "day": "day of month", "month": "month"}


@dataclass(frozen=True, slots=True)
class Cron:
    text: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str          # day names (APScheduler's numbers are not cron's)
    either_day: bool          # day of month and day of week both restricted: either one matches

    def starts_between(self, start_utc: datetime, end_utc: datetime, zone: tzinfo) -> list[datetime]:
        """The starts in [start, end] (whole minutes, UTC), oldest first."""
        found: set[datetime] = set()
        for trigger in _triggers(self, zone):
            start = trigger.get_next_fire_time(None, start_utc)
            while start is not None and start <= end_utc:
                found.add(start.astimezone(UTC))
                start = trigger.get_next_fire_time(start, start)
        return sorted(found)

    def matches(self, local: datetime) -> bool:
        """Whether a wall-clock minute (naive) is a start."""
        minute = local.replace(second=0, microsecond=0, tzinfo=UTC)
        return self.starts_between(minute, minute, UTC) == [minute]


@lru_cache(maxsize=256)
def _triggers(cron: Cron, zone: tzinfo) -> tuple[CronTrigger, ...]:
    def trigger(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(minute=cron.minute, hour=cron.hour, day=day, month=cron.month, day_of_week=day_of_week,
                           timezone=zone)

    if cron.either_day:
        return trigger(cron.day, "*"), trigger("*", cron.day_of_week)
    return (trigger(cron.day, cron.day_of_week),)


def parse_cron(text: str) -> Cron:
    """Raises ValueError naming the bad field."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"{text!r}: a cron expression has 5 fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = (part.lower() for part in parts)
    for name, value in zip(_LABELS, (minute, hour, day, month), strict=True):
        try:
            CronTrigger(timezone=UTC, **{name: value})
        except ValueError as exc:
            raise ValueError(f"{_LABELS[name]}: {value!r}: {exc}") from None
    return Cron(text, minute, hour, day, month, _weekday_names(weekday), either_day=day != "*" and weekday != "*")


def _weekday_names(text: str) -> str:
    if text == "*":
        return "*"
    days: list[str] = []
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"day of week: bad step in {item!r}")
        first_text, _, last_text = ("0-6" if body == "*" else body).partition("-")
        first = _weekday(first_text)
        last = _weekday(last_text) if last_text else (6 if step_text else first)
        if first > last:
            raise ValueError(f"day of week: range {item!r} runs backwards")
        days += [_WEEKDAYS[n % 7] for n in range(first, last + 1, int(step_text or 1))]
    return ",".join(dict.fromkeys(days))


def _weekday(text: str) -> int:
    if text in _WEEKDAYS:
        return _WEEKDAYS.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"day of week: {text!r} is not in 0-7 (0 and 7: Sunday) or a day name (sun ... sat)")
