"""Test data for the series endpoints: random raw readings, and the aggregate tiers computed
from them with pandas exactly as the storage contract says (``airq_core.storage``), written
into a real influxd. Expected answers are computed with pandas/numpy straight from the raw
readings, never through the code under test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from airq_core.storage import (
    AGG_RP,
    PACKED_1H_MEASUREMENT,
    PACKED_HOURS,
    RAW_MEASUREMENT,
    RAW_RP,
    TIERS,
    agg_field,
    pack_hours,
)
from ingest.influx import InfluxWriter

PARIS = "Europe/Paris"
# Includes the spring-forward night of 2026-03-29 (a 23-hour civil day in Paris).
# Fixed dates the calendar cannot overtake: write_dataset keeps raw readings and aggregates
# forever (retention INF, set by the test), nothing passes through the ingest's max-age check,
# and the API sets no age limit on what it reads. What the API compares with the real clock
# (a station is "active" when seen within 24 h; the last two days are read from readings_1h
# rather than packed days) sees this week as long past, as the tests expect, every year.
T0 = pd.Timestamp("2026-03-27T20:00:00Z")
T1 = pd.Timestamp("2026-03-31T04:00:00Z")
SERIES = [("lens-01", "sds011"), ("lens-01", "bme280"), ("lille-02", "sds011")]
QUANTITIES = {"sds011": ("pm2_5", "pm10"), "bme280": ("temperature", "humidity")}


@dataclass
class Dataset:
    raw: pd.DataFrame  # columns: time (UTC), station, sensor, quantity, value

    def select(self, stations, quantities, start, end) -> pd.DataFrame:
        r = self.raw
        m = (
            r.station.isin(stations)
            & r.quantity.isin(quantities)
            & (r.time >= start)
            & (r.time < end)
        )
        return r[m]


def make_raw(seed: int = 7) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = []
    for station, sensor in SERIES:
        n = int((T1 - T0).total_seconds() / 50)
        gaps = rng.uniform(20, 80, n).cumsum()
        t_s = T0.timestamp() + gaps[gaps < (T1 - T0).total_seconds()]
        t_ms = np.round(t_s * 1000).astype("int64")
        for q in QUANTITIES[sensor]:
            base = {"pm2_5": 9, "pm10": 17, "temperature": 11, "humidity": 70}[q]
            v = np.round(base + rng.gamma(2.0, 3.0, len(t_ms)) - 3, 2)
            keep = rng.uniform(size=len(t_ms)) > 0.05  # each quantity has its own holes
            for t, x in zip(t_ms[keep], v[keep], strict=True):
                rows.append((int(t), station, sensor, q, float(x)))
    df = pd.DataFrame(rows, columns=["ms", "station", "sensor", "quantity", "value"])
    df["time"] = pd.to_datetime(df.ms, unit="ms", utc=True)
    return Dataset(df)


def raw_lines(ds: Dataset) -> list[str]:
    wide = ds.raw.pivot_table(
        index=["station", "sensor", "ms"], columns="quantity", values="value", aggfunc="first"
    )
    lines = []
    for (station, sensor, ms), row in wide.iterrows():
        fields = ",".join(f"{q}={v!r}" for q, v in row.items() if not pd.isna(v))
        lines.append(f"{RAW_MEASUREMENT},sensor={sensor},station={station} {fields} {ms}")
    return lines


def window_starts(times: pd.Series, tier: str) -> pd.Series:
    if tier == "1d_paris":
        return times.dt.tz_convert(PARIS).dt.normalize().dt.tz_convert("UTC")
    return times.dt.floor(f"{TIERS[tier][1]}s")


def tier_lines(ds: Dataset, tier: str) -> list[str]:
    r = ds.raw.assign(w=window_starts(ds.raw.time, tier))
    g = r.groupby(["station", "sensor", "w", "quantity"]).value.agg(["mean", "min", "max", "count"])
    wide = g.unstack("quantity")  # columns: (stat, quantity)
    measurement = TIERS[tier][0]
    lines = []
    for (station, sensor, w), row in zip(wide.index, wide.itertuples(index=False), strict=True):
        fields = [
            f"{agg_field(q, stat)}={float(v)!r}"
            for (stat, q), v in zip(wide.columns, row, strict=True)
            if not pd.isna(v)
        ]
        ms = int(w.timestamp() * 1000)
        lines.append(f"{measurement},sensor={sensor},station={station} {','.join(fields)} {ms}")
    return lines


SkipDay = Callable[[str, str, int], bool]


def packed_lines(ds: Dataset, skip: SkipDay | None = None) -> list[str]:
    """The hourly windows packed by UTC day (storage contract), with ``pack_hours``; ``skip``
    leaves days out (days the ingest has not packed yet)."""
    r = ds.raw.assign(w=window_starts(ds.raw.time, "1h"))
    g = r.groupby(["station", "sensor", "w", "quantity"]).value.agg(["mean", "min", "max", "count"])
    days: dict[tuple[str, str, int], dict[str, list[float | None]]] = {}
    for (station, sensor, w, q), row in g.iterrows():
        ms = int(w.timestamp() * 1000)
        day = ms - ms % 86_400_000
        fields = days.setdefault((station, sensor, day), {})
        for stat in ("mean", "min", "max", "count"):
            slots = fields.setdefault(agg_field(q, stat), [None] * PACKED_HOURS)
            slots[(ms - day) // 3_600_000] = float(row[stat])
    return [
        f"{PACKED_1H_MEASUREMENT},sensor={sensor},station={station} "
        + ",".join(f'{f}="{pack_hours(v)}"' for f, v in sorted(fields.items()))
        + f" {day}"
        for (station, sensor, day), fields in sorted(days.items())
        if skip is None or not skip(station, sensor, day)
    ]


def write_dataset(
    url: str,
    db: str,
    ds: Dataset,
    tiers: tuple[str, ...] = tuple(TIERS),
    skip_packed: SkipDay | None = None,
) -> None:
    """Raw readings, the tiers, and (with ``1h``) the hourly windows packed by day."""
    w = InfluxWriter(url, db)
    try:
        w.ensure_database(raw_retention="INF")
        _write(w, raw_lines(ds), RAW_RP)
        for tier in tiers:
            _write(w, tier_lines(ds, tier), AGG_RP)
        if "1h" in tiers:
            _write(w, packed_lines(ds, skip_packed), AGG_RP)
    finally:
        w.close()


def _write(w: InfluxWriter, lines: list[str], rp: str) -> None:
    for i in range(0, len(lines), 5000):
        w.write_lines("\n".join(lines[i : i + 5000]).encode(), rp=rp)


def expected_windows(
    ds: Dataset,
    stations,
    quantities,
    start: pd.Timestamp,
    end: pd.Timestamp,
    every: str,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Windows straight from raw readings: mean, min, max, count, median, p95 (numpy)."""
    sel = ds.select(stations, quantities, start, end).copy()
    seconds = pd.Timedelta(every.replace("d", "D")).total_seconds()
    if tz == "UTC":
        sel["w"] = sel.time.dt.floor(f"{int(seconds)}s")
    else:
        days = int(seconds // 86400)
        local = sel.time.dt.tz_convert(tz)
        ordinal = (local.dt.tz_localize(None).dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
        first = ordinal // days * days
        sel["w"] = (
            (pd.Timestamp("1970-01-01") + pd.to_timedelta(first, unit="D"))
            .dt.tz_localize(tz)
            .dt.tz_convert("UTC")
        )
    g = sel.groupby(["station", "sensor", "quantity", "w"]).value
    out = pd.DataFrame(
        {
            "mean": g.mean(),
            "min": g.min(),
            "max": g.max(),
            "count": g.count(),
            "median": g.median(),
            "p95": g.agg(lambda v: float(np.percentile(v, 95))),
        }
    ).reset_index()
    return out.rename(columns={"w": "time"})
