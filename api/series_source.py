"""Reading series out of InfluxDB as a stream of rows (I/O): raw readings, stored aggregate
tiers combined into the requested windows, or raw readings reduced to windows (median, p95).

Rows come out per (station, sensor) series, in time order, never the whole result in memory:
the query runs with ``chunked=true`` and windows are closed as soon as the next one starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from airq_core.readings import format_time
from airq_core.storage import AGG_STATS, TAG_SENSOR, TAG_STATION, TIERS, agg_field
from api.exports import Row
from api.influx import InfluxReader
from api.queries import build_count_query, build_select_query
from api.windows import RAW_ONLY_AGGS, Window, WindowAcc, window_key

__all__ = [
    "SeriesPlan",
    "count_raw_values",
    "fetch_one_to_one",
    "fetch_rows",
    "is_one_to_one",
    "points_one_to_one",
]

CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    stations: tuple[str, ...]
    quantities: tuple[str, ...]
    sensor: str | None
    start_ms: int
    end_ms: int
    window: Window
    aggs: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return ("value",) if self.window.is_raw_output else self.aggs


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


async def fetch_rows(
    influx: InfluxReader, plan: SeriesPlan, chunk_size: int = CHUNK
) -> AsyncIterator[Row]:
    window = plan.window
    q, params = build_select_query(
        window.tier, plan.quantities, plan.stations, plan.start_ms, plan.end_ms, plan.sensor
    )
    if window.is_raw_output:
        async for piece in influx.stream(q, params, chunk_size):
            tags = piece.get("tags") or {}
            st, sn = tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, "")
            idx = _indices(piece["columns"], plan.quantities)
            for row in piece["values"]:
                t = row[0]
                for qname, i in zip(plan.quantities, idx, strict=True):
                    if i >= 0 and row[i] is not None:
                        yield (t, st, sn, qname, {"value": float(row[i])})
        return

    key = window_key(window)
    from_raw = window.tier == "raw"
    keep_values = bool(RAW_ONLY_AGGS.intersection(plan.aggs))
    current: tuple[str, str] | None = None
    win: int | None = None
    accs: list[WindowAcc] = []

    def close() -> list[Row]:
        out: list[Row] = []
        if current is None or win is None:
            return out
        for qname, acc in zip(plan.quantities, accs, strict=True):
            res = acc.result(plan.aggs)
            if res is not None:
                out.append((win, current[0], current[1], qname, res))
        return out

    async for piece in influx.stream(q, params, chunk_size):
        tags = piece.get("tags") or {}
        series = (tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, ""))
        if from_raw:
            idx = _indices(piece["columns"], plan.quantities)
        else:
            names = [agg_field(qn, s) for qn in plan.quantities for s in AGG_STATS]
            idx = _indices(piece["columns"], names)
        if series != current:
            for r in close():
                yield r
            current, win = series, None
        for row in piece["values"]:
            w = key(row[0])
            if w != win:
                for r in close():
                    yield r
                win = w
                accs = [WindowAcc(keep_values) for _ in plan.quantities]
            if from_raw:
                for acc, i in zip(accs, idx, strict=True):
                    if i >= 0 and row[i] is not None:
                        acc.add_value(float(row[i]))
            else:
                for n, acc in enumerate(accs):
                    i_mean, i_min, i_max, i_count = idx[4 * n : 4 * n + 4]
                    acc.add_row(
                        row[i_mean] if i_mean >= 0 else None,
                        row[i_min] if i_min >= 0 else None,
                        row[i_max] if i_max >= 0 else None,
                        row[i_count] if i_count >= 0 else None,
                    )
    for r in close():
        yield r


def is_one_to_one(plan: SeriesPlan) -> bool:
    """The requested windows are exactly the stored windows of the tier (``every=1h`` read from
    ``readings_1h`` in UTC): each stored row is one output row, nothing to combine."""
    w = plan.window
    return (
        not w.is_raw_output
        and w.tier in TIERS
        and not w.local_days
        and w.tz == "UTC"
        and w.every_s == TIERS[w.tier][1]
    )


def _stats_needed(aggs: Sequence[str]) -> tuple[str, ...]:
    """The stored statistics a one-to-one answer reads: the asked ones, and the count (a
    window without a count is not served, as in ``WindowAcc``)."""
    return tuple(s for s in AGG_STATS if s in aggs or s in ("mean", "count"))


def points_one_to_one(
    plan: SeriesPlan, series_list: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Stored tier rows -> the JSON points ``fetch_rows`` + ``json_stream`` give for this plan
    (same rows, order and values), built column-wise with numpy instead of row by row."""
    stats = _stats_needed(plan.aggs)
    names = [agg_field(qn, s) for qn in plan.quantities for s in stats]
    keys: list[np.ndarray] = []  # series index, time, quantity index
    parts: list[dict[str, np.ndarray]] = []
    labels: list[tuple[str, str]] = []
    for series in series_list:
        values = series["values"]
        if not values:
            continue
        tags = series.get("tags") or {}
        labels.append((tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, "")))
        table = np.array(values, dtype=float)  # None -> NaN; ms times are exact in a double
        t = table[:, 0].astype(np.int64)
        idx = _indices(series["columns"], names)
        nan = np.full(len(t), np.nan)
        for qi in range(len(plan.quantities)):
            cols = {
                s: (table[:, i] if i >= 0 else nan)
                for s, i in zip(stats, idx[len(stats) * qi : len(stats) * (qi + 1)], strict=True)
            }
            keep = ~np.isnan(cols["mean"]) & (cols["count"] > 0)  # NaN > 0 is False
            n = int(keep.sum())
            if n:
                keys.append(np.stack([np.full(n, len(labels) - 1), t[keep], np.full(n, qi)]))
                parts.append({s: c[keep] for s, c in cols.items()})
    if not keys:
        return []
    key = np.concatenate(keys, axis=1)
    order = np.lexsort((key[2], key[1], key[0]))  # by series, then time, then quantity
    merged = {s: np.concatenate([p[s] for p in parts])[order] for s in stats}
    columns: dict[str, list[Any]] = {}
    for a in plan.aggs:
        if a == "mean":
            columns[a] = merged["mean"].tolist()
        elif a in ("min", "max"):
            columns[a] = [None if v != v else v for v in merged[a].tolist()]
        elif a == "count":
            columns[a] = np.rint(merged["count"]).astype(np.int64).tolist()
    times = format_times_ms(key[1][order])
    station_of = [labels[i][0] for i in key[0][order].tolist()]
    sensor_of = [labels[i][1] for i in key[0][order].tolist()]
    quantity_of = [plan.quantities[i] for i in key[2][order].tolist()]
    labelled = zip(times, station_of, sensor_of, quantity_of, strict=True)
    # dict displays: several times faster than dict(zip(...)) for thousands of points
    out = [{"time": t, "station": st, "sensor": sn, "quantity": q} for t, st, sn, q in labelled]
    for a, vals in columns.items():
        for obj, v in zip(out, vals, strict=True):
            obj[a] = v
    return out


def format_times_ms(times_ms: np.ndarray) -> list[str]:
    """Window starts (ms) -> RFC 3339 UTC text, the same as ``format_time`` (vectorised when
    they are whole seconds, as aggregate windows always are)."""
    if times_ms.size and not (times_ms % 1000).any():
        text = np.datetime_as_string((times_ms // 1000).astype("datetime64[s]"), unit="s")
        return [t + "Z" for t in text.tolist()]
    return [format_time(int(t) / 1000) for t in times_ms.tolist()]


async def fetch_one_to_one(influx: InfluxReader, plan: SeriesPlan) -> list[dict[str, Any]]:
    """The whole (size-checked) result in one request, as JSON points."""
    q, params = build_select_query(
        plan.window.tier,
        plan.quantities,
        plan.stations,
        plan.start_ms,
        plan.end_ms,
        plan.sensor,
        stats=_stats_needed(plan.aggs),
    )
    results = await influx.query(q, params)
    series = results[0].get("series", []) if results else []
    return points_one_to_one(plan, series)
