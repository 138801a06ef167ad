"""Stored aggregate windows served one to one (pure): rows of a tier or of the hourly windows
packed by day turned into columns, ordered and encoded (JSON text, and the rows the CSV and
Parquet builders take); the cache of what was built, keyed by the stored content it was built
from.

The I/O (what is asked of InfluxDB, and when) is in ``api.series_source``.
"""

from __future__ import annotations

import base64
import binascii
import operator
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from airq_core.readings import format_time
from airq_core.storage import (
    AGG_STATS,
    PACKED_HOURS,
    QUALITY_STATS,
    TAG_SENSOR,
    TAG_STATION,
    TIERS,
    agg_field,
    pack_hours,
)
from api.exports import json_points_padded, unpad
from api.spans import Spans, span_mask
from api.windows import Window

__all__ = [
    "Block",
    "ContentCache",
    "NotPacked",
    "PackedRead",
    "Rows",
    "SeriesPlan",
    "blocks_from_series",
    "check_every_day_packed",
    "clip_blocks",
    "day_key_cost",
    "encode_rows",
    "is_one_to_one",
    "merge_packed",
    "ordered_rows",
    "quality_stats",
    "render_packed",
    "series_label",
    "series_of",
    "stats_needed",
    "unpack_series",
]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
_NO_DAY = pack_hours([None] * PACKED_HOURS)


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    stations: tuple[str, ...]
    quantities: tuple[str, ...]
    sensor: str | None
    start_ms: int
    end_ms: int
    window: Window
    aggs: tuple[str, ...]
    include_flagged: bool = False  # raw readings whose flags exclude them are served too
    # (station, spans): the only times those stations are served for (a selection by place
    # of a moved station, see api.spans); stations not listed are served over the period
    clip: tuple[tuple[str, Spans], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return ("value", "flags") if self.window.is_raw_output else (*self.aggs, *QUALITY)


QUALITY = ("n", "n_flagged", "coverage")
"""Columns of every window beside the asked statistics: the valid values (``<q>_count``), the
values left out for their flags (``<q>_flagged``) and the share of the expected readings that
are valid (``<q>_coverage``, tiers 1h and up); null where the tier does not store them."""
COVERAGE_TIERS = frozenset({"1h", "1d", "1d_paris"})


def quality_stats(tier: str) -> tuple[str, ...]:
    """The stored quality statistics of a tier (``flagged`` everywhere, ``coverage`` from
    1h up)."""
    return QUALITY_STATS if tier in COVERAGE_TIERS else ("flagged",)


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


def stats_needed(aggs: Sequence[str], tier: str) -> tuple[str, ...]:
    """The stored statistics a one-to-one answer reads: the asked ones, the count (a
    window without a count is not served, as in ``WindowAcc``; it is also ``n``) and the
    quality statistics the tier stores."""
    asked = tuple(s for s in AGG_STATS if s in aggs or s in ("mean", "count"))
    return asked + quality_stats(tier)


Block = tuple[tuple[str, str], np.ndarray, list[dict[str, np.ndarray] | None]]
"""One (station, sensor) series of stored windows: (labels, window starts in ms, per quantity
of the plan {statistic: values} or None when the series lacks it). Values are float arrays
aligned with the times, NaN where a window has no value."""


def blocks_from_series(
    plan: SeriesPlan, series_list: Sequence[dict[str, Any]], stats: Sequence[str]
) -> list[Block]:
    """InfluxDB series of a tier (``<q>_<stat>`` columns) -> blocks."""
    out: list[Block] = []
    for series in series_list:
        values = series["values"]
        if not values:
            continue
        table = np.array(values, dtype=float)  # None -> NaN; ms times are exact in a double
        pos = {c: i for i, c in enumerate(series["columns"])}
        per_q: list[dict[str, np.ndarray] | None] = []
        for qn in plan.quantities:
            cols = {s: table[:, pos[agg_field(qn, s)]] for s in stats if agg_field(qn, s) in pos}
            per_q.append(cols if "mean" in cols else None)
        out.append((series_label(series), table[:, 0].astype(np.int64), per_q))
    return out


def clip_blocks(plan: SeriesPlan, blocks: Sequence[Block]) -> list[Block]:
    """Blocks of stored windows of a one-to-one plan with, for the stations in ``plan.clip``,
    only the windows one of their spans holds whole."""
    spans = dict(plan.clip)
    length = TIERS[plan.window.tier][1] * 1000
    out: list[Block] = []
    for label, t, per_q in blocks:
        keep = spans.get(label[0])
        if keep is None:
            out.append((label, t, per_q))
            continue
        mask = span_mask(t, keep, length)
        cols = [None if c is None else {s: v[mask] for s, v in c.items()} for c in per_q]
        out.append((label, t[mask], cols))
    return out


@dataclass(slots=True)
class Rows:
    """Output rows in order (series, time, quantity), column-wise."""

    times: np.ndarray
    label_of: np.ndarray
    labels: list[dict[str, str]]
    label_series: np.ndarray  # block index of each label
    columns: dict[str, list[Any]]


def ordered_rows(plan: SeriesPlan, blocks: Sequence[Block]) -> Rows | None:
    keys: list[np.ndarray] = []  # label index, time
    parts: list[dict[str, np.ndarray]] = []
    labels: list[dict[str, str]] = []
    label_series: list[int] = []
    for bi, ((station, sensor), t, per_q) in enumerate(blocks):
        for qi, cols in enumerate(per_q):
            if cols is None:
                continue
            keep = ~np.isnan(cols["mean"])
            if "count" in cols:
                keep &= cols["count"] > 0  # NaN > 0 is False
            n = int(keep.sum())
            if n:
                # labels are numbered in output order: series, then quantity
                labels.append(
                    {"station": station, "sensor": sensor, "quantity": plan.quantities[qi]}
                )
                label_series.append(bi)
                keys.append(np.stack([np.full(n, len(labels) - 1), t[keep]]))
                parts.append({s: c[keep] for s, c in cols.items()})
    if not keys:
        return None
    key = np.concatenate(keys, axis=1)
    series_of = np.array(label_series)[key[0]]
    order = np.lexsort((key[0], key[1], series_of))  # by series, then time, then quantity
    columns: dict[str, list[Any]] = {}
    for a in plan.aggs:
        merged = np.concatenate([p.get(a, np.full(len(p["mean"]), np.nan)) for p in parts])
        merged = merged[order]
        if a == "mean":
            columns[a] = merged.tolist()
        elif a in ("min", "max"):
            columns[a] = [None if v != v else v for v in merged.tolist()]
        elif a == "count":
            columns[a] = np.rint(np.nan_to_num(merged)).astype(np.int64).tolist()
    for column, stat in zip(QUALITY, ("count", "flagged", "coverage"), strict=True):
        merged = np.concatenate([p.get(stat, np.full(len(p["mean"]), np.nan)) for p in parts])
        merged = merged[order]
        if column == "coverage":
            columns[column] = [None if v != v else v for v in merged.tolist()]
        else:
            known = ~np.isnan(merged)
            ints = np.rint(np.nan_to_num(merged)).astype(np.int64).tolist()
            columns[column] = [v if k else None for v, k in zip(ints, known.tolist(), strict=True)]
    return Rows(key[1][order], key[0][order], labels, np.array(label_series), columns)


def encode_rows(rows: Rows) -> tuple[bytes, int | None]:
    """JSON points of the rows, NUL-padded to a fixed width per point (comma included: points
    can then be cut apart; ``unpad`` them), and that width; or the final text and None when
    built one dict per point."""
    body = json_points_padded(rows.times, rows.label_of, rows.labels, rows.columns)
    if body is not None:
        return body, (len(body) + 1) // len(rows.times)
    # times that are not whole seconds (never for stored windows)
    times = rows.times.tolist()
    points = [
        {"time": format_time(times[i] / 1000), **rows.labels[j]}
        for i, j in enumerate(rows.label_of.tolist())
    ]
    for a, vals in rows.columns.items():
        for obj, v in zip(points, vals, strict=True):
            obj[a] = v
    return orjson.dumps(points)[1:-1], None


class ContentCache:
    """What the API built from stored windows, keyed by what it was built from: a key holds
    the stored content itself, so an entry is never stale (data changed by late readings has
    a new content, hence a new key; the old entry only stops being asked for). Keys start
    with their kind:

    - ``("day", …)``: the JSON points of one whole packed day, keyed by the series, the
      quantities and statistics asked for, and the packed text of each field;
    - ``("json", …)`` and ``("file", …)``: a whole answer (JSON points, or a CSV or Parquet
      file), keyed by the plan, the request sent to InfluxDB and its answer, when that one
      answer was all the read needed.

    Least recently used entries go beyond ``max_bytes`` (``cost``: the bytes an entry holds,
    its key included); an entry costing more than a quarter of it is not kept. Used from the
    event loop only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses[key[0]] += 1
            return None
        self._entries.move_to_end(key)
        self.hits[key[0]] += 1
        return entry[0]

    def put(self, key: tuple[Any, ...], value: Any, cost: int) -> None:
        # an entry above a quarter of the budget is not kept: one large export would push
        # out everything else
        if cost > self.max_bytes // 4 or key in self._entries:
            return
        self._entries[key] = (value, cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, old_cost) = self._entries.popitem(last=False)
            self.size -= old_cost

    def __len__(self) -> int:
        return len(self._entries)


def day_key_cost(key: tuple[Any, ...], points: bytes) -> int:
    """What a cached day holds: its JSON and the packed texts of its key."""
    return len(points) + sum(len(t) for t in key[-1] if isinstance(t, str)) + 200


@dataclass(slots=True)
class PackedRead:
    """Hourly windows of a plan: ``blocks`` to encode, one per series (in output order);
    ``cached``: JSON of whole days found in the cache, by (block index, day); ``keys``: cache
    keys of the whole days in ``blocks``, to keep once encoded."""

    blocks: list[Block]
    cached: dict[tuple[int, int], bytes] = field(default_factory=dict)
    keys: dict[tuple[int, int], tuple[Any, ...]] = field(default_factory=dict)


def render_packed(plan: SeriesPlan, read: PackedRead, cache: ContentCache | None) -> bytes:
    """The JSON points of a packed read: the cached days and the encoded rows, in order
    (series, time, quantity); the whole days just encoded go into the cache."""
    rows = ordered_rows(plan, read.blocks)
    body, width = encode_rows(rows) if rows is not None else (b"", None)
    if not read.cached and (cache is None or width is None):
        return body if width is None else unpad(body)
    pieces: list[tuple[tuple[int, int], bytes]] = list(read.cached.items())
    if rows is not None and width is not None:
        # rows are sorted by series then time: cut them at each (series, day) change
        unit_series = rows.label_series[rows.label_of]
        unit_day = rows.times - rows.times % DAY_MS
        change = np.flatnonzero((np.diff(unit_series) != 0) | (np.diff(unit_day) != 0)) + 1
        starts = np.concatenate(([0], change)).tolist()
        stops = [*change.tolist(), len(rows.times)]
        for a, b in zip(starts, stops, strict=True):
            unit = (int(unit_series[a]), int(unit_day[a]))
            piece = unpad(body[a * width : b * width - 1])
            pieces.append((unit, piece))
            key = read.keys.get(unit)
            if key is not None and cache is not None:
                cache.put(key, piece, day_key_cost(key, piece))
    elif body:
        # built one dict per point: times that are not whole seconds, which stored windows
        # never have (nor, then, cached days)
        return body
    pieces.sort(key=lambda p: p[0])
    return b",".join(p for _, p in pieces if p)


class NotPacked(LookupError):
    """Some days with hourly windows have no packed point (data written before the packed
    tier existed, or packed days deleted): the hourly tier must be read instead."""


def check_every_day_packed(
    plan: SeriesPlan, packed: list[dict[str, Any]], day_counts: list[dict[str, Any]]
) -> None:
    """The daily windows (``readings_1d``, written with the packed day in the same batch)
    and the packed days must be as many, per series and quantity. Raises NotPacked."""
    have: dict[tuple[str, str, str], int] = {}
    for series in packed:
        label = series_label(series)
        pos = {c: i for i, c in enumerate(series["columns"])}
        for qn in plan.quantities:
            i = pos.get(agg_field(qn, "mean"))
            if i is not None:
                have[(*label, qn)] = sum(1 for r in series["values"] if r[i] is not None)
    for series in day_counts:
        label = series_label(series)
        row = series["values"][0]
        for qn, n in zip(plan.quantities, row[1:], strict=False):
            if n and n > have.get((*label, qn), 0):
                raise NotPacked(f"{label} {qn}: {n} days, {have.get((*label, qn), 0)} packed")


def series_of(results: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    return results[i].get("series", []) if len(results) > i else []


def series_label(series: dict[str, Any]) -> tuple[str, str]:
    tags = series.get("tags") or {}
    return tags.get(TAG_STATION, ""), tags.get(TAG_SENSOR, "")


def unpack_series(
    plan: SeriesPlan,
    series: dict[str, Any],
    stats: Sequence[str],
    cache: ContentCache | None = None,
    cached: dict[tuple[tuple[str, str], int], bytes] | None = None,
    keys: dict[tuple[tuple[str, str], int], tuple[Any, ...]] | None = None,
) -> Block:
    """A packed series (one row per day) -> hourly block over the whole days (clipped to
    the plan's period; hours without a window stay NaN, dropped when the points are built).
    With a cache: whole days found there go to ``cached`` instead, and the keys of the other
    whole days to ``keys``."""
    label = series_label(series)
    rows = series["values"]
    pos = {c: i for i, c in enumerate(series["columns"])}
    if cache is not None and cached is not None and keys is not None:
        # the packed texts of the day, in a fixed order (a missing field: None)
        fields = [pos.get(agg_field(qn, st), 0) for qn in plan.quantities for st in stats]
        texts_of = operator.itemgetter(*fields, 0)  # a tuple even for one field; 0: the time
        base = ("day", label, plan.quantities, plan.aggs, stats)
        left = []
        for r in rows:
            day = r[0]
            if day < plan.start_ms or day + DAY_MS > plan.end_ms:
                left.append(r)  # a day cut by the period: encoded each time
                continue
            key = (*base, texts_of(r))  # the time, last, tells the day
            hit = cache.get(key)
            if hit is None:
                keys[(label, day)] = key
                left.append(r)
            else:
                cached[(label, day)] = hit
        rows = left
    days = np.array([r[0] for r in rows], dtype=np.int64)
    t = (days[:, None] + np.arange(PACKED_HOURS, dtype=np.int64) * HOUR_MS).ravel()
    inside = (t >= plan.start_ms) & (t < plan.end_ms)
    per_q: list[dict[str, np.ndarray] | None] = []
    for qn in plan.quantities:
        cols: dict[str, np.ndarray] = {}
        for st in stats:
            i = pos.get(agg_field(qn, st))
            if i is None:
                continue
            text = "".join(_NO_DAY if r[i] is None else r[i] for r in rows)
            if len(text) != len(_NO_DAY) * len(rows):
                raise ValueError(f"packed {agg_field(qn, st)} of {label} has a wrong length")
            try:
                raw = base64.b64decode(text, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"packed {agg_field(qn, st)} of {label}: {exc}") from None
            cols[st] = np.frombuffer(raw, dtype="<f8")[inside]
        per_q.append(cols if "mean" in cols else None)
    return label, t[inside], per_q


def join_blocks(a: list[Block], b: list[Block]) -> list[Block]:
    """Blocks of two consecutive periods -> one block per series (``a`` before ``b``)."""
    out: dict[tuple[str, str], Block] = {blk[0]: blk for blk in a}
    for label, t, per_q in b:
        if label not in out:
            out[label] = (label, t, per_q)
            continue
        _, t0, q0 = out[label]
        out[label] = (label, np.concatenate([t0, t]), _concat_q(q0, len(t0), per_q, len(t)))
    return list(out.values())


def _concat_q(
    a: list[dict[str, np.ndarray] | None],
    na: int,
    b: list[dict[str, np.ndarray] | None],
    nb: int,
) -> list[dict[str, np.ndarray] | None]:
    out: list[dict[str, np.ndarray] | None] = []
    for ca, cb in zip(a, b, strict=True):
        if ca is None and cb is None:
            out.append(None)
            continue
        names = set(ca or {}) | set(cb or {})
        out.append(
            {
                s: np.concatenate(
                    [
                        (ca or {}).get(s, np.full(na, np.nan)),
                        (cb or {}).get(s, np.full(nb, np.nan)),
                    ]
                )
                for s in names
            }
        )
    return out


def merge_packed(
    plan: SeriesPlan, packed: list[Block], tail: list[Block], ends: dict[tuple[str, str], int]
) -> list[Block]:
    """Packed days first, then the tail rows after each series' last packed hour; series in
    InfluxDB's order (by tags), as the tier read gives them."""
    rest: list[Block] = []
    for label, t, per_q in tail:
        after = t >= ends.get(label, plan.start_ms)
        rest.append(
            (
                label,
                t[after],
                [None if c is None else {s: v[after] for s, v in c.items()} for c in per_q],
            )
        )
    blocks = join_blocks(packed, rest)
    # InfluxDB orders series by their tags sorted by key: sensor, then station
    return sorted(blocks, key=lambda b: (b[0][1], b[0][0]))
