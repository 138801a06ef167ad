"""Live downsampling: recompute the aggregate windows touched by stored readings.

Every stored batch marks its (tier, window, station) as dirty (``windows.DirtyWindows``). When a
window is due (closed, plus a grace, see ``DirtyWindows``) this module **recomputes** it from
the source of truth and overwrites its aggregate points:

* ``1m`` from the raw readings, with one InfluxQL query per span of due windows
  (``mean/min/max/count`` per field, ``GROUP BY time(1m), station, sensor``);
* ``1h`` from ``1m``, ``1d`` and ``1d_paris`` from ``1h``, count-weighted (numpy).

Recomputing instead of accumulating makes the result independent of how readings were split
between workers, of redeliveries and of late readings: every worker that touched a window
writes the same values, and a late reading re-marks its (already closed) window.

The pending windows are saved before the readings that marked them are acknowledged, so a
crash between storage and rollup loses no window: the windows a batch adds are appended to a
journal (one small write per batch), and a snapshot of the pending set replaces the journal
after each recompute. Rewriting the whole set for every batch cost ~15 µs per message in a
backlog drain, where the set grows until the drain ends (bench/ingest_drain.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airq_core.quantities import QUANTITIES
from airq_core.readings import Reading
from airq_core.storage import (
    AGG_RP,
    AGG_STATS,
    HCORR_QUANTITIES,
    RAW_MEASUREMENT,
    RAW_RP,
    TAG_SENSOR,
    TAG_STATION,
    TIERS,
    hcorr_field,
)
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.windows import (
    LOWER_TIER,
    TIER_ORDER,
    DirtyWindows,
    Pending,
    Reduced,
    aggregate_lines,
    group_starts,
    packed_day_lines,
    reduce_sorted,
    sort_groups,
    utc_text,
    window_starts_ms,
)

log = logging.getLogger(__name__)

AGGREGATED = frozenset(QUANTITIES) | {hcorr_field(q) for q in HCORR_QUANTITIES}
MAX_FILTER_STATIONS = 20
# longest span recomputed by one query, per tier (in windows of the tier)
MAX_SPAN_WINDOWS = {"1m": 360, "1h": 24 * 7, "1d": 62, "1d_paris": 62}
WRITE_CHUNK = 5000
# windows appended to the journal before it is folded into the snapshot (a long backlog drain
# postpones the recomputes, which otherwise fold it)
JOURNAL_MAX_LINES = 20_000


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
    """Aggregate columns ``<q>_<stat>`` -> {q: {stat: column index}} (complete groups only)."""
    groups: dict[str, dict[str, int]] = {}
    for i, name in enumerate(columns):
        q, _, stat = name.rpartition("_")
        if stat in AGG_STATS and q:
            groups.setdefault(q, {})[stat] = i
    return {q: g for q, g in groups.items() if len(g) == len(AGG_STATS)}


def lower_rows(
    values: list[list[Any]], columns: Sequence[str]
) -> tuple[np.ndarray, dict[str, Reduced]]:
    """Stored aggregate rows of one series -> (window starts, stats per quantity), as stored."""
    arr = np.array(values, dtype=np.float64)  # None -> NaN
    t = arr[:, 0].astype(np.int64)
    stats = {}
    for q, g in split_stat_columns(columns).items():
        count = np.nan_to_num(arr[:, g["count"]], nan=0.0)
        stats[q] = Reduced(count, arr[:, g["mean"]], arr[:, g["min"]], arr[:, g["max"]])
    return t, stats


def reduce_lower_rows(
    tier: str, t: np.ndarray, stored: dict[str, Reduced]
) -> tuple[np.ndarray, dict[str, Reduced]]:
    """Windows of a lower tier of one series (``lower_rows``) -> (window starts, stats per
    quantity) of ``tier``."""
    win = window_starts_ms(tier, t)
    order = np.argsort(win, kind="stable")
    if (np.diff(order) != 1).any():
        win = win[order]
        stored = {q: r.take(order) for q, r in stored.items()}
    starts = group_starts(np.zeros(len(win), dtype=np.int64), win)
    stats = {
        q: reduce_sorted(starts, r.count, r.mean * r.count, r.min, r.max) for q, r in stored.items()
    }
    return win[starts], stats


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


def fetch_raw(
    writer: InfluxWriter,
    fields: Sequence[str],
    start_ms: int,
    end_ms: int,
    stations: Iterable[str] | None,
    series_ids: dict[tuple[str, str], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sid, time ms, values[n, len(fields)]) of the raw readings of [start, end)."""
    return stack_raw(query_raw(writer, fields, start_ms, end_ms, stations), len(fields), series_ids)


def empty_partial(n: int) -> tuple[np.ndarray, ...]:
    return np.zeros(n), np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)


def reduce_raw(
    tier: str, sid: np.ndarray, t: np.ndarray, vals: np.ndarray, fields: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[np.ndarray, ...]]]:
    """Raw rows -> (group sid, group window, quantity -> (count, total, min, max))."""
    win = window_starts_ms(tier, t)
    order = sort_groups(sid, win)
    if order is not None:
        sid, win, vals = sid[order], win[order], vals[order]
    starts = group_starts(sid, win)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for j, f in enumerate(fields):
        v = vals[:, j]
        has = ~np.isnan(v)
        if not has.any():
            continue
        r = reduce_sorted(starts, has.astype(np.float64), v, v, v)
        out[f] = (r.count, np.where(r.count > 0, r.mean * r.count, 0.0), r.min, r.max)
    return sid[starts], win[starts], out


def as_reduced(parts: dict[str, tuple[np.ndarray, ...]]) -> dict[str, Reduced]:
    out = {}
    for q, (count, total, lo, hi) in parts.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            out[q] = Reduced(count, total / count, lo, hi)
    return out


class Roller:
    """Marks dirty windows (writer thread) and recomputes the due ones (its own thread)."""

    def __init__(
        self,
        writer: InfluxWriter,
        dirty: DirtyWindows,
        tiers: Sequence[str] = TIER_ORDER,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        max_lag_s: float = 60.0,
    ) -> None:
        self.writer = writer
        self.max_lag_s = max_lag_s
        self.backlog_at = float("-inf")  # monotonic time of the writer's last full batch
        self.dirty = dirty
        self.tiers = tuple(t for t in TIER_ORDER if t in tiers)
        self.state_path = state_path
        self._journal_path = None if state_path is None else state_path.with_suffix(".journal")
        self._journal_lines = 0
        self._clock = clock
        self._state_lock = threading.Lock()
        self._saved_version = -1
        self._in_progress: list[Pending] = []
        self._fields: tuple[float, list[str]] = (0.0, [])
        self.windows = Counter[str]()  # tier -> windows recomputed
        self.points = 0
        self.failures = 0
        self.busy_s = 0.0

    # -- writer side ------------------------------------------------------------------------
    def mark(self, readings: Iterable[Reading], now: float) -> None:
        minutes: dict[int, tuple[set[str], set[str]]] = {}
        for r in readings:
            m = round(r.ts * 1000)
            m -= m % 60_000
            e = minutes.get(m)
            if e is None:
                minutes[m] = e = (set(), set())
            e[0].add(r.station)
            e[1].update(r.values)
        if minutes:
            added = self.dirty.mark_minutes(minutes, now, self.tiers)
            if added:
                self._journal(added)

    # -- crash safety -----------------------------------------------------------------------
    def _journal(self, keys: list[tuple[str, int]]) -> None:
        """Appends newly pending windows to the journal (one write: survives a SIGKILL once
        it returned); a journal grown long is folded into the snapshot."""
        if self._journal_path is None:
            return
        with self._state_lock:
            with self._journal_path.open("a") as f:
                f.write("".join(f"{tier} {start}\n" for tier, start in keys))
            self._journal_lines += len(keys)
            long = self._journal_lines > JOURNAL_MAX_LINES
        if long:
            self.save_state(force=True)

    def save_state(self, force: bool = False) -> None:
        """Writes a snapshot of the pending windows if they changed (atomic replace), then
        empties the journal it covers."""
        if self.state_path is None or self._journal_path is None:
            return
        with self._state_lock:
            version = self.dirty.version
            if version == self._saved_version and not force:
                return
            keys = set(self.dirty.keys()) | {(p.tier, p.start_ms) for p in self._in_progress}
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"windows": sorted(keys)}))
            os.replace(tmp, self.state_path)
            # a crash here leaves journal lines the snapshot holds already: marked twice
            self._journal_path.write_text("")
            self._journal_lines = 0
            self._saved_version = version

    def load_state(self) -> int:
        """Marks the windows left pending by a previous run (all stations); their number."""
        if self.state_path is None:
            return 0
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        keys: set[tuple[str, int]] = set()
        try:
            data = json.loads(self.state_path.read_text())
            keys.update((str(t), int(s)) for t, s in data["windows"] if t in self.tiers)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable rollup state %s: %s", self.state_path, exc)
        keys.update(self._journal_keys())
        self.dirty.mark_all(sorted(keys), self._clock())
        if keys:
            log.info(
                "%d aggregate windows left pending by the last run will be recomputed", len(keys)
            )
        return len(keys)

    def _journal_keys(self) -> list[tuple[str, int]]:
        """The windows of the journal; a last line cut short by a crash is skipped."""
        assert self._journal_path is not None
        try:
            text = self._journal_path.read_text()
        except FileNotFoundError:
            return []
        keys = []
        for line in text.split("\n")[:-1]:  # the last piece: "" or a line cut short
            tier, _, start = line.partition(" ")
            if tier in self.tiers and start.isdigit():
                keys.append((tier, int(start)))
        self._journal_lines = len(keys)
        return keys

    # -- recompute --------------------------------------------------------------------------
    def _raw_fields(self) -> list[str]:
        at, fields = self._fields
        if time.monotonic() - at > 60 or not fields:
            fields = [f for f in self.writer.float_fields(RAW_MEASUREMENT) if f in AGGREGATED]
            self._fields = (time.monotonic(), fields)
        return fields

    def _write(self, tier: str, lines: list[str]) -> None:
        for i in range(0, len(lines), WRITE_CHUNK):
            self.writer.write_lines("\n".join(lines[i : i + WRITE_CHUNK]).encode(), rp=AGG_RP)
        self.points += len(lines)

    def recompute_1m(self, span: Pending) -> int:
        """1-minute windows of the span from the raw rows (one query, reduced with numpy:
        cheaper for InfluxDB than ``GROUP BY time(1m)`` with 4 aggregates per field)."""
        fields = sorted(
            (span.quantities & AGGREGATED) if span.quantities is not None else self._raw_fields()
        )
        if not fields:
            return 0
        series_ids: dict[tuple[str, str], int] = {}
        sid, t, vals = fetch_raw(
            self.writer, fields, span.start_ms, span.end_ms, span.stations, series_ids
        )
        gsid, gwin, parts = reduce_raw("1m", sid, t, vals, fields)
        series = sorted(series_ids, key=series_ids.__getitem__)
        lines = aggregate_lines(TIERS["1m"][0], series, gsid, gwin, as_reduced(parts))
        self._write("1m", lines)
        return len(lines)

    def recompute_from_lower(self, span: Pending) -> int:
        lower = LOWER_TIER[span.tier]
        assert lower is not None
        q = (
            f'SELECT * FROM "{AGG_RP}"."{TIERS[lower][0]}" '
            f"WHERE {time_range(span.start_ms, span.end_ms)}{station_filter(span.stations)} "
            f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
        )
        measurement = TIERS[span.tier][0]
        lines: list[str] = []
        for series in _series(self.writer.query(q, timeout=120)):
            tags = series["tags"]
            key = [(tags[TAG_STATION], tags[TAG_SENSOR])]
            t, stored = lower_rows(series["values"], series["columns"])
            wins, stats = reduce_lower_rows(span.tier, t, stored)
            lines += aggregate_lines(
                measurement, key, np.zeros(len(wins), dtype=np.int64), wins, stats
            )
            if span.tier == "1d":
                # the same hourly rows, packed by day (same write, same days)
                lines += packed_day_lines(key, np.zeros(len(t), dtype=np.int64), t, stored)
        self._write(span.tier, lines)
        return len(lines)

    def recompute(self, pendings: Sequence[Pending]) -> None:
        """Recomputes windows, lower tiers first. Raises InfluxWriteError."""
        for tier in self.tiers:
            for span in spans([p for p in pendings if p.tier == tier]):
                if tier == "1m":
                    self.recompute_1m(span)
                else:
                    self.recompute_from_lower(span)
            self.windows[tier] += sum(1 for p in pendings if p.tier == tier)

    @property
    def lag(self) -> float:
        """While the writer drains a backlog (full batches), recomputes wait up to
        ``max_lag_s``: raw readings first, then the aggregates in fewer, larger queries."""
        return self.max_lag_s if time.monotonic() - self.backlog_at < 1.0 else 0.0

    def run_due(self) -> int:
        """Recomputes the due windows once; the number done. Failed windows are put back."""
        due = self.dirty.pop_due(self._clock() - self.lag)
        if not due:
            return 0
        self._in_progress = due
        t0 = time.monotonic()
        try:
            self.recompute(due)
        except InfluxWriteError:
            self.failures += 1
            self.dirty.requeue(due, self._clock())
            raise
        finally:
            self._in_progress = []
            self.busy_s += time.monotonic() - t0
        self.save_state(force=True)
        return len(due)

    def run(self, stop: threading.Event) -> None:
        """The rollup thread: recompute due windows until ``stop``; retries with backoff."""
        delay = 0.5
        failing = False
        while not stop.is_set():
            try:
                self.run_due()
                if failing:
                    log.info("aggregate windows are recomputed again")
                    failing = False
                delay = 0.5
            except InfluxWriteError as exc:
                if not failing:
                    log.warning("cannot recompute aggregates (%s); retrying", exc)
                    failing = True
                delay = min(delay * 2, 30)
            except Exception:  # a bug must not stop the rollups for good
                log.exception("rollup recompute failed")
                delay = min(delay * 2, 30)
            nxt = self.dirty.next_due()
            wait = delay
            if not failing and nxt is not None:
                wait = max(0.05, min(delay, nxt + self.lag - self._clock()))
            stop.wait(wait)
        with contextlib.suppress(OSError):
            self.save_state(force=True)


def _series(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for res in results for s in res.get("series", [])]
