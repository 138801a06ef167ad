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


# flags a reading may carry in these tests, and whether they leave it out of the means
# (the rule of docs/ingest.md "Aggregates", written again here independently)
FLAG_CHOICES = (("warmup",), ("clock_suspect",), ("humid",), ("warmup", "humid"))
EXCLUDING = {"warmup", "clock_suspect"}


def make_readings(seed: int = 7, hours: float = 40.0, step: float = 420.0) -> list[Reading]:
    rng = random.Random(seed)
    out = []
    for st in STATIONS:
        t = T0 + rng.uniform(0, step)
        while t < T0 + hours * 3600:
            # bursts of several readings in one minute, so minutes hold gaps too
            burst = 3 if rng.random() < 0.2 else 1
            for i in range(burst):
                flags = rng.choice(FLAG_CHOICES) if rng.random() < 0.15 else ()
                out.append(
                    Reading(
                        st,
                        "sds011",
                        round(t + 7 * i, 3),
                        {
                            "pm2_5": round(rng.uniform(0, 80), 1),
                            "pm10": round(rng.uniform(0, 150), 1),
                        },
                        flags=flags,
                    )
                )
            if rng.random() < 0.7:
                out.append(
                    Reading(st, "bme280", round(t, 3), {"humidity": round(rng.uniform(30, 99), 2)})
                )
            t += rng.uniform(step / 3, step)
    return out


def _weighted_median(gaps: list[tuple[float, float]]) -> float:
    gaps.sort()
    total = sum(w for _, w in gaps)
    cum = 0.0
    for g, w in gaps:
        cum += w
        if cum >= total / 2:
            return g
    raise AssertionError("no gap")


def expected_intervals(readings: list[Reading]) -> dict[tuple[str, str, int], float]:
    """(station, sensor, hour) -> the expected interval in seconds, by the documented rule:
    weighted median of the minutes' mean gaps (weight k − 1) and of the gaps between
    consecutive minutes with readings in the hour (weight 1); 145 s for a single reading."""
    minutes: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for r in readings:
        t = round(r.ts * 1000)
        minutes[(r.station, r.sensor, t - t % 60_000)].append(t)
    hours: dict[tuple[str, str, int], list[list[int]]] = defaultdict(list)
    for (st, sn, m), ts in sorted(minutes.items()):
        hours[(st, sn, m - m % 3_600_000)].append(sorted(set(ts)))
    out = {}
    for key, mins in hours.items():
        gaps: list[tuple[float, float]] = []
        for i, ts in enumerate(mins):
            if len(ts) >= 2:
                gaps.append(((ts[-1] - ts[0]) / (len(ts) - 1) / 1000, len(ts) - 1.0))
            if i:
                gaps.append(((ts[0] - mins[i - 1][-1]) / 1000, 1.0))
        out[key] = _weighted_median(gaps) if gaps else 145.0
    return out


def expected(
    readings: list[Reading], tier: str, packed: bool = False
) -> dict[tuple[str, str, int], dict[str, float]]:
    """Aggregates computed independently: flagged values (warm-up, suspect clock) left out
    and counted, the minute records, the interval and coverage of hours, the daily coverage
    (mean of the hourly ones over the hours of the day)."""
    groups: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    flagged: dict[tuple[str, str, int, str], int] = defaultdict(int)
    rows: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    for r in readings:
        t = round(r.ts * 1000)
        start = window_bounds_ms(tier, t)[0]
        rows[(r.station, r.sensor, start)].add(t)
        for q, v in r.values.items():
            if EXCLUDING.intersection(r.flags):
                flagged[(r.station, r.sensor, start, q)] += 1
                groups[(r.station, r.sensor, start, q)]
            else:
                groups[(r.station, r.sensor, start, q)].append(v)
    hourly = {} if tier in ("1m", "1h") else expected(readings, "1h")
    intervals = expected_intervals(readings)
    out: dict[tuple[str, str, int], dict[str, float]] = defaultdict(dict)
    for (st, sensor, start, q), vs in groups.items():
        f = out[(st, sensor, start)]
        if vs:
            f[f"{q}_mean"] = sum(vs) / len(vs)
            f[f"{q}_min"] = min(vs)
            f[f"{q}_max"] = max(vs)
        f[f"{q}_count"] = float(len(vs))
        f[f"{q}_flagged"] = float(flagged[(st, sensor, start, q)])
        if tier == "1h":
            f[f"{q}_coverage"] = min(1.0, len(vs) * intervals[(st, sensor, start)] / 3600)
        elif tier != "1m":
            end = window_bounds_ms(tier, start)[1]
            covs = [
                h.get(f"{q}_coverage", 0.0)
                for (hs, hn, ht), h in sorted(hourly.items())
                if (hs, hn) == (st, sensor) and start <= ht < end
            ]
            f[f"{q}_coverage"] = sum(covs) / ((end - start) / 3_600_000)
    for (st, sensor, start), ts in rows.items():
        f = out[(st, sensor, start)]
        if tier == "1m":
            f["readings_n"] = float(len(ts))
            f["first_ms"] = float(min(ts) - start)
            f["last_ms"] = float(max(ts) - start)
        elif tier == "1h" and not packed:
            f["interval_s"] = intervals[(st, sensor, start)]
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
    assert_same(fetch_packed(writer), expected(readings, "1h", packed=True))
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
    assert_same(fetch_packed(writer), expected([*readings, late], "1h", packed=True))


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
    assert_same(fetch_packed(writer), expected(readings, "1h", packed=True))
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
    want = {k: v for k, v in expected(readings, "1h", True).items() if k[0] == "lens-02"}
    assert_same(fetch_packed(writer), want)
