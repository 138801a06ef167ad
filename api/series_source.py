"""Reading series out of InfluxDB as a stream of rows (I/O): raw readings, stored aggregate
tiers combined into the requested windows, or raw readings reduced to windows (median, p95).

Rows come out per (station, sensor) series, in time order, never the whole result in memory:
the query runs with ``chunked=true`` and windows are closed as soon as the next one starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from airq_core.storage import AGG_STATS, TAG_SENSOR, TAG_STATION, agg_field
from api.exports import Row
from api.influx import InfluxReader
from api.queries import build_count_query, build_select_query
from api.windows import RAW_ONLY_AGGS, Window, WindowAcc, window_key

__all__ = ["SeriesPlan", "count_raw_values", "fetch_rows"]

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
