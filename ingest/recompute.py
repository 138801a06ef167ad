"""The recompute step: aggregate windows from the data they summarise (InfluxDB + numpy).

Functions only, shared by the live rollups (``ingest.rollup``, a few due windows at a time)
and the bulk rebuild (``ingest.rebuild``, any period):

* ``1m`` from the raw readings, with one InfluxQL query per span of windows (the rows of each
  ``(station, sensor)`` series as one numpy array, reduced with ``reduceat``: cheaper for
  InfluxDB than ``GROUP BY time(1m)`` with 4 aggregates per field);
* ``1h`` from ``1m``, ``1d`` and ``1d_paris`` from ``1h``, count-weighted.

Recomputing instead of accumulating makes the result independent of how readings were split
between workers, of redeliveries and of late readings: every worker that touched a window
writes the same values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airq_core.quantities import QUANTITIES
from airq_core.storage import (
    AGG_RP,
    AGG_STATS,
    DEFAULT_INTERVAL_S,
    FIELD_FLAGS,
    FIELD_INTERVAL,
    FIELD_MINUTE_FIRST,
    FIELD_MINUTE_LAST,
    FIELD_MINUTE_READINGS,
    HCORR_QUANTITIES,
    QUALITY_STATS,
    RAW_MEASUREMENT,
    RAW_RP,
    TAG_SENSOR,
    TAG_STATION,
    TIERS,
    excludes_from_aggregates,
    hcorr_field,
)
from ingest.influx import InfluxWriter
from ingest.windows import (
    HOUR_MS,
    LOWER_TIER,
    TIER_ORDER,
    Pending,
    Reduced,
    aggregate_lines,
    group_starts,
    hour_coverage,
    hour_intervals,
    minute_times,
    packed_day_lines,
    reduce_sorted,
    sort_groups,
    utc_text,
    window_bounds_ms,
    window_starts_ms,
)

AGGREGATED = frozenset(QUANTITIES) | {hcorr_field(q) for q in HCORR_QUANTITIES}
MAX_FILTER_STATIONS = 20
# longest span recomputed by one query, per tier (in windows of the tier)
MAX_SPAN_WINDOWS = {"1m": 360, "1h": 24 * 7, "1d": 62, "1d_paris": 62}
WRITE_CHUNK = 5000


def station_filter(stations: Iterable[str] | None) -> str:
    """An InfluxQL condition on station ids (already validated: ``[a-z0-9-]``)."""
    if stations is None:
        return ""
    ors = " OR ".join(f"\"{TAG_STATION}\" = '{s}'" for s in sorted(stations))
    return f" AND ({ors})"


def time_range(start_ms: int, end_ms: int) -> str:
    return f"time >= '{utc_text(start_ms)}' AND time < '{utc_text(end_ms)}'"


def spans(pendings: Sequence[Pending]) -> list[Pending]:
    """Merges the due windows of one tier into few query spans (a span may include windows
    that were not dirty: recomputing them is harmless)."""
    out: list[Pending] = []
    for p in sorted(pendings, key=lambda p: p.start_ms):
        cur = out[-1] if out else None
        length = p.end_ms - p.start_ms
        limit = MAX_SPAN_WINDOWS[p.tier] * TIERS[p.tier][1] * 1000
        if (
            cur is not None
            and p.start_ms - cur.end_ms <= 8 * length
            and p.end_ms - cur.start_ms <= limit
        ):
            cur.end_ms = max(cur.end_ms, p.end_ms)
            if cur.stations is not None:
                if p.stations is None or len(cur.stations | p.stations) > MAX_FILTER_STATIONS:
                    cur.stations = None
                else:
                    cur.stations |= p.stations
            if cur.quantities is not None:
                cur.quantities = None if p.quantities is None else cur.quantities | p.quantities
        else:
            stations = p.stations
            if stations is not None and len(stations) > MAX_FILTER_STATIONS:
                stations = None
            out.append(
                Pending(
                    p.tier,
                    p.start_ms,
                    p.end_ms,
                    None if stations is None else set(stations),
                    None if p.quantities is None else set(p.quantities),
                )
            )
    return out


def split_stat_columns(columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Aggregate columns ``<q>_<stat>`` -> {q: {stat: column index}} (groups with every stat
    of ``AGG_STATS``; ``flagged`` and ``coverage`` when present)."""
    groups: dict[str, dict[str, int]] = {}
    for i, name in enumerate(columns):
        q, _, stat = name.rpartition("_")
        if (stat in AGG_STATS or stat in QUALITY_STATS) and q:
            groups.setdefault(q, {})[stat] = i
    return {q: g for q, g in groups.items() if all(s in g for s in AGG_STATS)}


def lower_rows(
    values: list[list[Any]], columns: Sequence[str]
) -> tuple[np.ndarray, dict[str, Reduced], dict[str, np.ndarray]]:
    """Stored aggregate rows of one series -> (window starts, stats per quantity, other
    numeric fields of the series such as ``readings_n``), as stored."""
    arr = np.array(values, dtype=np.float64)  # None -> NaN
    t = arr[:, 0].astype(np.int64)
    stats = {}
    for q, g in split_stat_columns(columns).items():
        count = np.nan_to_num(arr[:, g["count"]], nan=0.0)
        flagged = None if "flagged" not in g else np.nan_to_num(arr[:, g["flagged"]], nan=0.0)
        coverage = None if "coverage" not in g else arr[:, g["coverage"]]
        stats[q] = Reduced(
            count, arr[:, g["mean"]], arr[:, g["min"]], arr[:, g["max"]], flagged, coverage
        )
    extra = {
        name: arr[:, i]
        for i, name in enumerate(columns)
        if name in (FIELD_MINUTE_READINGS, FIELD_MINUTE_FIRST, FIELD_MINUTE_LAST, FIELD_INTERVAL)
    }
    return t, stats, extra


def window_hours(tier: str, win: np.ndarray) -> np.ndarray:
    """Length in hours of each window of a daily tier (Paris days: 23, 24 or 25)."""
    if tier != "1d_paris":
        return np.full(win.size, TIERS[tier][1] / 3600.0)
    ends = np.array([window_bounds_ms(tier, int(w))[1] for w in win.tolist()], dtype=np.int64)
    hours: np.ndarray = (ends - win) / HOUR_MS
    return hours


def reduce_lower_rows(
    tier: str, t: np.ndarray, stored: dict[str, Reduced], extra: dict[str, np.ndarray] | None
) -> tuple[np.ndarray, dict[str, Reduced], dict[str, np.ndarray]]:
    """Windows of a lower tier of one series (``lower_rows``) -> (window starts, stats per
    quantity, fields of the series) of ``tier``. ``1h``: the interval of the hour from the
    minute records and the coverage of each quantity; daily tiers: the mean of the hourly
    coverages over the hours of the day (hours without a window count 0; a stored hour
    without coverage makes the day's unknown)."""
    extra = extra or {}
    win = window_starts_ms(tier, t)
    order = np.argsort(win, kind="stable")
    if (np.diff(order) != 1).any():
        win, t = win[order], t[order]
        stored = {q: r.take(order) for q, r in stored.items()}
        extra = {n: c[order] for n, c in extra.items()}
    starts = group_starts(np.zeros(len(win), dtype=np.int64), win)
    stats = {}
    for q, r in stored.items():
        flagged = np.zeros(len(win)) if r.flagged is None else r.flagged
        cov = None
        if tier != "1h":
            cov = np.full(len(win), np.nan) if r.coverage is None else r.coverage
            # an hour of the series without this quantity: no coverage written, it is 0
            cov = np.where(np.isnan(cov) & (r.count <= 0) & (flagged <= 0), 0.0, cov)
        red = reduce_sorted(starts, r.count, r.mean * r.count, r.min, r.max, flagged, cov)
        if tier != "1h" and red.coverage is not None:
            red.coverage = red.coverage / window_hours(tier, win[starts])
        stats[q] = red
    fields: dict[str, np.ndarray] = {}
    if tier == "1h":
        k = extra.get(FIELD_MINUTE_READINGS)
        if k is not None:
            first = extra[FIELD_MINUTE_FIRST]
            last = extra[FIELD_MINUTE_LAST]
            ok = ~np.isnan(k)
            zero = np.zeros(int(ok.sum()), dtype=np.int64)
            _, hours, interval = hour_intervals(
                zero, t[ok], k[ok], first[ok], last[ok], DEFAULT_INTERVAL_S
            )
            full = np.full(starts.size, np.nan)
            full[np.searchsorted(win[starts], hours)] = interval
            fields[FIELD_INTERVAL] = full
            for red in stats.values():
                red.coverage = hour_coverage(red.count, full)
    return win[starts], stats, fields


RawSeries = tuple[tuple[str, str], np.ndarray]


def query_raw(
    writer: InfluxWriter,
    fields: Sequence[str],
    start_ms: int,
    end_ms: int,
    stations: Iterable[str] | None,
) -> list[RawSeries]:
    """The raw readings of [start, end) as one array per series: ((station, sensor),
    rows of [time ms, *fields] with NaN for missing values). Thread-safe."""
    select = ", ".join(f'"{f}"' for f in fields)
    q = (
        f'SELECT {select} FROM "{RAW_RP}"."{RAW_MEASUREMENT}" '
        f"WHERE {time_range(start_ms, end_ms)}{station_filter(stations)} "
        f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    )
    out = []
    for res in writer.query(q, timeout=600, binary=True):
        for series in res.get("series", []):
            tags = series["tags"]
            arr = np.array(series["values"], dtype=np.float64)  # None -> NaN
            cols = series["columns"]
            if list(cols[1:]) != list(fields):  # InfluxDB keeps the requested order
                idx = [cols.index(f) for f in fields]
                arr = np.column_stack([arr[:, 0], arr[:, idx]])
            out.append(((tags[TAG_STATION], tags[TAG_SENSOR]), arr))
    return out


def stack_raw(
    parts: list[RawSeries], n_fields: int, series_ids: dict[tuple[str, str], int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sid, time ms, values[n, n_fields]); ``series_ids`` gets the new series."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_fields))
    sids = [
        np.full(len(arr), series_ids.setdefault(key, len(series_ids)), dtype=np.int64)
        for key, arr in parts
    ]
    arr = np.concatenate([a for _, a in parts])
    return np.concatenate(sids), arr[:, 0].astype(np.int64), arr[:, 1:]


def query_excluded(
    writer: InfluxWriter, start_ms: int, end_ms: int, stations: Iterable[str] | None
) -> list[tuple[tuple[str, str], np.ndarray]]:
    """The times (ms) of the raw readings of [start, end) whose flags exclude them from the
    aggregates (``excludes_from_aggregates``), per series. Readings without flags have no
    ``flags`` field, which the condition skips: the answer is small."""
    q = (
        f'SELECT "{FIELD_FLAGS}" FROM "{RAW_RP}"."{RAW_MEASUREMENT}" '
        f"WHERE {time_range(start_ms, end_ms)} AND \"{FIELD_FLAGS}\" <> ''"
        f'{station_filter(stations)} GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    )
    out = []
    for res in writer.query(q, timeout=600):
        for series in res.get("series", []):
            tags = series["tags"]
            times = [int(row[0]) for row in series["values"] if excludes_from_aggregates(row[1])]
            if times:
                out.append(((tags[TAG_STATION], tags[TAG_SENSOR]), np.array(times, np.int64)))
    return out


def excluded_mask(
    sid: np.ndarray,
    t: np.ndarray,
    excluded: list[tuple[tuple[str, str], np.ndarray]],
    series_ids: dict[tuple[str, str], int],
) -> np.ndarray | None:
    """Rows (sid, t) that ``query_excluded`` named; None when none is."""
    keys = [
        np.int64(series_ids[key]) * (1 << 42) + times
        for key, times in excluded
        if key in series_ids
    ]
    if not keys or sid.size == 0:
        return None
    mask = np.isin(sid * (1 << 42) + t, np.concatenate(keys))
    return mask if mask.any() else None


def query_chunk(
    writer: InfluxWriter,
    fields: Sequence[str],
    start_ms: int,
    end_ms: int,
    stations: Iterable[str] | None,
) -> tuple[list[RawSeries], list[tuple[tuple[str, str], np.ndarray]]]:
    """The raw rows of [start, end) and the times of the excluded ones (``query_excluded``)."""
    return (
        query_raw(writer, fields, start_ms, end_ms, stations),
        query_excluded(writer, start_ms, end_ms, stations),
    )


def fetch_raw(
    writer: InfluxWriter,
    fields: Sequence[str],
    start_ms: int,
    end_ms: int,
    stations: Iterable[str] | None,
    series_ids: dict[tuple[str, str], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(sid, time ms, values[n, len(fields)], excluded rows or None) of the raw readings of
    [start, end)."""
    raw, excluded = query_chunk(writer, fields, start_ms, end_ms, stations)
    sid, t, vals = stack_raw(raw, len(fields), series_ids)
    return sid, t, vals, excluded_mask(sid, t, excluded, series_ids)


def empty_partial(n: int) -> tuple[np.ndarray, ...]:
    """(count, total, min, max, flagged, coverage sum) of groups without values."""
    return (
        np.zeros(n),
        np.zeros(n),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.zeros(n),
        np.zeros(n),
    )


def reduce_raw(
    tier: str,
    sid: np.ndarray,
    t: np.ndarray,
    vals: np.ndarray,
    fields: Sequence[str],
    excluded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[np.ndarray, ...]]]:
    """Raw rows -> (group sid, group window, quantity -> (count, total, min, max, flagged)).
    Values of ``excluded`` rows are counted in ``flagged`` only."""
    win = window_starts_ms(tier, t)
    order = sort_groups(sid, win)
    if order is not None:
        sid, win, vals = sid[order], win[order], vals[order]
        if excluded is not None:
            excluded = excluded[order]
    starts = group_starts(sid, win)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for j, f in enumerate(fields):
        v = vals[:, j]
        has = ~np.isnan(v)
        if not has.any():
            continue
        if excluded is None:
            flagged = np.zeros(starts.size)
        else:
            flagged = np.add.reduceat((has & excluded).astype(np.float64), starts)
            has &= ~excluded
            v = np.where(has, v, np.nan)
        r = reduce_sorted(starts, has.astype(np.float64), v, v, v)
        total = np.where(r.count > 0, r.mean * r.count, 0.0)
        out[f] = (r.count, total, r.min, r.max, flagged)
    return sid[starts], win[starts], out


def as_reduced(parts: dict[str, tuple[np.ndarray, ...]]) -> dict[str, Reduced]:
    out = {}
    for q, (count, total, lo, hi, flagged, *_) in parts.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            out[q] = Reduced(count, total / count, lo, hi, flagged)
    return out


def chunk_hour_intervals(
    sid: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw rows of whole hours -> (sid, hour, interval s) per (series, hour), the values the
    live ``1h`` recompute gets from the stored minute records."""
    msid, minute, k, first, last = minute_times(sid, t)
    return hour_intervals(msid, minute, k, first, last, DEFAULT_INTERVAL_S)


def read_raw_fields(writer: InfluxWriter) -> list[str]:
    """The float fields of the raw readings that have aggregates (one query to InfluxDB)."""
    return [f for f in writer.float_fields(RAW_MEASUREMENT) if f in AGGREGATED]


@dataclass
class RecomputeCounts:
    """What recomputes did so far, updated as each write lands (a failure half-way keeps the
    points and tiers done before it)."""

    windows: Counter[str] = field(default_factory=Counter)  # tier -> windows recomputed
    points: int = 0  # aggregate points written


def write_aggregates(
    writer: InfluxWriter, lines: list[str], counts: RecomputeCounts | None = None
) -> int:
    """Writes aggregate points in chunks of ``WRITE_CHUNK`` lines; their number."""
    for i in range(0, len(lines), WRITE_CHUNK):
        writer.write_lines("\n".join(lines[i : i + WRITE_CHUNK]).encode(), rp=AGG_RP)
    if counts is not None:
        counts.points += len(lines)
    return len(lines)


def recompute_1m(
    writer: InfluxWriter,
    span: Pending,
    raw_fields: Sequence[str],
    counts: RecomputeCounts | None = None,
) -> int:
    """Recomputes and writes the 1-minute windows of ``span`` from the raw rows (one query,
    reduced with numpy); the points written. ``raw_fields``: the fields to aggregate when the
    span does not name its quantities."""
    fields = sorted((span.quantities & AGGREGATED) if span.quantities is not None else raw_fields)
    if not fields:
        return 0
    series_ids: dict[tuple[str, str], int] = {}
    sid, t, vals, excluded = fetch_raw(
        writer, fields, span.start_ms, span.end_ms, span.stations, series_ids
    )
    gsid, gwin, parts = reduce_raw("1m", sid, t, vals, fields, excluded)
    series = sorted(series_ids, key=series_ids.__getitem__)
    lines = aggregate_lines(
        TIERS["1m"][0], series, gsid, gwin, as_reduced(parts), minute_extra(sid, t)
    )
    return write_aggregates(writer, lines, counts)


def minute_extra(sid: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """The minute records of raw rows, aligned with the ``1m`` groups of ``reduce_raw`` (both
    in (series, minute) order)."""
    _, _, k, first, last = minute_times(sid, t)
    return {FIELD_MINUTE_READINGS: k, FIELD_MINUTE_FIRST: first, FIELD_MINUTE_LAST: last}


def recompute_from_lower(
    writer: InfluxWriter, span: Pending, counts: RecomputeCounts | None = None
) -> int:
    """Recomputes and writes the windows of ``span`` (tier ``1h``, ``1d`` or ``1d_paris``)
    from the stored windows of the tier below; the points written. The ``1d`` recompute also
    writes the hourly windows packed by day (same rows, same days)."""
    lower = LOWER_TIER[span.tier]
    assert lower is not None
    q = (
        f'SELECT * FROM "{AGG_RP}"."{TIERS[lower][0]}" '
        f"WHERE {time_range(span.start_ms, span.end_ms)}{station_filter(span.stations)} "
        f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    )
    measurement = TIERS[span.tier][0]
    lines: list[str] = []
    for series in _series(writer.query(q, timeout=120)):
        tags = series["tags"]
        key = [(tags[TAG_STATION], tags[TAG_SENSOR])]
        t, stored, extra = lower_rows(series["values"], series["columns"])
        wins, stats, fields = reduce_lower_rows(span.tier, t, stored, extra)
        zeros = np.zeros(len(wins), dtype=np.int64)
        lines += aggregate_lines(measurement, key, zeros, wins, stats, fields)
        if span.tier == "1d":
            lines += packed_day_lines(key, np.zeros(len(t), dtype=np.int64), t, stored)
    return write_aggregates(writer, lines, counts)


def recompute(
    writer: InfluxWriter,
    pendings: Sequence[Pending],
    tiers: Sequence[str] = TIER_ORDER,
    raw_fields: Callable[[], Sequence[str]] | None = None,
    counts: RecomputeCounts | None = None,
) -> None:
    """Recomputes ``pendings`` of ``tiers``, lower tiers first (a tier is built from the one
    below), merged into few query spans. ``raw_fields`` gives the fields of a 1-minute span
    that does not name its quantities (default: asked to InfluxDB); ``counts`` is updated as
    each tier is done. Raises InfluxWriteError."""
    for tier in (t for t in TIER_ORDER if t in tiers):
        for span in spans([p for p in pendings if p.tier == tier]):
            if tier == "1m":
                fields: Sequence[str] = ()
                if span.quantities is None:
                    fields = raw_fields() if raw_fields is not None else read_raw_fields(writer)
                recompute_1m(writer, span, fields, counts)
            else:
                recompute_from_lower(writer, span, counts)
        if counts is not None:
            counts.windows[tier] += sum(1 for p in pendings if p.tier == tier)


def _series(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for res in results for s in res.get("series", [])]
