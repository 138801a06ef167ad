"""Flags in the series answers: raw readings carry their ``flags`` in every format; those whose
flags exclude them from the aggregates (the rollups' rule, ``excludes_from_aggregates``) are
left out unless ``include_flagged=true``; informational flags (``humid``) are always served.
A real influxd holds the readings, written a few hours before now."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from airq_client import Client
from airq_core.storage import (
    PACKED_1H_MEASUREMENT,
    PACKED_HOURS,
    excludes_from_aggregates,
    pack_hours,
)
from ingest.influx import InfluxWriter

pytestmark = pytest.mark.services

HOUR_MS = 3_600_000
# (offset in the hour in ms, pm2_5, flags or None)
READINGS = [
    (60_000, 10.0, None),
    (120_000, 999.0, "warmup"),
    (180_000, 12.5, "humid"),
    (240_000, 555.0, "humid,clock_suspect"),
]


@pytest.fixture
def flagged(make_client, influxd, influx_db, series_registry_url):  # type: ignore[no-untyped-def]
    """(API client, hour start ms, query params) over the readings of ``READINGS``."""
    hour = (int(time.time() * 1000) // HOUR_MS - 3) * HOUR_MS
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database(raw_retention="INF")
    lines = []
    for off, v, flags in READINGS:
        extra = f',flags="{flags}"' if flags else ""
        lines.append(f"readings,sensor=sds011,station=lens-01 pm2_5={v!r}{extra} {hour + off}")
    w.write_lines("\n".join(lines).encode())
    w.close()
    params = {
        "station": "lens-01",
        "quantity": "pm2_5",
        "every": "raw",
        "start": str(hour / 1000),
        "end": str((hour + HOUR_MS) / 1000),
    }
    with make_client(db=influx_db, database_url=series_registry_url) as api:
        yield api, hour, params


def _expected(include_flagged: bool) -> list[tuple[float, str | None]]:
    return [
        (v, flags)
        for _, v, flags in READINGS
        if include_flagged or not excludes_from_aggregates(flags)
    ]


def _pairs(df: pd.DataFrame) -> list[tuple[float, str | None]]:
    flags = df["flags"].astype(object).where(df["flags"].notna(), None)
    return [(float(v), f or None) for v, f in zip(df["value"], flags, strict=True)]


@pytest.mark.parametrize("include_flagged", [False, True])
def test_raw_rows_carry_flags_and_leave_out_excluded_ones(
    flagged: Any, include_flagged: bool
) -> None:
    api, _, params = flagged
    if include_flagged:
        params = {**params, "include_flagged": "true"}
    want = _expected(include_flagged)
    # the rule of the rollups: warmup and clock_suspect out, humid alone kept
    assert [v for v, _ in want] == ([10.0, 999.0, 12.5, 555.0] if include_flagged else [10.0, 12.5])

    js = api.get("/v1/series", params=params)
    assert js.status_code == 200, js.text
    body = js.json()
    assert body["columns"] == ["time", "station", "sensor", "quantity", "value", "flags"]
    assert [(p["value"], p["flags"]) for p in body["points"]] == want
    assert body["licence"]["query"]["include_flagged"] is include_flagged

    one = api.get("/v1/stations/lens-01/series", params=params)
    assert [(p["value"], p["flags"]) for p in one.json()["points"]] == want

    csv = api.get("/v1/series", params={**params, "format": "csv"})
    assert csv.status_code == 200, csv.text
    df = pd.read_csv(io.StringIO(csv.text), comment="#", keep_default_na=False)
    assert list(df.columns) == ["time", "station", "sensor", "quantity", "value", "flags"]
    assert [(float(v), f or None) for v, f in zip(df["value"], df["flags"], strict=True)] == want

    pq_resp = api.get("/v1/series", params={**params, "format": "parquet"})
    assert pq_resp.status_code == 200, pq_resp.text
    table = pq.read_table(io.BytesIO(pq_resp.content))
    assert str(table.schema.field("flags").type) == "string"
    assert _pairs(table.to_pandas()) == want


def test_client_and_pull_pass_include_flagged(flagged: Any, tmp_path: Path) -> None:
    from airq.cli import main

    api, _, params = flagged
    base = str(api.base_url)
    with Client(base) as c:
        kw = {k: v for k, v in params.items() if k not in ("station", "quantity")}
        df = c.series("lens-01", "pm2_5", **kw)
        assert _pairs(df) == _expected(False)
        df = c.series("lens-01", "pm2_5", include_flagged=True, **kw)
        assert _pairs(df) == _expected(True)

    out = tmp_path / "flags.csv"
    args = ["pull", "--api", base, "--station", "lens-01", "-q", "pm2_5", "--every", "raw"]
    args += ["--start", params["start"], "--end", params["end"], "-o", str(out)]
    assert main([*args, "--include-flagged"]) == 0
    df = pd.read_csv(out, comment="#", keep_default_na=False)
    assert [(float(v), f or None) for v, f in zip(df["value"], df["flags"], strict=True)] == (
        _expected(True)
    )


def test_include_flagged_is_refused_for_windows(flagged: Any) -> None:
    api, _, params = flagged
    r = api.get("/v1/series", params={**params, "every": "1h", "include_flagged": "true"})
    assert r.status_code == 400 and "every=raw" in r.text


def test_median_from_raw_leaves_excluded_readings_out(flagged: Any) -> None:
    api, _, params = flagged
    r = api.get("/v1/series", params={**params, "every": "1h", "agg": "median,max,count"})
    assert r.status_code == 200, r.text
    (p,) = r.json()["points"]
    assert (p["median"], p["max"], p["count"]) == (11.25, 12.5, 2)
    # computed from raw readings: the excluded ones are counted, the coverage is not known
    assert (p["n"], p["n_flagged"], p["coverage"]) == (2, 2, None)


@pytest.fixture
def windows(make_client, influxd, influx_db, series_registry_url):  # type: ignore[no-untyped-def]
    """(API client, first hour ms, day ms) over stored windows with and without their
    quality fields (n, n_flagged, coverage), a few hours before now."""
    two_h = 2 * HOUR_MS
    hour = (int(time.time() * 1000) - 8 * HOUR_MS) // two_h * two_h
    day = (int(time.time() * 1000) // 86_400_000 - 2) * 86_400_000
    head = "sensor=sds011,station=lens-01"
    lines_1h = [
        f"readings_1h,{head} pm2_5_mean=11.0,pm2_5_min=9.0,pm2_5_max=14.0,pm2_5_count=40.0,"
        f"pm2_5_flagged=3.0,pm2_5_coverage=0.8 {hour}",
        f"readings_1h,{head} pm2_5_mean=12.0,pm2_5_min=10.0,pm2_5_max=13.0,pm2_5_count=20.0,"
        f"pm2_5_flagged=0.0,pm2_5_coverage=0.5 {hour + HOUR_MS}",
        # written before the quality fields existed: n known, the rest unknown
        f"readings_1h,{head} pm2_5_mean=13.0,pm2_5_min=12.0,pm2_5_max=15.0,pm2_5_count=10.0 "
        f"{hour + 2 * HOUR_MS}",
        f"readings_1m,{head} pm2_5_mean=11.0,pm2_5_min=10.0,pm2_5_max=12.0,pm2_5_count=5.0,"
        f"pm2_5_flagged=1.0 {hour}",
        f"readings_1d,{head} pm2_5_mean=10.5,pm2_5_min=3.0,pm2_5_max=40.0,pm2_5_count=900.0,"
        f"pm2_5_flagged=17.0,pm2_5_coverage=0.9 {day}",
    ]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database(raw_retention="INF")
    w.write_lines("\n".join(lines_1h).encode(), rp="agg")
    w.close()
    with make_client(db=influx_db, database_url=series_registry_url) as api:
        yield api, hour, day


def _quality(api: Any, params: dict[str, str], fmt: str) -> list[tuple[Any, ...]]:
    r = api.get("/v1/series", params={**params, "format": fmt})
    assert r.status_code == 200, r.text
    if fmt == "json":
        body = r.json()
        assert body["columns"][-3:] == ["n", "n_flagged", "coverage"]
        df = pd.DataFrame(body["points"])
    elif fmt == "csv":
        df = pd.read_csv(io.StringIO(r.text), comment="#")
    else:
        table = pq.read_table(io.BytesIO(r.content))
        assert [str(table.schema.field(c).type) for c in ("n", "n_flagged", "coverage")] == [
            "int64",
            "int64",
            "double",
        ]
        df = table.to_pandas()
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in df[["mean", "n", "n_flagged", "coverage"]].itertuples(index=False)
    ]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_windows_carry_n_n_flagged_and_coverage(windows: Any, fmt: str) -> None:
    api, hour, day = windows
    span = {"station": "lens-01", "quantity": "pm2_5", "agg": "mean"}
    hours = {**span, "start": str(hour / 1000), "end": str((hour + 4 * HOUR_MS) / 1000)}
    # stored hours one to one, then combined two by two (coverage: the mean over the hours)
    assert _quality(api, {**hours, "every": "1h"}, fmt) == [
        (11.0, 40, 3, 0.8),
        (12.0, 20, 0, 0.5),
        (13.0, 10, None, None),
    ]
    got = _quality(api, {**hours, "every": "2h"}, fmt)
    assert got[0][:3] == (pytest.approx(34 / 3), 60, 3) and got[0][3] == pytest.approx(0.65)
    assert got[1] == (13.0, 10, None, None)
    # 1-minute windows store no coverage
    minute = {**span, "start": str(hour / 1000), "end": str((hour + 60_000) / 1000)}
    assert _quality(api, {**minute, "every": "1m"}, fmt) == [(11.0, 5, 1, None)]
    days = {**span, "start": str(day / 1000), "end": str((day + 86_400_000) / 1000)}
    assert _quality(api, {**days, "every": "1d"}, fmt) == [(10.5, 900, 17, 0.9)]


def test_hourly_windows_from_packed_days_carry_their_quality(
    make_client: Any, influxd: Any, influx_db: str, series_registry_url: str
) -> None:
    """Hourly windows over days read from the days packed by the ingest (no readings_1h
    there: the packed days alone can answer) carry n_flagged and coverage too."""
    day = (int(time.time() * 1000) // 86_400_000 - 5) * 86_400_000
    head = "sensor=sds011,station=lens-01"

    def packed(v: float) -> str:
        return pack_hours([v if h == 5 else None for h in range(PACKED_HOURS)])

    fields = {"mean": 8.0, "min": 6.0, "max": 9.0, "count": 30.0, "flagged": 4.0}
    fields["coverage"] = 0.6
    packed_line = ",".join(f'pm2_5_{k}="{packed(v)}"' for k, v in fields.items())
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database(raw_retention="INF")
    w.write_lines(
        (
            f"{PACKED_1H_MEASUREMENT},{head} {packed_line} {day}\n"
            f"readings_1d,{head} pm2_5_mean=8.0,pm2_5_min=6.0,pm2_5_max=9.0,pm2_5_count=30.0,"
            f"pm2_5_flagged=4.0,pm2_5_coverage=0.025 {day}"
        ).encode(),
        rp="agg",
    )
    w.close()
    params = {
        "station": "lens-01",
        "quantity": "pm2_5",
        "every": "1h",
        "agg": "mean,max",
        "start": str(day / 1000),
        "end": str((day + 2 * 86_400_000) / 1000),
    }
    with make_client(db=influx_db, database_url=series_registry_url) as api:
        for fmt in ("json", "csv", "parquet"):
            assert _quality(api, params, fmt) == [(8.0, 30, 4, 0.6)], fmt
