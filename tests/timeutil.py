"""The tests' clock: data built relative to now, and DST days found from now.

``now()`` is the wall clock shifted by ``AIRQ_TEST_CLOCK_OFFSET_DAYS`` days (default 0), so
that the tests which build their data from it *and* give the code under test an injected clock
can be run "a year ahead" (``AIRQ_TEST_CLOCK_OFFSET_DAYS=365``). Code that reads the real clock
itself (a running ingest, the API, InfluxDB's retention) is not shifted: tests against it use
``real_now()``. See tests/README.md.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

OFFSET_ENV = "AIRQ_TEST_CLOCK_OFFSET_DAYS"
PARIS = ZoneInfo("Europe/Paris")
DAY_S = 86_400


def offset_s() -> float:
    """The shift of ``now()`` in seconds, from ``AIRQ_TEST_CLOCK_OFFSET_DAYS`` (days, may be
    fractional). Never negative: influxd drops raw readings by the real clock, so data built
    from a clock in the past would fall beyond its retention."""
    text = os.environ.get(OFFSET_ENV, "").strip()
    if not text:
        return 0.0
    try:
        days = float(text)
    except ValueError:
        raise ValueError(f"{OFFSET_ENV} must be a number of days, not {text[:40]!r}") from None
    if not 0 <= days <= 50 * 366:  # NaN too; the tests' times stay below 2100 (wire.TS_MAX)
        raise ValueError(f"{OFFSET_ENV} must be a number of days from 0 to 50 years, not {text!r}")
    return days * DAY_S


def real_now() -> float:
    """The wall clock (what influxd, a running ingest or the API compare with)."""
    return time.time()


def now() -> float:
    """The tests' clock: the wall clock shifted by ``AIRQ_TEST_CLOCK_OFFSET_DAYS``."""
    return time.time() + offset_s()


def day_start(day: date, tz: ZoneInfo = PARIS) -> float:
    """Unix time of local midnight starting ``day`` in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def day_length_h(day: date, tz: ZoneInfo = PARIS) -> float:
    """Length of the civil day ``day`` in ``tz``, in hours (23, 24 or 25 in Paris)."""
    return (day_start(day + timedelta(days=1), tz) - day_start(day, tz)) / 3600


def last_dst_change(
    kind: Literal["spring", "fall"],
    now: float,
    tz: ZoneInfo = PARIS,
    min_age_days: float = 3.0,
) -> date:
    """The most recent civil day of ``tz`` on which the clocks went forward (``"spring"``, a
    23-hour day) or back (``"fall"``, a 25-hour day) and that ended at least ``min_age_days``
    before ``now``. It is then at most a year plus ``min_age_days`` old: inside the raw
    retention of 400 days with a month to spare."""
    if kind not in ("spring", "fall"):
        raise ValueError(f"kind must be 'spring' or 'fall', not {kind!r}")
    want = 23.0 if kind == "spring" else 25.0
    day = datetime.fromtimestamp(now - min_age_days * DAY_S, tz).date() - timedelta(days=1)
    for _ in range(2 * 366):
        if day_length_h(day, tz) == want:
            return day
        day -= timedelta(days=1)
    raise ValueError(f"no {kind} DST change in {tz.key} in the two years before {now}")


def iso(ts: float) -> str:
    """``2026-03-28T00:00:00Z`` (whole seconds), as the API takes and gives times."""
    return datetime.fromtimestamp(round(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
