"""Window planning (pure): which stored tier serves a request, alignment, combining rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.windows import DAY, WindowAcc, parse_duration, plan_window, raw_stats


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("every", "tz", "tier"),
    [
        ("1m", "UTC", "1m"),
        ("5m", "UTC", "1m"),
        ("90m", "UTC", "1m"),
        ("1h", "UTC", "1h"),
        ("1h", "Europe/Paris", "1h"),
        ("6h", "UTC", "1h"),
        ("36h", "UTC", "1h"),
        ("1d", "UTC", "1d"),
        ("2w", "UTC", "1d"),
        ("1d", "Europe/Paris", "1d_paris"),
        ("7d", "Europe/Paris", "1d_paris"),
        ("raw", "UTC", "raw"),
    ],
)
def test_the_coarsest_tier_that_tiles_the_window(every: str, tz: str, tier: str) -> None:
    assert plan_window(every, tz).tier == tier


def test_median_and_p95_force_raw_readings() -> None:
    w = plan_window("1d", "Europe/Paris", raw_aggs=True)
    assert (w.tier, w.local_days) == ("raw", True)


@pytest.mark.parametrize(
    ("every", "tz", "message"),
    [
        ("30s", "UTC", "at least 1 minute"),
        ("61s", "UTC", "whole number of minutes"),
        ("90s", "UTC", "whole number of minutes"),
        ("36h", "Europe/Paris", "whole days"),
        ("1y", "UTC", "not a duration"),
        ("0m", "UTC", "positive"),
        ("1h", "America/New_York", "unknown tz"),
    ],
)
def test_refused_windows(every: str, tz: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_window(every, tz)


def test_durations() -> None:
    assert parse_duration("15m") == 900 and parse_duration("2W") == 14 * DAY
    with pytest.raises(ValueError):
        parse_duration("1" * 20 + "h")


# Fixed dates below: window arithmetic of pure functions, nothing stored or compared with now.
def test_paris_days_follow_daylight_saving() -> None:
    w = plan_window("1d", "Europe/Paris")
    start = w.start_of(ms("2026-03-29T12:00:00+02:00"))
    assert start == ms("2026-03-29T00:00:00+01:00")
    assert w.end_of(start) - start == 23 * 3600 * 1000
    autumn = w.start_of(ms("2026-10-25T12:00:00+01:00"))
    assert w.end_of(autumn) - autumn == 25 * 3600 * 1000


def test_ranges_round_out_to_whole_windows() -> None:
    w = plan_window("6h", "UTC")
    assert w.align(ms("2026-01-01T05:00:00+00:00"), ms("2026-01-01T13:00:00+00:00")) == (
        ms("2026-01-01T00:00:00+00:00"),
        ms("2026-01-01T18:00:00+00:00"),
    )
    p = plan_window("2d", "Europe/Paris")
    first, _ = p.align(ms("2026-03-28T10:00:00+01:00"), ms("2026-03-28T11:00:00+01:00"))
    assert datetime.fromtimestamp(first / 1000, UTC).hour == 23  # local midnight in winter


def test_combining_finer_windows() -> None:
    acc = WindowAcc()
    acc.add_row(10.0, 4.0, 20.0, 3)  # three readings, mean 10
    acc.add_row(20.0, 15.0, 30.0, 1)
    acc.add_row(None, None, None, None)  # a missing row weighs nothing
    assert acc.result(["mean", "min", "max", "count"]) == {
        "mean": 12.5,
        "min": 4.0,
        "max": 30.0,
        "count": 4,
    }
    assert WindowAcc().result(["mean"]) is None


def test_raw_statistics_match_numpy_percentiles() -> None:
    np = pytest.importorskip("numpy")
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    assert raw_stats(values, "median") == float(np.median(values))
    assert raw_stats(values, "p95") == pytest.approx(float(np.percentile(values, 95)))
    assert raw_stats([7.0], "p95") == 7.0 and raw_stats([], "median") is None
