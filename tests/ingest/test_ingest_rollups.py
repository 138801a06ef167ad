"""Live rollups and the rebuild against a real influxd, checked against aggregates computed
independently in plain Python from the same readings (including a 25-hour Paris day).

The readings are written raw into a database with the default 400-day retention: they are
built around the latest Paris fall-back day that is at least three days old (tests/timeutil),
never at a fixed date the calendar would push out of the retention."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import pytest

from airq_core.readings import Reading
from airq_core.storage import AGG_RP, PACKED_1H_MEASUREMENT, PACKED_HOURS, TIERS, unpack_hours
from ingest.influx import InfluxWriter
from ingest.lineproto import encode_lines
from ingest.rebuild import rebuild
from ingest.rollup import Roller
from ingest.windows import DirtyWindows, window_bounds_ms
from tests.timeutil import day_start, last_dst_change, now

pytestmark = pytest.mark.services

FALL_DAY = last_dst_change("fall", now())  # a 25-hour day in Paris, at most ~a year old
# noon UTC the day before (10 h before the Paris midnight at UTC+2); 40 hours of readings span
# the whole fall-back day
T0 = day_start(FALL_DAY) - 10 * 3600
STATIONS = ("lens-01", "lens-02", "lievin-03")


def make_readings(seed: int = 7, hours: float = 40.0, step: float = 420.0) -> list[Reading]:
    rng = random.Random(seed)
    out = []
    for st in STATIONS:
        t = T0 + rng.uniform(0, step)
        while t < T0 + hours * 3600:
            out.append(
                Reading(
                    st,
                    "sds011",
                    round(t, 3),
                    {"pm2_5": round(rng.uniform(0, 80), 1), "pm10": round(rng.uniform(0, 150), 1)},
                )
            )
            if rng.random() < 0.7:
                out.append(
                    Reading(st, "bme280", round(t, 3), {"humidity": round(rng.uniform(30, 99), 2)})
                )
            t += rng.uniform(step / 3, step)
    return out


def expected(readings: list[Reading], tier: str) -> dict[tuple[str, str, int], dict[str, float]]:
    groups: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    for r in readings:
        start = window_bounds_ms(tier, round(r.ts * 1000))[0]
        for q, v in r.values.items():
            groups[(r.station, r.sensor, start, q)].append(v)
    out: dict[tuple[str, str, int], dict[str, float]] = defaultdict(dict)
    for (st, sensor, start, q), vs in groups.items():
        f = out[(st, sensor, start)]
        f[f"{q}_mean"] = sum(vs) / len(vs)
        f[f"{q}_min"] = min(vs)
        f[f"{q}_max"] = max(vs)
        f[f"{q}_count"] = float(len(vs))
    return dict(out)


def fetch(writer: InfluxWriter, tier: str) -> dict[tuple[str, str, int], dict[str, float]]:
    res = writer.query(f'SELECT * FROM "{AGG_RP}"."{TIERS[tier][0]}" GROUP BY "station", "sensor"')
    out = {}
    for series in res[0].get("series", []):
        cols = series["columns"]
        for row in series["values"]:
            key = (series["tags"]["station"], series["tags"]["sensor"], row[0])
            out[key] = {c: v for c, v in zip(cols[1:], row[1:], strict=True) if v is not None}
    return out


def fetch_packed(writer: InfluxWriter) -> dict[tuple[str, str, int], dict[str, float]]:
    """The hourly windows packed by day, unpacked with the storage contract's decoder, keyed
    like ``fetch(writer, "1h")``."""
    res = writer.query(f'SELECT * FROM "{AGG_RP}"."{PACKED_1H_MEASUREMENT}" GROUP BY *')
    out: dict[tuple[str, str, int], dict[str, float]] = defaultdict(dict)
    for series in res[0].get("series", []):
        st, sn = series["tags"]["station"], series["tags"]["sensor"]
        for row in series["values"]:
            day = row[0]
            assert day % 86_400_000 == 0  # one point per UTC day, at midnight
            for col, text in zip(series["columns"][1:], row[1:], strict=True):
                if text is None:
                    continue
                hours = unpack_hours(text)
                assert len(hours) == PACKED_HOURS
                for h, v in enumerate(hours):
                    if v is not None:
                        out[(st, sn, day + h * 3_600_000)][col] = v
    return dict(out)


def assert_same(got: dict, want: dict) -> None:  # type: ignore[type-arg]
    assert got.keys() == want.keys()
    for key, fields in want.items():
        assert got[key].keys() == fields.keys(), key
        for f, v in fields.items():
            assert math.isclose(got[key][f], v, rel_tol=1e-9, abs_tol=1e-9), (key, f)


@pytest.fixture
def writer(influxd, influx_db) -> Iterator[InfluxWriter]:  # type: ignore[no-untyped-def]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    yield w
    w.close()


def test_live_rollups_match_independent_aggregates_and_late_data_updates(writer) -> None:  # type: ignore[no-untyped-def]
    readings = make_readings()
    writer.write_lines(encode_lines(readings))
    far = T0 + 10 * 86400  # every window is closed
    roller = Roller(writer, DirtyWindows(grace=0, settle=0, stage=0), clock=lambda: far)
    roller.mark(readings, far - 100)
    assert roller.run_due() > 0 and len(roller.dirty) == 0
    for tier in TIERS:
        assert_same(fetch(writer, tier), expected(readings, tier))
    assert_same(fetch_packed(writer), expected(readings, "1h"))
    fall_start, fall_end = day_start(FALL_DAY), day_start(FALL_DAY + timedelta(days=1))
    assert fall_end - fall_start == 25 * 3600
    assert window_bounds_ms("1d_paris", round(fall_start * 1000) + 1) == (
        round(fall_start * 1000),
        round(fall_end * 1000),
    )
    paris_days = {k[2] for k in fetch(writer, "1d_paris")}
    assert round(fall_start * 1000) in paris_days

    # a late reading lands in an already aggregated window: its windows are recomputed
    late = Reading("lens-02", "sds011", T0 + 3 * 3600 + 1.5, {"pm2_5": 999.0, "pm10": 0.5})
    writer.write_lines(encode_lines([late]))
    roller.mark([late], far)
    assert roller.run_due() == 4  # 1m, 1h, 1d, 1d_paris
    for tier in TIERS:
        assert_same(fetch(writer, tier), expected([*readings, late], tier))
    assert_same(fetch_packed(writer), expected([*readings, late], "1h"))


def test_rebuild_recomputes_every_tier_from_raw(writer) -> None:  # type: ignore[no-untyped-def]
    readings = make_readings(seed=11)
    writer.write_lines(encode_lines(readings))
    # a stale aggregate that the rebuild must overwrite
    writer.write_lines(
        f"readings_1h,sensor=sds011,station=lens-01 pm2_5_mean=-1.0,pm2_5_count=1.0 "
        f"{window_bounds_ms('1h', round((T0 + 7200) * 1000))[0]}".encode(),
        rp=AGG_RP,
    )
    # 5-hour chunks: UTC days straddle chunks, each packed once its last chunk is done
    report = rebuild(writer, round(T0 * 1000), round((T0 + 40 * 3600) * 1000), chunk_hours=5)
    assert report.raw_points == len({(r.station, r.sensor, r.ts) for r in readings})
    for tier in TIERS:
        assert_same(fetch(writer, tier), expected(readings, tier))
    assert_same(fetch_packed(writer), expected(readings, "1h"))
    assert report.aggregate_points["1h_by_day"] == len(
        {(k[0], k[1], k[2] - k[2] % 86_400_000) for k in expected(readings, "1h")}
    )


def test_rebuild_of_one_station_leaves_the_others(writer) -> None:  # type: ignore[no-untyped-def]
    readings = make_readings(seed=5, hours=6)
    writer.write_lines(encode_lines(readings))
    rebuild(writer, round(T0 * 1000), round((T0 + 6 * 3600) * 1000), ["lens-02"], ["1h"])
    got = fetch(writer, "1h")
    want = {k: v for k, v in expected(readings, "1h").items() if k[0] == "lens-02"}
    assert_same(got, want)
    assert_same(fetch_packed(writer), want)
