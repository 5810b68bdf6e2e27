"""The one place netwatt reads the wall clock: everything time-based takes a ``Clock`` so tests (and
a rerun 400 days ahead under libfaketime) decide what "now" is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)
