"""Reading series out of InfluxDB (I/O): raw readings, stored aggregate tiers combined into
the requested windows, or raw readings reduced to windows (median, p95), as a stream of rows;
and stored windows served one to one (``fetch_one_to_one``), hourly ones from the days packed
by the ingest. What is done with the answers (pure) is in ``api.stored_windows``.

Streamed rows come out per (station, sensor) series, in time order, never the whole result in
memory: the query runs with ``chunked=true`` and windows are closed as soon as the next one
starts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from airq_core.storage import (
    AGG_STATS,
    FIELD_FLAGS,
    LOCAL_TZ,
    TAG_SENSOR,
    TAG_STATION,
    TIERS,
    agg_field,
    excludes_from_aggregates,
)
from api.exports import Row
from api.influx import InfluxReader
from api.queries import (
    PACKED_TIER,
    build_count_query,
    build_select_query,
    build_window_count_query,
)
from api.spans import Spans, span_mask
from api.stored_windows import (
    DAY_MS,
    Block,
    ContentCache,
    NotPacked,
    PackedRead,
    Rows,
    SeriesPlan,
    blocks_from_series,
    check_every_day_packed,
    clip_blocks,
    is_one_to_one,
    join_blocks,
    merge_packed,
    ordered_rows,
    quality_stats,
    render_packed,
    series_label,
    series_of,
    stats_needed,
    unpack_series,
)
from api.windows import RAW_ONLY_AGGS, Window, WindowAcc, window_key

__all__ = [  # with the plan and the one-to-one names of api.stored_windows, for the callers
    "ContentCache",
    "NotPacked",
    "PackedRead",
    "Rows",
    "SeriesPlan",
    "count_raw_values",
    "fetch_hourly_packed",
    "fetch_one_to_one",
    "fetch_one_to_one_file",
    "fetch_rows",
    "is_one_to_one",
]

log = logging.getLogger(__name__)

CHUNK = 10_000
HOUR_MS = 3_600_000


async def count_raw_values(influx: InfluxReader, plan: SeriesPlan) -> int:
    """How many raw values the plan reads (all quantities, all stations)."""
    q, params = build_count_query(
        plan.quantities, plan.stations, plan.start_ms, plan.end_ms, plan.sensor
    )
    results = await influx.query(q, params)
    total = 0
    for res in results:
        for series in res.get("series", []):
            for row in series["values"]:
                total += sum(int(v) for v in row[1:] if v)
    return total


def _indices(columns: Sequence[str], names: Sequence[str]) -> list[int]:
    pos = {c: i for i, c in enumerate(columns)}
    return [pos.get(n, -1) for n in names]


class _Excluded(dict[str, bool]):
    """``flags text -> excluded from the aggregates`` (the rollups' rule,
    ``excludes_from_aggregates``), each distinct text judged once."""

    def __missing__(self, flags: str) -> bool:
        self[flags] = got = excludes_from_aggregates(flags)
        return got


async def fetch_rows(
    influx: InfluxReader, plan: SeriesPlan, chunk_size: int = CHUNK
) -> AsyncIterator[Row]:
    """Rows of the plan. Raw readings carry their ``flags`` (None when they have none);
    those whose flags exclude them from the aggregates are left out unless
    ``plan.include_flagged``. Windows computed from raw readings (median, p95) leave them out
    of their statistics, as the stored windows do."""
    window = plan.window
    from_raw = window.tier == "raw"
    # stored windows: the statistics to combine, then their quality fields
    stats = (*AGG_STATS, *quality_stats(window.tier)) if not from_raw else ()
    q, params = build_select_query(
        window.tier,
        plan.quantities,
        plan.stations,
        plan.start_ms,
        plan.end_ms,
        plan.sensor,
        stats=stats or AGG_STATS,
        flags=from_raw,
    )
    excluded = _Excluded()
    clip = dict(plan.clip)
    row_length = _row_length(window.tier) if clip and not from_raw else None
    if window.is_raw_output:
        keep_all = plan.include_flagged
        async for piece in influx.stream(q, params, chunk_size):
            tags = piece.get("tags") or {}
            st, sn = tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, "")
            idx = _indices(piece["columns"], plan.quantities)
            i_flags = _indices(piece["columns"], (FIELD_FLAGS,))[0]
            values = piece["values"]
            if st in clip:
                values = _clip_values(values, clip[st], None)
            for row in values:
                t = row[0]
                flags = row[i_flags] or None if i_flags >= 0 else None
                if flags is not None and not keep_all and excluded[flags]:
                    continue
                for qname, i in zip(plan.quantities, idx, strict=True):
                    if i >= 0 and row[i] is not None:
                        yield (t, st, sn, qname, {"value": float(row[i]), "flags": flags})
        return

    key = window_key(window)
    coverage = "coverage" in stats
    row_hours = _row_hours(window.tier) if coverage else None
    keep_values = bool(RAW_ONLY_AGGS.intersection(plan.aggs))
    current: tuple[str, str] | None = None
    win: int | None = None
    accs: list[WindowAcc] = []

    def close() -> list[Row]:
        out: list[Row] = []
        if current is None or win is None:
            return out
        hours = (window.end_of(win) - win) / HOUR_MS if coverage else None
        for qname, acc in zip(plan.quantities, accs, strict=True):
            res = acc.result(plan.aggs)
            if res is not None:
                res.update(acc.quality(hours))
                out.append((win, current[0], current[1], qname, res))
        return out

    async for piece in influx.stream(q, params, chunk_size):
        tags = piece.get("tags") or {}
        series = (tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, ""))
        if from_raw:
            idx = _indices(piece["columns"], plan.quantities)
            i_flags = _indices(piece["columns"], (FIELD_FLAGS,))[0]
        else:
            names = [agg_field(qn, s) for qn in plan.quantities for s in stats]
            idx = _indices(piece["columns"], names)
        if series != current:
            for r in close():
                yield r
            current, win = series, None
        values = piece["values"]
        if series[0] in clip:
            values = _clip_values(values, clip[series[0]], row_length)
        for row in values:
            w = key(row[0])
            if w != win:
                for r in close():
                    yield r
                win = w
                accs = [WindowAcc(keep_values) for _ in plan.quantities]
            if from_raw:
                flags = row[i_flags] if i_flags >= 0 else None
                if flags and excluded[flags]:
                    for acc, i in zip(accs, idx, strict=True):
                        if i >= 0 and row[i] is not None:
                            acc.add_flagged(1)
                    continue
                for acc, i in zip(accs, idx, strict=True):
                    if i >= 0 and row[i] is not None:
                        acc.add_value(float(row[i]))
            else:
                h = row_hours(row[0]) if row_hours is not None else None
                k = len(stats)
                for n, acc in enumerate(accs):
                    got = [row[i] if i >= 0 else None for i in idx[k * n : k * n + k]]
                    acc.add_row(
                        got[0], got[1], got[2], got[3], got[4], got[5] if coverage else None, h
                    )
    for r in close():
        yield r


def _clip_values(
    values: list[list[Any]], spans: Spans, length: Callable[[np.ndarray], np.ndarray] | None
) -> list[list[Any]]:
    """The rows (time first, epoch ms) one of ``spans`` holds: the instant of a raw reading
    (``length`` None), the whole stored window of a tier row."""
    if not values:
        return values
    t = np.fromiter((r[0] for r in values), np.int64, len(values))
    keep = span_mask(t, spans, 0 if length is None else length(t))
    return [r for r, k in zip(values, keep.tolist(), strict=True) if k]


def _row_length(tier: str) -> Callable[[np.ndarray], np.ndarray]:
    """``window starts -> lengths`` (ms) of stored windows of ``tier`` (Paris days: 23 to
    25 hours)."""
    if tier == "1d_paris":
        day = Window(tier, DAY_MS // 1000, LOCAL_TZ, local_days=True)
        return lambda t: np.array([day.end_of(x) - x for x in t.tolist()], np.int64)
    length = TIERS[tier][1] * 1000
    return lambda t: np.full(len(t), length, np.int64)


def _row_hours(tier: str) -> Callable[[int], float]:
    """``window start -> hours`` of a stored window of ``tier`` (Paris days: 23 to 25)."""
    if tier == "1d_paris":
        day = Window(tier, DAY_MS // 1000, LOCAL_TZ, local_days=True)
        return lambda t: (day.end_of(t) - t) / HOUR_MS
    hours = TIERS[tier][1] / 3600
    return lambda t: hours


async def fetch_one_to_one(
    influx: InfluxReader, plan: SeriesPlan, cache: ContentCache | None = None
) -> bytes:
    """The whole (size-checked) result, as comma-separated JSON points (see
    ``render_packed``). Hourly windows over days come from the days packed by the ingest
    (``readings_1h_by_day``), the rest from the tier itself. With a cache: the points of an
    answer already served (same request, same answer from InfluxDB), else those of the whole
    days already encoded, are reused."""

    def build(read: PackedRead) -> bytes:
        return render_packed(plan, read, cache)

    return await _built_once(influx, plan, ("json",), build, cache, cache)


async def fetch_one_to_one_file(
    influx: InfluxReader,
    plan: SeriesPlan,
    build: Callable[[Rows | None], bytes],
    variant: str,
    cache: ContentCache | None = None,
) -> bytes:
    """An export file: ``build`` of the same rows as ``fetch_one_to_one``, column-wise (None:
    no row). With a cache, a file already built for the same request over the same answer
    from InfluxDB is served again, byte for byte; ``variant`` tells apart the files built
    differently from the same rows (format, licence and query text). A file served again
    keeps the time it was first built at: the data has not changed since."""

    def build_file(read: PackedRead) -> bytes:
        return build(ordered_rows(plan, read.blocks))

    return await _built_once(influx, plan, ("file", variant), build_file, cache, None)


async def _built_once(
    influx: InfluxReader,
    plan: SeriesPlan,
    kind: tuple[str, ...],
    build: Callable[[PackedRead], bytes],
    cache: ContentCache | None,
    day_cache: ContentCache | None,
) -> bytes:
    """``build`` of the plan's windows, or what it gave for the same request and the same
    answer from InfluxDB (key: ``kind``, the plan, the request and the answer), kept when
    that one answer was all the read needed."""
    first = await _first_read(influx, plan)
    key = (*kind, plan, first.query, first.content)
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit  # type: ignore[no-any-return]
    if plan.clip:
        # whole days cached before clipping hold the hours outside the spans: not used
        read, single = await _one_to_one_read(influx, plan, first, None)
        read = PackedRead(clip_blocks(plan, read.blocks))
    else:
        read, single = await _one_to_one_read(influx, plan, first, day_cache)
    out = build(read)
    if cache is not None and single:
        cache.put(key, out, len(out) + len(first.content) + 200)
    return out


@dataclass(frozen=True, slots=True)
class _FirstRead:
    """The request a one-to-one read starts with, and InfluxDB's answer to it: decoded, and
    as canonical bytes (JSON, keys sorted) to key a cache with. InfluxDB's MessagePack is no
    such key: it writes the tags of a series in a random order."""

    query: tuple[str, str]  # statements, bound parameters (JSON)
    results: list[dict[str, Any]]
    content: bytes
    packed: _PackedQueries | None  # None: the tier itself was read


async def _first_read(influx: InfluxReader, plan: SeriesPlan) -> _FirstRead:
    packed = None
    if plan.window.tier == "1h" and plan.end_ms - plan.start_ms >= PACKED_MIN_MS:
        packed = _packed_queries(plan, int(time.time() * 1000))
        q, params = packed.statements, packed.params
    else:
        q, params = _tier_query(plan)
    results = await influx.query(q, params, binary=True)
    content = orjson.dumps(results, option=orjson.OPT_SORT_KEYS)  # ~15 µs for a year
    return _FirstRead((q, json.dumps(params, sort_keys=True)), results, content, packed)


def _tier_query(plan: SeriesPlan) -> tuple[str, dict[str, str]]:
    return build_select_query(
        plan.window.tier,
        plan.quantities,
        plan.stations,
        plan.start_ms,
        plan.end_ms,
        plan.sensor,
        stats=stats_needed(plan.aggs, plan.window.tier),
    )


async def _one_to_one_read(
    influx: InfluxReader, plan: SeriesPlan, first: _FirstRead, cache: ContentCache | None
) -> tuple[PackedRead, bool]:
    """The windows of the plan from the first answer (and, when it does not suffice, more
    requests); True when that one answer was all the read needed."""
    results = first.results
    if first.packed is not None:
        try:
            return await _hourly_from_packed(influx, plan, first.packed, results, cache)
        except NotPacked as exc:  # older data: `airq rollup rebuild` packs it
            log.debug("hourly days not all packed (%s); reading readings_1h", exc)
        except ValueError as exc:  # a corrupt packed day: the hourly tier still answers
            log.warning("packed hourly days unreadable (%s); reading readings_1h", exc)
        q, params = _tier_query(plan)
        results = await influx.query(q, params, binary=True)
    stats = stats_needed(plan.aggs, plan.window.tier)
    read = PackedRead(blocks_from_series(plan, series_of(results, 0), stats))
    return read, first.packed is None


# -- hourly windows packed by day ---------------------------------------------------------

PACKED_MIN_MS = 2 * DAY_MS  # shorter periods read readings_1h directly
# the days before today whose packed point may not be written yet (the 1d recompute runs
# a few seconds after midnight; a backlog being drained delays it): read from readings_1h
TAIL_DAYS = 2


@dataclass(frozen=True, slots=True)
class _PackedQueries:
    statements: str  # packed days; readings_1h from tail_from; daily windows counted
    params: dict[str, str]
    tail_from: int
    stats: tuple[str, ...]


def _packed_queries(plan: SeriesPlan, now_ms: int) -> _PackedQueries:
    day0 = plan.start_ms - plan.start_ms % DAY_MS
    last = min(plan.end_ms, now_ms)
    tail_from = max(plan.start_ms, last - last % DAY_MS - TAIL_DAYS * DAY_MS)
    # the asked statistics, the mean (an hour without a window has no mean), the count (n)
    # and the quality statistics (n_flagged, coverage)
    stats = stats_needed(plan.aggs, "1h")
    q_packed, params = build_select_query(
        PACKED_TIER, plan.quantities, plan.stations, day0, plan.end_ms, plan.sensor, stats
    )
    q_tail, _ = _hourly_query(plan, tail_from, plan.end_ms, stats)
    q_days, _ = build_window_count_query(
        "1d", plan.quantities, plan.stations, day0, plan.end_ms, plan.sensor
    )
    return _PackedQueries(f"{q_packed}; {q_tail}; {q_days}", params, tail_from, stats)


def _hourly_query(
    plan: SeriesPlan, start_ms: int, end_ms: int, stats: tuple[str, ...]
) -> tuple[str, dict[str, str]]:
    return build_select_query(
        "1h", plan.quantities, plan.stations, start_ms, end_ms, plan.sensor, stats
    )


async def fetch_hourly_packed(influx: InfluxReader, plan: SeriesPlan) -> list[Block]:
    """The hourly blocks of a plan from its packed days (and the tail), without a cache.
    Raises NotPacked or ValueError as ``_hourly_from_packed``."""
    queries = _packed_queries(plan, int(time.time() * 1000))
    results = await influx.query(queries.statements, queries.params, binary=True)
    read, _ = await _hourly_from_packed(influx, plan, queries, results, None)
    return read.blocks


async def _hourly_from_packed(
    influx: InfluxReader,
    plan: SeriesPlan,
    queries: _PackedQueries,
    results: list[dict[str, Any]],
    cache: ContentCache | None,
) -> tuple[PackedRead, bool]:
    """Hourly windows of the plan from the packed days, and from ``readings_1h`` after each
    series' last packed day (today, the days not packed yet), as answered to ``queries``;
    one more request (False returned) when a series' packed days end before the tail that
    was read with them. Whole days whose JSON is in ``cache`` are not decoded.
    Raises NotPacked when some daily windows have no packed day, ValueError on a corrupt
    packed day."""
    packed_stats, tail_from = queries.stats, queries.tail_from
    packed = series_of(results, 0)
    check_every_day_packed(plan, packed, series_of(results, 2))
    tail = blocks_from_series(plan, series_of(results, 1), packed_stats)
    # where each series' packed days end (in the period); the tail must start there
    ends: dict[tuple[str, str], int] = {}
    for series in packed:
        days = [r[0] for r in series["values"] if r[0] < plan.end_ms]
        if days:
            ends[series_label(series)] = min(max(days) + DAY_MS, plan.end_ms)
    cached: dict[tuple[tuple[str, str], int], bytes] = {}
    keys: dict[tuple[tuple[str, str], int], tuple[Any, ...]] = {}
    unpacked = [unpack_series(plan, s, packed_stats, cache, cached, keys) for s in packed]
    need_from = min(ends.values(), default=plan.start_ms)
    single = need_from >= tail_from
    if not single:
        q_gap, params = _hourly_query(plan, need_from, tail_from, packed_stats)
        answer = await influx.query(q_gap, params, True)
        gap = blocks_from_series(plan, series_of(answer, 0), packed_stats)
        tail = join_blocks(gap, tail)
    blocks = merge_packed(plan, unpacked, tail, ends)
    index = {b[0]: i for i, b in enumerate(blocks)}
    read = PackedRead(
        blocks,
        {(index[label], day): v for (label, day), v in cached.items()},
        {(index[label], day): k for (label, day), k in keys.items()},
    )
    return read, single
