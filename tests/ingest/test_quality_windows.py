"""The quality rule of the aggregates (pure): which flags exclude a value, the expected
interval of an hour and its coverage."""

from __future__ import annotations

import numpy as np
import pytest

from airq_core.storage import DEFAULT_INTERVAL_S, excludes_from_aggregates
from ingest.recompute import chunk_hour_intervals, reduce_raw
from ingest.windows import HOUR_MS, hour_coverage

H0 = 1_790_000_000_000 - 1_790_000_000_000 % HOUR_MS


@pytest.mark.parametrize(
    ("flags", "excluded"),
    [
        ("", False),
        (None, False),
        ("humid", False),
        ("coarse_no2", False),
        ("model_unknown,humid", False),
        ("warmup", True),
        ("humid,warmup", True),
        ("clock_suspect", True),
        ("device_error", True),
        ("a_flag_added_later", True),
        (("warmup", "warning"), True),
    ],
)
def test_excludes_from_aggregates(flags, excluded) -> None:  # type: ignore[no-untyped-def]
    assert excludes_from_aggregates(flags) is excluded


def test_interval_is_the_median_gap_despite_an_outage() -> None:
    # every 10 s for 20 minutes, nothing for 40 minutes: the interval stays 10 s, the
    # coverage is the third of the hour that was received
    t = H0 + np.arange(0, 20 * 60_000, 10_000, dtype=np.int64)
    sid = np.zeros(t.size, dtype=np.int64)
    _, hour, interval = chunk_hour_intervals(sid, t)
    assert hour.tolist() == [H0] and interval.tolist() == [10.0]
    assert hour_coverage(np.array([t.size], dtype=float), interval).tolist() == [
        pytest.approx(1 / 3)
    ]


def test_interval_of_a_slow_station_and_of_a_single_reading() -> None:
    t = np.array([H0 + 5_000 + i * 145_000 for i in range(24)] + [H0 + HOUR_MS + 1], np.int64)
    sid = np.zeros(t.size, dtype=np.int64)
    _, hours, interval = chunk_hour_intervals(sid, t)
    assert hours.tolist() == [H0, H0 + HOUR_MS]
    assert interval.tolist() == [145.0, DEFAULT_INTERVAL_S]
    assert hour_coverage(np.array([24.0]), interval[:1]).tolist() == [
        pytest.approx(24 * 145 / 3600)
    ]


def test_excluded_values_are_counted_not_averaged() -> None:
    t = H0 + np.arange(4, dtype=np.int64) * 1000
    vals = np.array([[0.0], [10.0], [20.0], [np.nan]])
    excluded = np.array([True, False, False, True])
    _, _, parts = reduce_raw("1m", np.zeros(4, np.int64), t, vals, ["pm2_5"], excluded)
    count, total, lo, hi, flagged = parts["pm2_5"]
    assert (count.tolist(), total.tolist(), lo.tolist(), hi.tolist(), flagged.tolist()) == (
        [2.0],
        [30.0],
        [10.0],
        [20.0],
        [1.0],  # the excluded row without a pm2_5 value is not counted
    )
