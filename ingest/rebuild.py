"""Rebuild aggregates of any period from the raw readings, vectorised with numpy.

The raw readings are fetched in chunks of whole hours (``GROUP BY station, sensor``: each
series comes back as one array, parsed by orjson and turned into numpy in one call), reduced
per (series, window) with ``np.add/minimum/maximum.reduceat``, and written in large batches.
1-minute and 1-hour windows never straddle a chunk and are written as each chunk is done; daily
windows (UTC and Europe/Paris) are kept as partial sums and reduced once at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from airq_core.storage import (
    AGG_RP,
    RAW_MEASUREMENT,
    TIERS,
)
from ingest.influx import InfluxWriter
from ingest.rollup import AGGREGATED, as_reduced, empty_partial, query_raw, reduce_raw, stack_raw
from ingest.windows import (
    HOUR_MS,
    TIER_ORDER,
    Reduced,
    aggregate_lines,
    group_starts,
    reduce_sorted,
    sort_groups,
    window_bounds_ms,
    window_starts_ms,
)

log = logging.getLogger(__name__)

CHUNKED_TIERS = ("1m", "1h")  # windows that divide a chunk of whole hours


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
    # quantity -> lists of (count, total, min, max) arrays aligned with sid/win
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
        count, total, lo, hi = (np.concatenate(x)[order] for x in zip(*parts, strict=True))
        stats[q] = reduce_sorted(starts, count, total, lo, hi)
    return sid[starts], win[starts], stats


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
) -> RebuildReport:
    """Recomputes the aggregates of ``tiers`` for [start, end) from the raw readings and
    overwrites them. The period is widened to whole windows of the tiers asked for."""
    t0 = time.monotonic()
    report = RebuildReport(aggregate_points=dict.fromkeys(tiers, 0))
    # widen to whole days (UTC and Paris) when daily tiers are asked for
    lo, hi = start_ms, end_ms
    for tier in tiers:
        lo = min(lo, int(window_starts_ms(tier, np.array([start_ms]))[0]))
        last = int(window_starts_ms(tier, np.array([end_ms - 1]))[0])
        hi = max(hi, window_bounds_ms(tier, last)[1])
    lo -= lo % HOUR_MS
    if hi % HOUR_MS:
        hi += HOUR_MS - hi % HOUR_MS
    fields = [f for f in writer.float_fields(RAW_MEASUREMENT) if f in AGGREGATED]
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
        futures = [
            pool.submit(query_raw, writer, fields, a, b, stations) for a, b in bounds[:prefetch]
        ]
        for k, (_c0, c1) in enumerate(bounds):
            parts = futures[k].result()
            futures[k] = None  # type: ignore[call-overload]
            if k + prefetch < len(bounds):
                a, b = bounds[k + prefetch]
                futures.append(pool.submit(query_raw, writer, fields, a, b, stations))
            sid, t, vals = stack_raw(parts, len(fields), series_ids)
            del parts
            report.raw_points += len(t)
            series = sorted(series_ids, key=series_ids.__getitem__)
            for tier in tiers:
                gsid, gwin, parts = reduce_raw(tier, sid, t, vals, fields)
                if tier in CHUNKED_TIERS:
                    lines = aggregate_lines(TIERS[tier][0], series, gsid, gwin, as_reduced(parts))
                    report.aggregate_points[tier] += len(lines)
                    pending_lines.extend(lines)
                    flush()
                else:
                    p = partial[tier]
                    p.sid.append(gsid)
                    p.win.append(gwin)
                    for q in parts:
                        p.stats.setdefault(q, [])
                    # quantities absent from this chunk get empty partials (count 0)
                    for q in p.stats:
                        p.stats[q].append(parts.get(q) or empty_partial(len(gsid)))
                    p.n += 1
            if progress:
                progress(c1 - lo, hi - lo)
        series = sorted(series_ids, key=series_ids.__getitem__)
        for tier, p in partial.items():
            if not p.sid:
                continue
            # quantities first seen in a later chunk: pad the earlier chunks with empty partials
            for q, parts in p.stats.items():
                missing = p.n - len(parts)
                if missing:
                    pads = [
                        (
                            np.zeros(len(s)),
                            np.zeros(len(s)),
                            np.full(len(s), np.nan),
                            np.full(len(s), np.nan),
                        )
                        for s in p.sid[:missing]
                    ]
                    p.stats[q] = pads + parts
            gsid, gwin, stats = _finish_partial(p)
            lines = aggregate_lines(TIERS[tier][0], series, gsid, gwin, stats)
            report.aggregate_points[tier] += len(lines)
            pending_lines.extend(lines)
            flush()
    finally:
        pool.shutdown(cancel_futures=True)
    flush(force=True)
    report.seconds = time.monotonic() - t0
    return report
