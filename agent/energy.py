"""Power samples -> energy per interval (pure: no clock, no I/O).

Trapezoid integration between consecutive samples, split exactly at interval boundaries (the
power at a boundary is interpolated). A gap longer than ``max_gap_s`` is not bridged: the interval
records fewer covered seconds (coverage < 1) instead of inventing energy. The state is plain data
so the store can persist it in the same transaction as the points it produced: a restart neither
loses nor double-counts energy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from agent.power.readings import Method

# The weakest method contributing to an interval names it.
_TRUST = {Method.MEASURED: 0, Method.DERIVED: 1, Method.ESTIMATED: 2, Method.UNKNOWN: 3}


def weakest(a: Method, b: Method) -> Method:
    return a if _TRUST[a] >= _TRUST[b] else b


@dataclass(frozen=True, slots=True)
class Sample:
    time_s: float
    power_w: float | None           # None: the device answered but its power is unknown
    method: Method


@dataclass(frozen=True, slots=True)
class EnergyInterval:
    start_s: float
    end_s: float
    wh: float
    seconds: float                  # seconds of the interval actually covered by samples
    method: Method

    @property
    def coverage(self) -> float:
        return self.seconds / (self.end_s - self.start_s)


@dataclass(frozen=True, slots=True)
class EnergyState:
    last: Sample | None = None
    bucket_start_s: float | None = None
    wh: float = 0.0
    seconds: float = 0.0
    method: Method = Method.MEASURED

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.last is not None:
            data["last"]["method"] = str(self.last.method)
        data["method"] = str(self.method)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnergyState:
        last = data.get("last")
        return cls(
            last=Sample(last["time_s"], last["power_w"], Method(last["method"])) if last else None,
            bucket_start_s=data.get("bucket_start_s"), wh=data.get("wh", 0.0),
            seconds=data.get("seconds", 0.0), method=Method(data.get("method", "measured")),
        )


def bucket_of(time_s: float, interval_s: float) -> float:
    return math.floor(time_s / interval_s) * interval_s


def integrate(state: EnergyState, sample: Sample, *, interval_s: float,
              max_gap_s: float) -> tuple[EnergyState, list[EnergyInterval]]:
    """Add one sample; return the new state and the intervals that closed."""
    last = state.last
    if last is not None and sample.time_s <= last.time_s:
        return state, []            # a repeated or out-of-order sample adds nothing
    closed: list[EnergyInterval] = []
    if (last is not None and last.power_w is not None and sample.power_w is not None
            and sample.time_s - last.time_s <= max_gap_s):
        method = weakest(last.method, sample.method)
        for start, end, wh in _segments(last, sample, interval_s):
            state, done = _advance(state, bucket_of(start, interval_s), interval_s)
            closed += done
            state = replace(state, wh=state.wh + wh, seconds=state.seconds + (end - start),
                            method=weakest(state.method, method) if state.seconds else method)
    state, done = _advance(state, bucket_of(sample.time_s, interval_s), interval_s)
    closed += done
    return replace(state, last=sample), closed


def _segments(a: Sample, b: Sample, interval_s: float) -> list[tuple[float, float, float]]:
    """[(start, end, wh)] of the trapezoid a->b cut at every interval boundary."""
    assert a.power_w is not None
    assert b.power_w is not None
    slope = (b.power_w - a.power_w) / (b.time_s - a.time_s)
    cuts = [a.time_s]
    boundary = bucket_of(a.time_s, interval_s) + interval_s
    while boundary < b.time_s:
        cuts.append(boundary)
        boundary += interval_s
    cuts.append(b.time_s)
    segments = []
    for start, end in itertools.pairwise(cuts):
        p_start = a.power_w + slope * (start - a.time_s)
        p_end = a.power_w + slope * (end - a.time_s)
        segments.append((start, end, (p_start + p_end) / 2.0 * (end - start) / 3600.0))
    return segments


def _advance(state: EnergyState, bucket_s: float, interval_s: float) -> tuple[EnergyState, list[EnergyInterval]]:
    """Move the open interval forward to ``bucket_s``, closing the one before if it had data."""
    if state.bucket_start_s is None:
        return replace(state, bucket_start_s=bucket_s, wh=0.0, seconds=0.0), []
    if bucket_s <= state.bucket_start_s:
        return state, []
    closed = []
    if state.seconds > 0:
        closed.append(EnergyInterval(state.bucket_start_s, state.bucket_start_s + interval_s,
                                     round(state.wh, 9), round(state.seconds, 6), state.method))
    return replace(state, bucket_start_s=bucket_s, wh=0.0, seconds=0.0, method=Method.MEASURED), closed


def close_open_interval(state: EnergyState, interval_s: float,
                        now_s: float) -> tuple[EnergyState, list[EnergyInterval]]:
    """Close the open interval if ``now_s`` is past its end (used when a device goes quiet)."""
    return _advance(state, bucket_of(now_s, interval_s), interval_s)
