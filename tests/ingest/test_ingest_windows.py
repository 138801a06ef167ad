"""Window bounds, the dirty-window schedule and the weighted reduction (pure).

The dates here stay fixed: pure functions of the instants given (the schedule's clock is an
argument), nothing is stored, so the calendar cannot overtake them."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from ingest.windows import (
    DirtyWindows,
    group_starts,
    paris_day_bounds_ms,
    reduce_sorted,
    window_bounds_ms,
    window_starts_ms,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize(
    ("inside", "start", "hours"),
    [
        ("2026-03-29T12:00:00Z", "2026-03-28T23:00:00Z", 23),  # spring forward
        ("2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z", 25),  # fall back
        ("2026-07-14T21:59:00Z", "2026-07-13T22:00:00Z", 24),  # summer, just before midnight
        ("2026-07-14T22:00:00Z", "2026-07-14T22:00:00Z", 24),  # local midnight
        ("2026-01-15T23:30:00Z", "2026-01-15T23:00:00Z", 24),  # winter: UTC+1
    ],
)
def test_paris_days_follow_local_midnight_and_dst(inside: str, start: str, hours: int) -> None:
    s, e = paris_day_bounds_ms(ms(inside))
    assert s == ms(start)
    assert (e - s) == hours * 3_600_000
    assert window_bounds_ms("1d_paris", ms(inside)) == (s, e)


def test_vectorised_window_starts_match_scalar_bounds() -> None:
    rng = np.random.default_rng(1)
    ts = np.sort(rng.integers(ms("2026-03-20T00:00:00Z"), ms("2026-11-05T00:00:00Z"), 5000))
    for tier in ("1m", "1h", "1d", "1d_paris"):
        got = window_starts_ms(tier, ts)
        want = [window_bounds_ms(tier, int(t))[0] for t in ts]
        assert got.tolist() == want, tier


def test_utc_tiers_are_fixed_windows() -> None:
    t = ms("2026-05-01T10:17:42Z")
    assert window_bounds_ms("1m", t) == (ms("2026-05-01T10:17:00Z"), ms("2026-05-01T10:18:00Z"))
    assert window_bounds_ms("1h", t) == (ms("2026-05-01T10:00:00Z"), ms("2026-05-01T11:00:00Z"))
    assert window_bounds_ms("1d", t) == (ms("2026-05-01T00:00:00Z"), ms("2026-05-02T00:00:00Z"))


def test_window_is_due_after_close_grace_and_settle_lower_tiers_first() -> None:
    d = DirtyWindows(grace=10, settle=2, stage=5)
    minute = ms("2026-05-01T10:17:00Z")
    end_s = minute / 1000 + 60
    d.mark_minutes({minute: ({"lens-01"}, {"pm2_5"})}, now=end_s - 30, tiers=("1m", "1h"))
    assert d.pop_due(end_s + 9.9) == []
    (p,) = d.pop_due(end_s + 10)
    assert (p.tier, p.start_ms, p.stations, p.quantities) == ("1m", minute, {"lens-01"}, {"pm2_5"})
    hour_end = ms("2026-05-01T11:00:00Z") / 1000
    assert d.pop_due(hour_end + 14.9) == []
    assert [p.tier for p in d.pop_due(hour_end + 15)] == ["1h"]


def test_late_reading_makes_its_closed_window_due_after_settle() -> None:
    d = DirtyWindows(grace=10, settle=2, stage=5)
    old = ms("2026-05-01T10:17:00Z")
    now = old / 1000 + 3600
    d.mark_minutes({old: ({"lens-01"}, {"pm10"})}, now=now, tiers=("1m",))
    assert d.pop_due(now + 1) == []
    d.mark_minutes({old: ({"lens-02"}, {"pm2_5"})}, now=now + 1.5, tiers=("1m",))
    assert d.pop_due(now + 3) == []  # a backlog still touching it postpones it
    (p,) = d.pop_due(now + 3.5)
    assert p.stations == {"lens-01", "lens-02"} and p.quantities == {"pm10", "pm2_5"}


def test_reduction_weights_means_by_count() -> None:
    # two 1-minute aggregates: mean 10 over 1 reading, mean 20 over 3 readings -> 17.5
    sid = np.array([0, 0, 1])
    win = np.array([0, 0, 0])
    starts = group_starts(sid, win)
    count = np.array([1.0, 3.0, 0.0])
    mean = np.array([10.0, 20.0, np.nan])
    r = reduce_sorted(starts, count, mean * count, np.array([10.0, 15.0, np.nan]), mean + 5)
    assert r.count.tolist()[0] == 4.0 and r.mean[0] == 17.5
    assert r.min[0] == 10.0 and r.max[0] == 25.0
    assert r.count[1] == 0 and np.isnan(r.mean[1])
