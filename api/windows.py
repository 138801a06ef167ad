"""Time windows and their statistics (pure): which stored tier serves a request, how windows
align, and how finer aggregates combine into coarser ones.

Combining follows the storage contract (``airq_core.storage``): a coarser window's mean is the
count-weighted mean of its finer windows, its min the min of mins, its max the max of maxes, its
count the sum of counts. Median and p95 cannot be combined from aggregates: they are computed
from raw readings only (linear interpolation between order statistics, like numpy's default
``percentile`` and pandas' ``quantile``).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from airq_core.storage import LOCAL_TZ, TIERS

__all__ = [
    "AGGS",
    "RAW_ONLY_AGGS",
    "TIMEZONES",
    "Window",
    "WindowAcc",
    "parse_duration",
    "plan_window",
    "raw_stats",
]

AGGS = ("mean", "min", "max", "count", "median", "p95")
RAW_ONLY_AGGS = frozenset({"median", "p95"})
TIMEZONES = ("UTC", LOCAL_TZ)
MINUTE = 60
HOUR = 3600
DAY = 86400

_DURATION_RE = re.compile(r"^([0-9]{1,7})(s|m|min|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": HOUR, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> int:
    """``"15m"``, ``"1h"``, ``"7d"``, ``"2w"`` -> seconds. ValueError with the accepted forms."""
    m = _DURATION_RE.match(text.strip().lower()) if len(text) <= 12 else None
    if not m:
        raise ValueError(
            f"not a duration: {text[:20]!r} (use a number and a unit: 15m, 1h, 1d, 2w)"
        )
    seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Window:
    """How to group stored rows into output windows.

    ``tier``: name in ``TIERS`` or ``"raw"``; ``every_s``: window length (0 for raw output);
    ``local_days``: windows are N civil days of ``tz`` (N = every_s // DAY), else windows are
    aligned on multiples of ``every_s`` since the Unix epoch (UTC), like InfluxQL.
    """

    tier: str
    every_s: int
    tz: str = "UTC"
    local_days: bool = False

    @property
    def is_raw_output(self) -> bool:
        return self.every_s == 0

    def start_of(self, ts_ms: int) -> int:
        """Start (ms, UTC) of the window holding ``ts_ms``."""
        if not self.local_days:
            every_ms = self.every_s * 1000
            return ts_ms // every_ms * every_ms
        n = self.every_s // DAY
        zone = _zone(self.tz)
        local = datetime.fromtimestamp(ts_ms / 1000, zone).date()
        ordinal = (local - _EPOCH).days
        return _local_midnight_ms(_EPOCH + timedelta(days=ordinal // n * n), self.tz)

    def end_of(self, start_ms: int) -> int:
        """End (exclusive, ms) of the window starting at ``start_ms``."""
        if not self.local_days:
            return start_ms + self.every_s * 1000
        local = datetime.fromtimestamp(start_ms / 1000, _zone(self.tz)).date()
        return _local_midnight_ms(local + timedelta(days=self.every_s // DAY), self.tz)

    def align(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """The request range rounded outward to whole windows."""
        if self.is_raw_output:
            return start_ms, end_ms
        first = self.start_of(start_ms)
        last = self.start_of(end_ms - 1)
        return first, self.end_of(last)

    def count(self, start_ms: int, end_ms: int) -> int:
        """Number of windows in an aligned range (an upper bound for local days)."""
        if self.is_raw_output:
            return 0
        length = self.every_s * 1000
        if self.local_days:
            length -= 3_600_000  # a civil day can be 23 h long
        return math.ceil((end_ms - start_ms) / length)


@lru_cache(maxsize=4096)
def _local_midnight_ms(day: date, tz: str) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=_zone(tz)).timestamp() * 1000)


def plan_window(every: str, tz: str = "UTC", raw_aggs: bool = False) -> Window:
    """``every`` (``raw`` or a duration ≥ 1 min) and ``tz`` -> the Window to serve.

    The source is the coarsest stored tier whose windows tile ``every``; ``raw_aggs`` (median,
    p95 asked) forces raw readings. Raises ValueError with a message for the user.
    """
    if tz not in TIMEZONES:
        raise ValueError(f"unknown tz {tz[:40]!r}; use one of {', '.join(TIMEZONES)}")
    if every == "raw":
        return Window("raw", 0, tz)
    seconds = parse_duration(every)
    if seconds < MINUTE:
        raise ValueError("'every' must be at least 1 minute (or 'raw')")
    if seconds % MINUTE:
        raise ValueError("'every' must be a whole number of minutes")
    local_days = False
    if tz != "UTC" and seconds >= DAY:
        if seconds % DAY:
            raise ValueError(
                f"with tz={tz}, windows of a day or more must be whole days (1d, 7d, …)"
            )
        local_days = True
    if raw_aggs:
        return Window("raw", seconds, tz, local_days)
    if local_days:
        return Window("1d_paris" if tz == LOCAL_TZ else "1d", seconds, tz, True)
    for tier in ("1d", "1h", "1m"):
        if seconds % TIERS[tier][1] == 0:
            return Window(tier, seconds, tz)
    raise AssertionError("unreachable: every is a whole number of minutes")


class WindowAcc:
    """Accumulates one quantity over one window, from tier rows (mean, min, max, count) or
    from raw values (``keep_values`` for median/p95)."""

    __slots__ = (
        "_first_mean",
        "count",
        "cov_hours",
        "flagged",
        "flagged_known",
        "max",
        "min",
        "n_rows",
        "sum",
        "values",
    )

    def __init__(self, keep_values: bool = False) -> None:
        self.sum = 0.0
        self.count = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.n_rows = 0
        self.flagged = 0.0  # values left out for their flags
        self.flagged_known = True  # False once a stored row lacks its flagged count
        self.cov_hours: float | None = 0.0  # Σ coverage × hours of the rows; None: unknown
        self._first_mean: float | None = None
        self.values: list[float] | None = [] if keep_values else None

    def add_row(
        self,
        mean: float | None,
        lo: float | None,
        hi: float | None,
        count: float | None,
        flagged: float | None = None,
        coverage: float | None = None,
        hours: float | None = None,
    ) -> None:
        """One stored aggregate row (fields may be missing: a row without a count is
        ignored, since its weight is unknown). ``flagged``/``coverage``: its quality fields
        (None: not stored); ``hours``: its length, None when its tier stores no coverage."""
        if count is not None:  # the row holds this quantity (maybe all flagged)
            if flagged is None:
                self.flagged_known = False
            else:
                self.flagged += flagged
            if self.cov_hours is not None:
                if coverage is None or hours is None:
                    self.cov_hours = None
                else:
                    self.cov_hours += coverage * hours
        elif hours is None:
            self.cov_hours = None
        if count is None or count <= 0 or mean is None:
            return
        self.n_rows += 1
        if self.n_rows == 1:
            self._first_mean = float(mean)
        self.sum += mean * count
        self.count += count
        if lo is not None and lo < self.min:
            self.min = lo
        if hi is not None and hi > self.max:
            self.max = hi

    def quality(self, window_hours: float | None) -> dict[str, float | int | None]:
        """``n``, ``n_flagged`` and ``coverage`` of the window (coverage: the mean over the
        window's hours, hours without a stored row counting 0, as the ingest's daily
        coverage; None without ``window_hours`` or when a row lacked it)."""
        cov = None
        if self.cov_hours is not None and window_hours:
            cov = min(1.0, self.cov_hours / window_hours)
        return {
            "n": round(self.count),
            "n_flagged": round(self.flagged) if self.flagged_known else None,
            "coverage": cov,
        }

    def add_flagged(self, n: float) -> None:
        """``n`` values left out of the statistics for their flags."""
        self.flagged += n

    def add_value(self, v: float) -> None:
        self.n_rows += 1
        self.count += 1
        self.sum += v
        if v < self.min:
            self.min = v
        if v > self.max:
            self.max = v
        if self.values is not None:
            self.values.append(v)

    def result(self, aggs: Iterable[str]) -> dict[str, float | int | None] | None:
        if self.count <= 0:
            return None
        out: dict[str, float | int | None] = {}
        for a in aggs:
            if a == "mean":
                if self.values is not None:
                    out[a] = math.fsum(self.values) / len(self.values)
                elif self.n_rows == 1 and self._first_mean is not None:
                    out[a] = self._first_mean
                else:
                    out[a] = self.sum / self.count
            elif a == "min":
                out[a] = self.min if self.min != math.inf else None
            elif a == "max":
                out[a] = self.max if self.max != -math.inf else None
            elif a == "count":
                out[a] = round(self.count)
            elif a in ("median", "p95"):
                out[a] = raw_stats(self.values or [], a)
        return out


def raw_stats(values: list[float], stat: str) -> float | None:
    """Median or p95 of raw values (linear interpolation: numpy's default percentile)."""
    if not values:
        return None
    if stat == "median":
        return float(statistics.median(values))
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def window_key(window: Window) -> Callable[[int], int]:
    """A fast ``ts_ms -> window start`` function, caching local-day lookups per UTC hour."""
    if not window.local_days:
        every_ms = window.every_s * 1000
        return lambda ts: ts // every_ms * every_ms
    cache: dict[int, int] = {}

    def key(ts: int) -> int:
        h = ts // 3_600_000  # Europe/Paris offsets are whole hours
        got = cache.get(h)
        if got is None:
            got = cache[h] = window.start_of(h * 3_600_000)
        return got

    return key


def utc_now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
