"""Aggregate windows (pure): window bounds per tier, the set of windows to recompute, and the
vectorised reduction shared by the live rollups and the rebuild.

Tiers (airq_core.storage.TIERS): ``1m``, ``1h``, ``1d`` are fixed UTC windows; ``1d_paris``
windows are Europe/Paris civil days (23, 24 or 25 hours), started at local midnight. France's
offsets are whole hours, so a UTC hour (and a minute) lies in exactly one Paris day.

Times here are integer milliseconds since the Unix epoch, like the stored points.
"""

from __future__ import annotations

import base64
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from airq_core.storage import LOCAL_TZ, PACKED_1H_MEASUREMENT, PACKED_HOURS, TIERS

__all__ = [
    "LOWER_TIER",
    "TIER_ORDER",
    "DirtyWindows",
    "Pending",
    "Reduced",
    "paris_day_bounds_ms",
    "reduce_sorted",
    "window_bounds_ms",
    "window_starts_ms",
]

TIER_ORDER = ("1m", "1h", "1d", "1d_paris")
# where each tier is recomputed from at run time (the raw readings for 1m)
LOWER_TIER: dict[str, str | None] = {"1m": None, "1h": "1m", "1d": "1h", "1d_paris": "1h"}
# recompute stage: a tier waits for the recompute of the tiers it is built from
STAGE = {"1m": 0, "1h": 1, "1d": 2, "1d_paris": 2}
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
_TZ = ZoneInfo(LOCAL_TZ)


@lru_cache(maxsize=4096)
def _paris_day_of_hour(hour_ms: int) -> tuple[int, int]:
    local = datetime.fromtimestamp(hour_ms / 1000, _TZ)
    day = local.date()
    start = datetime(day.year, day.month, day.day, tzinfo=_TZ)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=_TZ)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def paris_day_bounds_ms(ts_ms: int) -> tuple[int, int]:
    """(start, end) in UTC ms of the Europe/Paris civil day holding ``ts_ms``."""
    return _paris_day_of_hour(ts_ms - ts_ms % HOUR_MS)


def window_bounds_ms(tier: str, ts_ms: int) -> tuple[int, int]:
    """(start, end) in ms of the window of ``tier`` holding ``ts_ms``."""
    if tier == "1d_paris":
        return paris_day_bounds_ms(ts_ms)
    length = TIERS[tier][1] * 1000
    start = ts_ms - ts_ms % length
    return start, start + length


def paris_midnights_ms(start_ms: int, end_ms: int) -> np.ndarray:
    """Every Paris local midnight from the one at or before ``start_ms`` to the one after
    ``end_ms`` (inclusive bounds of the days covering the range)."""
    out = [paris_day_bounds_ms(start_ms)[0]]
    while out[-1] <= end_ms:
        out.append(paris_day_bounds_ms(out[-1])[1])
    return np.asarray(out, dtype=np.int64)


def window_starts_ms(tier: str, ts_ms: np.ndarray) -> np.ndarray:
    """Vectorised window start of every timestamp (int64 ms)."""
    if tier == "1d_paris":
        if ts_ms.size == 0:
            return ts_ms.copy()
        bounds = paris_midnights_ms(int(ts_ms.min()), int(ts_ms.max()))
        return bounds[np.searchsorted(bounds, ts_ms, side="right") - 1]
    length = TIERS[tier][1] * 1000
    # numpy types arithmetic on an array of unknown dtype as Any; this is an int64 array
    starts: np.ndarray = ts_ms - ts_ms % length
    return starts


# -- which windows to recompute ------------------------------------------------------------


@dataclass
class Pending:
    """One window of one tier to recompute. ``stations``/``quantities`` None: all of them."""

    tier: str
    start_ms: int
    end_ms: int
    stations: set[str] | None = None
    quantities: set[str] | None = None
    last_mark: float = 0.0  # wall clock of the last reading that touched the window
    attempts: int = field(default=0, compare=False)


def _merge(a: set[str] | None, b: Iterable[str] | None) -> set[str] | None:
    if a is None or b is None:
        return None
    a.update(b)
    return a


class DirtyWindows:
    """Windows touched by stored readings and not yet recomputed (thread-safe).

    A window is *due* once it is closed, plus ``grace`` seconds for readings still on their
    way, and ``settle`` seconds after the last reading that touched it (a backlog that keeps
    touching it postpones it); tier ``k`` of ``STAGE`` waits ``k × stage`` seconds more, so
    that every worker's lower-tier recompute has landed before a higher tier is built from it.
    """

    def __init__(self, grace: float = 10.0, settle: float = 2.0, stage: float = 5.0) -> None:
        self.grace = grace
        self.settle = settle
        self.stage = stage
        self._lock = threading.Lock()
        self._w: dict[tuple[str, int], Pending] = {}
        self.version = 0  # bumps when the set of keys changes

    def __len__(self) -> int:
        return len(self._w)

    def keys(self) -> list[tuple[str, int]]:
        with self._lock:
            return sorted(self._w)

    def _mark(
        self,
        tier: str,
        start: int,
        end: int,
        stations: Iterable[str] | None,
        quantities: Iterable[str] | None,
        now: float,
    ) -> bool:
        """True when the window was not pending yet."""
        p = self._w.get((tier, start))
        if p is None:
            self._w[(tier, start)] = Pending(
                tier,
                start,
                end,
                None if stations is None else set(stations),
                None if quantities is None else set(quantities),
                now,
            )
            self.version += 1
            return True
        p.stations = _merge(p.stations, stations)
        p.quantities = _merge(p.quantities, quantities)
        p.last_mark = max(p.last_mark, now)
        return False

    def mark_minutes(
        self, minutes: dict[int, tuple[set[str], set[str]]], now: float, tiers: Sequence[str]
    ) -> list[tuple[str, int]]:
        """``minutes``: 1-minute window start (ms) -> (stations, quantities) of stored readings.
        Marks the windows of ``tiers`` holding these minutes; returns those that were not
        pending yet."""
        added: list[tuple[str, int]] = []
        with self._lock:
            for m, (stations, quantities) in minutes.items():
                for tier in tiers:
                    start, end = window_bounds_ms(tier, m)
                    if self._mark(tier, start, end, stations, quantities, now):
                        added.append((tier, start))
        return added

    def mark_all(self, keys: Iterable[tuple[str, int]], now: float) -> None:
        """Marks windows for every station and quantity (recovery after a restart)."""
        with self._lock:
            for tier, start in keys:
                s, e = window_bounds_ms(tier, start)
                self._mark(tier, s, e, None, None, now)

    def requeue(self, pendings: Iterable[Pending], now: float) -> None:
        """Puts back windows whose recompute failed."""
        with self._lock:
            for p in pendings:
                self._mark(p.tier, p.start_ms, p.end_ms, p.stations, p.quantities, now)

    def due_at(self, p: Pending) -> float:
        extra = STAGE[p.tier] * self.stage
        return max(p.end_ms / 1000 + self.grace, p.last_mark + self.settle) + extra

    def pop_due(self, now: float) -> list[Pending]:
        """The due windows, removed from the set, in tier order then time order."""
        with self._lock:
            due = [k for k, p in self._w.items() if self.due_at(p) <= now]
            out = [self._w.pop(k) for k in due]
            if out:
                self.version += 1
        out.sort(key=lambda p: (TIER_ORDER.index(p.tier), p.start_ms))
        return out

    def next_due(self) -> float | None:
        with self._lock:
            return min((self.due_at(p) for p in self._w.values()), default=None)


# -- reduction --------------------------------------------------------------------------------


@dataclass
class Reduced:
    """Statistics of one quantity per (series, window) group, aligned with the group keys.
    ``flagged``: values left out for a flag (None: not known, windows written before flags
    were counted); ``coverage``: share of the expected readings (None/NaN: not known)."""

    count: np.ndarray
    mean: np.ndarray
    min: np.ndarray
    max: np.ndarray
    flagged: np.ndarray | None = None
    coverage: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Reduced:
        """The groups at ``index`` (positions or a boolean mask), in that order."""
        return Reduced(
            self.count[index],
            self.mean[index],
            self.min[index],
            self.max[index],
            None if self.flagged is None else self.flagged[index],
            None if self.coverage is None else self.coverage[index],
        )


def group_starts(sid: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Index of the first row of each (sid, win) group; rows must be sorted by (sid, win)."""
    if sid.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.empty(sid.size, dtype=bool)
    change[0] = True
    np.not_equal(sid[1:], sid[:-1], out=change[1:])
    change[1:] |= win[1:] != win[:-1]
    return np.flatnonzero(change)


def sort_groups(sid: np.ndarray, win: np.ndarray) -> np.ndarray | None:
    """The permutation sorting rows by (sid, win), or None when they already are."""
    if sid.size < 2:
        return None
    ds = np.diff(sid)
    if (ds >= 0).all() and ((ds > 0) | (np.diff(win) >= 0)).all():
        return None
    return np.lexsort((win, sid))


def reduce_sorted(
    starts: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    vmin: np.ndarray,
    vmax: np.ndarray,
    flagged: np.ndarray | None = None,
    coverage: np.ndarray | None = None,
) -> Reduced:
    """Combines rows into groups starting at ``starts`` (rows sorted by group). Rows carry a
    partial aggregate: raw values have count 1 (0 when missing), total = value, min = max =
    value; lower-tier aggregates have total = mean × count. NaN totals/min/max must have
    count 0. Groups with count 0 get NaN statistics. ``flagged`` and ``coverage`` (optional)
    are summed as they are (a NaN coverage makes its group's NaN: not known)."""
    if starts.size == 0:
        e = np.zeros(0)
        return Reduced(e, e, e, e, None if flagged is None else e, None if coverage is None else e)
    has = count > 0
    c = np.add.reduceat(count, starts)
    s = np.add.reduceat(np.where(has, total, 0.0), starts)
    lo = np.minimum.reduceat(np.where(has, vmin, np.inf), starts)
    hi = np.maximum.reduceat(np.where(has, vmax, -np.inf), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / c
    empty = c <= 0
    if empty.any():
        mean[empty] = np.nan
        lo[empty] = np.nan
        hi[empty] = np.nan
    f = None if flagged is None else np.add.reduceat(flagged, starts).astype(np.float64)
    cov = None if coverage is None else np.add.reduceat(coverage, starts).astype(np.float64)
    return Reduced(c.astype(np.float64), mean, lo, hi, f, cov)


def minute_times(
    sid: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Raw rows -> per (series, minute): (sid, minute start, readings, first and last time in
    ms after the minute start), in (series, minute) order: what ``hour_intervals`` needs."""
    win = window_starts_ms("1m", t)
    order = sort_groups(sid, win)
    if order is not None:
        sid, win, t = sid[order], win[order], t[order]
    starts = group_starts(sid, win)
    if starts.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros(0), np.zeros(0)
    k = np.diff(np.append(starts, sid.size)).astype(np.float64)
    w = win[starts]
    first = (np.minimum.reduceat(t, starts) - w).astype(np.float64)
    last = (np.maximum.reduceat(t, starts) - w).astype(np.float64)
    return sid[starts], w, k, first, last


def hour_intervals(
    sid: np.ndarray,
    minute: np.ndarray,
    k: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    default_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The expected interval of each (series, hour), in seconds: the median gap between the
    series' consecutive readings in the hour, from the 1-minute records (``minute_times`` or
    the stored ``readings_n``/``first_ms``/``last_ms``; rows sorted by (series, minute)).
    A minute with k ≥ 2 readings gives its mean gap, weighted k − 1; two consecutive minutes
    with readings in the same hour give the gap between them, weighted 1; the weighted median
    is the smallest gap reaching half the weight. An hour with one reading: ``default_s``.
    Returns (sid, hour start, interval) in (series, hour) order."""
    hour = minute - minute % HOUR_MS
    starts = group_starts(sid, hour)
    if starts.size == 0:
        return sid[:0], hour[:0], np.zeros(0)
    group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, sid.size)))
    within = k >= 2
    g_in = group[within]
    gap_in = (last[within] - first[within]) / (k[within] - 1)
    w_in = k[within] - 1
    same = np.zeros(sid.size, dtype=bool)
    same[1:] = group[1:] == group[:-1]
    idx = np.flatnonzero(same)
    g_bt = group[idx]
    gap_bt = (minute[idx] + first[idx]) - (minute[idx - 1] + last[idx - 1])
    gg = np.concatenate([g_in, g_bt])
    gap = np.concatenate([gap_in, gap_bt.astype(np.float64)])
    wt = np.concatenate([w_in, np.ones(g_bt.size)])
    interval = np.full(starts.size, default_s)
    if gg.size:
        order = np.lexsort((gap, gg))
        gg, gap, wt = gg[order], gap[order], wt[order]
        cum = np.cumsum(wt)
        gstarts = np.flatnonzero(np.r_[True, gg[1:] != gg[:-1]])
        total = np.add.reduceat(wt, gstarts)
        before = np.where(gstarts > 0, cum[gstarts - 1], 0.0)
        pos = np.searchsorted(cum, before + total / 2, side="left")
        interval[gg[gstarts]] = gap[pos] / 1000.0
    return sid[starts], hour[starts], interval


def hour_coverage(count: np.ndarray, interval_s: np.ndarray) -> np.ndarray:
    """Share of the expected readings of an hour that are valid (capped at 1)."""
    with np.errstate(invalid="ignore"):
        cov: np.ndarray = np.minimum(1.0, count * interval_s / 3600.0)
    return cov


def fmt_float(x: float) -> str:
    """A float for line protocol (never NaN: callers skip empty statistics)."""
    return repr(float(x)) if math.isfinite(x) else "0.0"


def aggregate_lines(
    measurement: str,
    series: Sequence[tuple[str, str]],
    sid: np.ndarray,
    win: np.ndarray,
    stats: dict[str, Reduced],
    extra: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """Line protocol of aggregate points. ``series[sid]`` = (station, sensor); ``stats``:
    quantity -> Reduced aligned with ``sid``/``win`` (one entry per group); ``extra``: fields of
    the series (``readings_n`` …) aligned the same way, written when finite. A quantity whose
    values were all flagged is written with its count 0 and its ``_flagged`` count only."""
    lines = []
    cols = [
        (
            q,
            r.count.tolist(),
            r.mean.tolist(),
            r.min.tolist(),
            r.max.tolist(),
            None if r.flagged is None else r.flagged.tolist(),
            None if r.coverage is None else r.coverage.tolist(),
        )
        for q, r in stats.items()
    ]
    extras = [(name, col.tolist()) for name, col in (extra or {}).items()]
    sids = sid.tolist()
    wins = win.tolist()
    tags = [f"{measurement},sensor={sensor},station={station}" for station, sensor in series]
    for i, (s, w) in enumerate(zip(sids, wins, strict=True)):
        fields = []
        for q, cnt, mean, lo, hi, flg, cov in cols:
            c = cnt[i]
            f = 0.0 if flg is None else flg[i]
            if c > 0:
                fields.append(
                    f"{q}_mean={mean[i]!r},{q}_min={lo[i]!r},{q}_max={hi[i]!r},{q}_count={c!r}"
                )
            elif f > 0:
                fields.append(f"{q}_count=0.0")
            else:
                continue
            if flg is not None:
                fields.append(f"{q}_flagged={f!r}")
            if cov is not None and math.isfinite(cov[i]):
                fields.append(f"{q}_coverage={cov[i]!r}")
        if fields:
            fields += [f"{name}={col[i]!r}" for name, col in extras if math.isfinite(col[i])]
            lines.append(f"{tags[s]} {','.join(fields)} {w}")
    return lines


def packed_day_lines(
    series: Sequence[tuple[str, str]],
    sid: np.ndarray,
    hour: np.ndarray,
    stats: dict[str, Reduced],
) -> list[str]:
    """Line protocol of the hourly windows packed by UTC day (``PACKED_1H_MEASUREMENT``, see
    ``airq_core.storage.pack_hours``): one point per (series, day) present, one string field
    per statistic of every quantity with at least one window that day. ``hour``: window
    starts (ms, whole hours) aligned with ``sid`` and ``stats``; every hour of a day present
    must be here (the day is written whole)."""
    if sid.size == 0:
        return []
    day = hour - hour % DAY_MS
    slot = (hour - day) // HOUR_MS
    order = sort_groups(sid, day)
    if order is not None:
        sid, day, slot = sid[order], day[order], slot[order]
        stats = {q: r.take(order) for q, r in stats.items()}
    starts = group_starts(sid, day)
    group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, sid.size)))
    fields: list[list[str]] = [[] for _ in range(starts.size)]
    for q, r in stats.items():
        has = r.count > 0
        if r.flagged is not None:
            has = has | (r.flagged > 0)
        present = np.zeros(starts.size, dtype=bool)
        present[group[has]] = True
        cols = [("mean", r.mean), ("min", r.min), ("max", r.max), ("count", r.count)]
        if r.flagged is not None:
            cols.append(("flagged", r.flagged))
        if r.coverage is not None:
            cols.append(("coverage", r.coverage))
        for stat, col in cols:
            grid = np.full((starts.size, PACKED_HOURS), np.nan, dtype="<f8")
            grid[group[has], slot[has]] = col[has]
            # 24 doubles = 192 bytes, a multiple of 3: the base64 of all the days is the
            # concatenation of each day's, 256 characters each
            text = base64.b64encode(grid.tobytes()).decode("ascii")
            width = PACKED_HOURS * 8 * 4 // 3
            for g in np.flatnonzero(present).tolist():
                fields[g].append(f'{q}_{stat}="{text[g * width : (g + 1) * width]}"')
    sids = sid[starts].tolist()
    days = day[starts].tolist()
    tags = [f"{PACKED_1H_MEASUREMENT},sensor={sn},station={st}" for st, sn in series]
    return [f"{tags[s]} {','.join(f)} {d}" for s, d, f in zip(sids, days, fields, strict=True) if f]


def utc_text(ms: int) -> str:
    """RFC 3339 UTC text of a ms timestamp, for InfluxQL time bounds."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
