"""Energy integration, checked against hand-computed values."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent.energy import EnergyState, Sample, close_open_interval, integrate
from agent.power.readings import Method

M = Method.MEASURED


def feed(samples: Sequence[tuple[float, float | None, Method]], *, interval_s: float = 3600,
         max_gap_s: float = 300) -> tuple[EnergyState, list[tuple[object, ...]]]:
    state = EnergyState()
    out: list[tuple[object, ...]] = []
    for t, p, m in samples:
        state, closed = integrate(state, Sample(t, p, m), interval_s=interval_s, max_gap_s=max_gap_s)
        out += [(i.start_s, i.end_s, i.wh, i.seconds, str(i.method)) for i in closed]
    return state, out


def test_constant_power_for_an_hour_is_its_wattage_in_wh() -> None:
    # 100 W sampled every 60 s from 00:00 to 01:00, then one sample past the boundary closes the hour
    state, out = feed([(t, 100.0, M) for t in range(0, 3601, 60)] + [(3660, 100.0, M)])
    assert out == [(0, 3600, pytest.approx(100.0), 3600, "measured")]
    assert state.wh == pytest.approx(100.0 * 60 / 3600)       # 00:00-00:01 of the next hour so far


def test_ramp_is_integrated_as_a_trapezoid_and_split_at_the_boundary() -> None:
    # 0 W at t=3000 to 1200 W at t=4200: the boundary at 3600 sits halfway, where power is 600 W.
    # Before: (0+600)/2 W x 600 s = 50 Wh; after: (600+1200)/2 x 600 s = 150 Wh.
    state, out = feed([(3000, 0.0, M), (4200, 1200.0, M), (7300, 1200.0, M)], max_gap_s=4000)
    assert out[0] == (0, 3600, pytest.approx(50.0), 600, "measured")
    assert out[1] == (3600, 7200, pytest.approx(150.0 + 1200 * 3000 / 3600), 3600, "measured")
    assert state.bucket_start_s == 7200


def test_a_long_gap_is_not_bridged_and_shows_as_coverage() -> None:
    # samples 0..600 s at 360 W, then nothing until 2400 s (a 30-minute gap > 5 min max gap)
    _state, out = feed([(0, 360.0, M), (600, 360.0, M), (2400, 360.0, M), (3000, 360.0, M),
                       (3650, 360.0, M)], max_gap_s=650)
    [hour] = out
    assert hour[2] == pytest.approx(360 * (600 + 600 + 600) / 3600)     # 0-600, 2400-3000, 3000-3600
    assert hour[3] == pytest.approx(1800)                                # coverage 0.5


def test_unknown_power_breaks_the_chain() -> None:
    _, out = feed([(0, 100.0, M), (60, None, Method.UNKNOWN), (120, 100.0, M), (3700, 100.0, M)],
                  max_gap_s=4000)
    # 0-60 is lost (no second sample with power), 60-120 too; 120-3600 is bridged
    assert out == [(0, 3600, pytest.approx(100 * 3480 / 3600), 3480, "measured")]


def test_weakest_method_names_the_interval() -> None:
    _, out = feed([(0, 100.0, M), (60, 100.0, Method.DERIVED), (3700, 100.0, M)], max_gap_s=4000)
    assert out[0][4] == "derived"


def test_repeated_or_backwards_samples_add_nothing() -> None:
    state, _ = feed([(0, 100.0, M), (60, 100.0, M)])
    again, out = integrate(state, Sample(60, 500.0, M), interval_s=3600, max_gap_s=300)
    assert (again, out) == (state, [])
    earlier, out = integrate(state, Sample(30, 500.0, M), interval_s=3600, max_gap_s=300)
    assert (earlier, out) == (state, [])


def test_state_round_trips_so_a_restart_continues_exactly() -> None:
    state, _ = feed([(0, 100.0, M), (60, 120.0, Method.DERIVED)])
    restored = EnergyState.from_json(state.to_json())
    assert restored == state
    continued, _ = integrate(restored, Sample(120, 120.0, M), interval_s=3600, max_gap_s=300)
    uninterrupted, _ = integrate(state, Sample(120, 120.0, M), interval_s=3600, max_gap_s=300)
    assert continued == uninterrupted


def test_quiet_device_closes_its_interval() -> None:
    state, _ = feed([(0, 100.0, M), (60, 100.0, M)])
    state, closed = close_open_interval(state, 3600, now_s=4000)
    assert [c.seconds for c in closed] == [60]
    assert closed[0].wh == pytest.approx(100 / 60)
    assert state.bucket_start_s == 3600
