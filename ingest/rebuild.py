"""Rebuild aggregates of any period from the raw readings, vectorised with numpy.

The raw readings are fetched in chunks of whole hours (``GROUP BY station, sensor``: each
series comes back as one array, parsed by orjson and turned into numpy in one call), reduced
per (series, window) with ``np.add/minimum/maximum.reduceat``, and written in large batches.
1-minute and 1-hour windows never straddle a chunk and are written as each chunk is done; daily
windows (UTC and Europe/Paris) are kept as partial sums and reduced once at the end. With the
1-hour tier, the hourly windows are also packed by UTC day (``readings_1h_by_day``), each day
written once its last chunk is done, so the period is widened to whole UTC days.

The query and reduction steps are those of the live rollups (``ingest.recompute``), so both
write the same values for the same rows.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from airq_core.storage import AGG_RP, FIELD_INTERVAL, TIERS
from ingest.influx import InfluxWriter
from ingest.recompute import (
    RawSeries,
    as_reduced,
    chunk_hour_intervals,
    empty_partial,
    excluded_mask,
    minute_extra,
    query_chunk,
    read_raw_fields,
    reduce_raw,
    stack_raw,
    window_hours,
)
from ingest.windows import (
    DAY_MS,
    HOUR_MS,
    TIER_ORDER,
    Reduced,
    aggregate_lines,
    group_starts,
    hour_coverage,
    packed_day_lines,
    reduce_sorted,
    sort_groups,
    window_bounds_ms,
    window_starts_ms,
)

log = logging.getLogger(__name__)

CHUNKED_TIERS = ("1m", "1h")  # windows that divide a chunk of whole hours
PACKED = "1h_by_day"  # report key of the packed hourly windows

# (writer, fields, start ms, end ms, stations) -> the raw rows of [start, end) and the times of
# the excluded ones, as ``ingest.recompute.query_chunk`` answers
ChunkFetch = Callable[
    [InfluxWriter, Sequence[str], int, int, Iterable[str] | None],
    tuple[list[RawSeries], list[tuple[tuple[str, str], np.ndarray]]],
]


@dataclass
class RebuildReport:
    raw_points: int = 0
    aggregate_points: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Partial:
    """Partial statistics per (series, window) of one daily tier, over several chunks."""

    sid: list[np.ndarray] = field(default_factory=list)
    win: list[np.ndarray] = field(default_factory=list)
    # quantity -> lists of (count, total, min, max, flagged, coverage sum) arrays aligned with
    # sid/win
    stats: dict[str, list[tuple[np.ndarray, ...]]] = field(default_factory=dict)
    n: int = 0


def _finish_partial(p: _Partial) -> tuple[np.ndarray, np.ndarray, dict[str, Reduced]]:
    sid = np.concatenate(p.sid)
    win = np.concatenate(p.win)
    order = sort_groups(sid, win)
    if order is None:
        order = np.arange(len(sid))
    sid, win = sid[order], win[order]
    starts = group_starts(sid, win)
    stats = {}
    for q, parts in p.stats.items():
        count, total, lo, hi, flg, cov = (
            np.concatenate(x)[order] for x in zip(*parts, strict=True)
        )
        stats[q] = reduce_sorted(starts, count, total, lo, hi, flg, cov)
    return sid[starts], win[starts], stats


def _day_coverage_sums(
    tier: str, hsid: np.ndarray, hour: np.ndarray, hourly: dict[str, Reduced]
) -> dict[str, np.ndarray]:
    """Hourly coverages of a chunk summed per (series, day of ``tier``), in the group order of
    ``reduce_raw(tier, …)`` (series, then day)."""
    day = window_starts_ms(tier, hour)
    starts = group_starts(hsid, day)
    out = {}
    for q, r in hourly.items():
        assert r.coverage is not None
        out[q] = np.add.reduceat(r.coverage, starts) if starts.size else np.zeros(0)
    return out


class _DayPacker:
    """Hourly windows of the chunks done so far, until their UTC day is complete."""

    def __init__(self) -> None:
        self.sid = np.zeros(0, dtype=np.int64)
        self.hour = np.zeros(0, dtype=np.int64)
        self.stats: dict[str, Reduced] = {}

    def add(self, sid: np.ndarray, hour: np.ndarray, stats: dict[str, Reduced]) -> None:
        n_old, n_new = self.sid.size, sid.size
        for q in set(self.stats) | set(stats):
            old = self.stats.get(q) or _empty_reduced(n_old)
            new = stats.get(q) or _empty_reduced(n_new)
            self.stats[q] = Reduced(
                *(np.concatenate([_col(old, f), _col(new, f)]) for f in _FIELDS)
            )
        self.sid = np.concatenate([self.sid, sid])
        self.hour = np.concatenate([self.hour, hour])

    def pop_lines(self, series: list[tuple[str, str]], until_ms: int | None) -> list[str]:
        """Packed lines of the days ending at or before ``until_ms`` (None: every day)."""
        done = (
            np.ones(self.sid.size, dtype=bool)
            if until_ms is None
            else self.hour - self.hour % DAY_MS + DAY_MS <= until_ms
        )
        if not done.any():
            return []
        keep = ~done
        lines = packed_day_lines(
            series,
            self.sid[done],
            self.hour[done],
            {q: r.take(done) for q, r in self.stats.items()},
        )
        self.sid, self.hour = self.sid[keep], self.hour[keep]
        self.stats = {q: r.take(keep) for q, r in self.stats.items()}
        return lines


_FIELDS = ("count", "mean", "min", "max", "flagged", "coverage")


def _col(r: Reduced, name: str) -> np.ndarray:
    col: np.ndarray | None = getattr(r, name)
    if col is None:
        return np.zeros(r.count.size) if name == "flagged" else np.full(r.count.size, np.nan)
    return col


def _empty_reduced(n: int) -> Reduced:
    nan = np.full(n, np.nan)
    return Reduced(np.zeros(n), nan, nan.copy(), nan.copy(), np.zeros(n), np.zeros(n))


def rebuild(
    writer: InfluxWriter,
    start_ms: int,
    end_ms: int,
    stations: Sequence[str] | None = None,
    tiers: Sequence[str] = TIER_ORDER,
    chunk_hours: int = 6,
    batch_lines: int = 20000,
    prefetch: int = 2,
    progress: Callable[[int, int], None] | None = None,
    fetch: ChunkFetch = query_chunk,
    fields: Sequence[str] | None = None,
) -> RebuildReport:
    """Recomputes the aggregates of ``tiers`` for [start, end) from the raw readings and
    overwrites them. The period is widened to whole windows of the tiers asked for.

    ``fetch`` and ``fields`` default to the raw readings stored in InfluxDB; the importer
    passes readings it holds in memory (too old for the raw retention) to get the same
    windows from them."""
    t0 = time.monotonic()
    report = RebuildReport(aggregate_points=dict.fromkeys(tiers, 0))
    if "1h" in tiers:
        report.aggregate_points[PACKED] = 0
    # widen to whole days (UTC and Paris) when daily tiers are asked for
    lo, hi = start_ms, end_ms
    for tier in tiers:
        lo = min(lo, int(window_starts_ms(tier, np.array([start_ms]))[0]))
        last = int(window_starts_ms(tier, np.array([end_ms - 1]))[0])
        hi = max(hi, window_bounds_ms(tier, last)[1])
    packer = _DayPacker() if "1h" in tiers else None
    unit = DAY_MS if packer is not None else HOUR_MS
    lo -= lo % unit
    if hi % unit:
        hi += unit - hi % unit
    fields = list(fields) if fields is not None else read_raw_fields(writer)
    if not fields:
        report.seconds = time.monotonic() - t0
        return report
    series_ids: dict[tuple[str, str], int] = {}
    partial = {t: _Partial() for t in tiers if t not in CHUNKED_TIERS}
    pending_lines: list[str] = []

    def flush(force: bool = False) -> None:
        if pending_lines and (force or len(pending_lines) >= batch_lines):
            writer.write_lines("\n".join(pending_lines).encode(), rp=AGG_RP)
            pending_lines.clear()

    chunk = chunk_hours * HOUR_MS
    bounds = [(c0, min(c0 + chunk, hi)) for c0 in range(lo, hi, chunk)]
    # fetch the next chunks while this one is reduced: InfluxDB works on the other core
    pool = ThreadPoolExecutor(max(1, prefetch))
    try:
        # chunk k's query is at the head; popping it lets its rows be freed once stacked
        futures = deque(
            pool.submit(fetch, writer, fields, a, b, stations) for a, b in bounds[:prefetch]
        )
        for k, (_c0, c1) in enumerate(bounds):
            raw, flagged = futures.popleft().result()
            if k + prefetch < len(bounds):
                a, b = bounds[k + prefetch]
                futures.append(pool.submit(fetch, writer, fields, a, b, stations))
            sid, t, vals = stack_raw(raw, len(fields), series_ids)
            del raw
            excluded = excluded_mask(sid, t, flagged, series_ids)
            report.raw_points += len(t)
            series = sorted(series_ids, key=series_ids.__getitem__)
            # hourly windows with their coverage: the 1h tier and the daily coverages
            hourly: dict[str, Reduced] = {}
            hsid = hour = interval = np.zeros(0)
            if any(tier != "1m" for tier in tiers):
                hsid, hour, interval = chunk_hour_intervals(sid, t)
                _, _, hour_stats = reduce_raw("1h", sid, t, vals, fields, excluded)
                hourly = as_reduced(hour_stats)
                for r in hourly.values():
                    r.coverage = hour_coverage(r.count, interval)
            for tier in tiers:
                if tier == "1h":
                    lines = aggregate_lines(
                        TIERS[tier][0], series, hsid, hour, hourly, {FIELD_INTERVAL: interval}
                    )
                    report.aggregate_points[tier] += len(lines)
                    pending_lines.extend(lines)
                    if packer is not None:
                        packer.add(hsid, hour, hourly)
                        lines = packer.pop_lines(series, c1)
                        report.aggregate_points[PACKED] += len(lines)
                        pending_lines.extend(lines)
                    flush()
                    continue
                gsid, gwin, chunk_stats = reduce_raw(tier, sid, t, vals, fields, excluded)
                if tier in CHUNKED_TIERS:
                    reduced = as_reduced(chunk_stats)
                    extra = minute_extra(sid, t)
                    lines = aggregate_lines(TIERS[tier][0], series, gsid, gwin, reduced, extra)
                    report.aggregate_points[tier] += len(lines)
                    pending_lines.extend(lines)
                    flush()
                else:
                    cov_sums = _day_coverage_sums(tier, hsid, hour, hourly)
                    chunk_stats = {q: (*parts, cov_sums[q]) for q, parts in chunk_stats.items()}
                    p = partial[tier]
                    p.sid.append(gsid)
                    p.win.append(gwin)
                    for q in chunk_stats:
                        p.stats.setdefault(q, [])
                    # quantities absent from this chunk get empty partials (count 0)
                    for q in p.stats:
                        p.stats[q].append(chunk_stats.get(q) or empty_partial(len(gsid)))
                    p.n += 1
            if progress:
                progress(c1 - lo, hi - lo)
        series = sorted(series_ids, key=series_ids.__getitem__)
        if packer is not None:  # nothing left when the period is whole days, as it is
            lines = packer.pop_lines(series, None)
            report.aggregate_points[PACKED] += len(lines)
            pending_lines.extend(lines)
        for tier, p in partial.items():
            if not p.sid:
                continue
            # quantities first seen in a later chunk: pad the earlier chunks with empty partials
            for q, per_chunk in p.stats.items():
                missing = p.n - len(per_chunk)
                if missing:
                    pads = [empty_partial(len(s)) for s in p.sid[:missing]]
                    p.stats[q] = pads + per_chunk
            gsid, gwin, stats = _finish_partial(p)
            hours = window_hours(tier, gwin)
            for r in stats.values():
                assert r.coverage is not None
                r.coverage = r.coverage / hours
            lines = aggregate_lines(TIERS[tier][0], series, gsid, gwin, stats)
            report.aggregate_points[tier] += len(lines)
            pending_lines.extend(lines)
            flush()
    finally:
        pool.shutdown(cancel_futures=True)
    flush(force=True)
    report.seconds = time.monotonic() - t0
    return report
