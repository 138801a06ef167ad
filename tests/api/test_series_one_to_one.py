"""The one-to-one path (stored windows served as they are, built column-wise) gives exactly the
rows of the general streaming path, on the shared dataset in a real influxd."""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import uuid

import orjson
import pandas as pd
import pytest

from airq_core.readings import format_time
from api.exports import csv_body, csv_stream, parquet_body, parquet_stream, provenance
from api.influx import InfluxReader
from api.series_source import (
    ContentCache,
    NotPacked,
    SeriesPlan,
    fetch_hourly_packed,
    fetch_one_to_one,
    fetch_one_to_one_file,
    fetch_rows,
    is_one_to_one,
)
from api.windows import plan_window
from ingest.influx import InfluxWriter
from tests.api.series_data import Dataset, packed_lines, tier_lines, write_dataset

CASES = [
    (("lens-01",), ("pm2_5",), ("mean",)),
    (("lens-01", "lille-02"), ("pm2_5", "pm10"), ("mean", "min", "max", "count")),
    (("lille-02",), ("temperature", "pm10"), ("count", "max")),
]


@pytest.mark.parametrize(("every", "selection"), list(itertools.product(["1m", "1h", "1d"], CASES)))
def test_one_to_one_equals_the_general_path(influxd, series_db, dataset, every, selection):
    stations, quantities, aggs = selection
    window = plan_window(every, "UTC")
    start = int(dataset.raw.time.min().floor("D").timestamp() * 1000)
    plan = SeriesPlan(stations, quantities, None, start, start + 3 * 86_400_000, window, aggs)
    assert is_one_to_one(plan)

    async def both():  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, series_db)
        try:
            general = [r async for r in fetch_rows(reader, plan)]
            fast = await fetch_one_to_one(reader, plan)
        finally:
            await reader.aclose()
        return general, fast

    general, fast_json = asyncio.run(both())
    fast = orjson.loads(b"[" + fast_json + b"]")
    assert len(general) >= 3  # three days at least
    expected = [
        {
            "time": format_time(t / 1000),
            "station": st,
            "sensor": sn,
            "quantity": q,
            **{a: vals.get(a) for a in plan.columns},
        }
        for t, st, sn, q, vals in general
    ]
    assert fast == expected


def test_paris_days_and_raw_are_not_one_to_one() -> None:
    paris = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("1d", "Europe/Paris"), ("mean",))
    raw = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("raw"), ())
    two_hours = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("2h"), ("mean",))
    assert not any(is_one_to_one(p) for p in (paris, raw, two_hours))


DAY_MS = 86_400_000


def _general_and_packed(url: str, db: str, plan: SeriesPlan):  # type: ignore[no-untyped-def]
    async def both():  # type: ignore[no-untyped-def]
        reader = InfluxReader(url, db)
        try:
            general = [r async for r in fetch_rows(reader, plan)]
            fast = await fetch_one_to_one(reader, plan)
            blocks = await fetch_hourly_packed(reader, plan)
        finally:
            await reader.aclose()
        return general, orjson.loads(b"[" + fast + b"]"), blocks

    general, fast, blocks = asyncio.run(both())
    expected = [
        {"time": format_time(t / 1000), "station": st, "sensor": sn, "quantity": q, **v}
        for t, st, sn, q, v in general
    ]
    return expected, fast, blocks


def _hourly_plan(dataset, stations, quantities, aggs, start_shift_h=0, end_shift_h=0):  # type: ignore[no-untyped-def]
    start = int(dataset.raw.time.min().floor("D").timestamp() * 1000) + start_shift_h * 3_600_000
    end = int(dataset.raw.time.max().ceil("D").timestamp() * 1000) + end_shift_h * 3_600_000
    return SeriesPlan(stations, quantities, None, start, end, plan_window("1h", "UTC"), aggs)


@pytest.mark.parametrize(
    ("stations", "quantities", "aggs", "shifts"),
    [
        (("lens-01",), ("pm2_5",), ("mean",), (0, 0)),
        (("lens-01", "lille-02"), ("pm2_5", "temperature"), ("count", "mean", "max"), (5, -7)),
        (("lille-02",), ("pm10",), ("min",), (13, 0)),
    ],
)
def test_hourly_windows_from_packed_days_equal_the_hourly_tier(
    influxd, series_db, dataset, stations, quantities, aggs, shifts
) -> None:  # type: ignore[no-untyped-def]
    """Every day of the dataset is packed: the answer comes from the packed days alone
    (periods cut inside days at both ends), and equals the general path over readings_1h."""
    plan = _hourly_plan(dataset, stations, quantities, aggs, *shifts)
    expected, fast, blocks = _general_and_packed(influxd.url, series_db, plan)
    assert len(expected) > 48
    assert fast == expected
    assert {b[0][0] for b in blocks} == set(stations)


@pytest.mark.parametrize("unpacked_days", [2, 3])
def test_days_not_packed_yet_come_from_the_hourly_tier(influxd, dataset, unpacked_days) -> None:  # type: ignore[no-untyped-def]
    """The sds011 series lack their last days, packed and daily windows alike (the daily
    recompute has not run for them yet): those hours are read from readings_1h — in the same
    request when they are within the tail read with the packed days (2 days), with a second
    request before it otherwise. Only an answer read in one request is kept whole."""
    last_day = int(dataset.raw.time.max().floor("D").timestamp() * 1000)
    first_unpacked = last_day - (unpacked_days - 1) * DAY_MS

    def skip(station: str, sensor: str, day: int) -> bool:
        return sensor == "sds011" and day >= first_unpacked

    db = f"partly_packed_{uuid.uuid4().hex[:8]}"
    write_dataset(influxd.url, db, dataset, skip_packed=skip)
    w = InfluxWriter(influxd.url, db)
    w.query(
        f'DELETE FROM "readings_1d" WHERE "sensor" = \'sds011\' '
        f"AND time >= {first_unpacked * 1_000_000}"
    )
    w.close()
    plan = _hourly_plan(dataset, ("lens-01", "lille-02"), ("pm2_5", "humidity"), ("mean", "count"))
    expected, fast, blocks = _general_and_packed(influxd.url, db, plan)
    assert {p["station"] for p in expected} == {"lens-01", "lille-02"}
    assert fast == expected
    assert len(blocks) == 3  # lens-01 bme280 and sds011, lille-02 sds011
    late = [p for p in fast if p["time"] >= format_time(first_unpacked / 1000)]
    assert {p["sensor"] for p in late} == {"sds011", "bme280"}

    cache = ContentCache(max_bytes=2**24)

    async def twice():  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, db)
        try:
            return [await fetch_one_to_one(reader, plan, cache) for _ in range(2)]
        finally:
            await reader.aclose()

    a, b = asyncio.run(twice())
    assert orjson.loads(b"[" + a + b"]") == expected and b == a
    one_request = unpacked_days <= 2
    assert cache.hits["json"] == (1 if one_request else 0)


def test_data_older_than_the_packed_tier_is_read_from_the_hourly_tier(influxd, dataset) -> None:  # type: ignore[no-untyped-def]
    """lille-02 has daily windows but no packed day (written before the packed tier existed):
    the packed read notices it and the hourly tier answers."""
    db = f"unpacked_{uuid.uuid4().hex[:8]}"
    write_dataset(influxd.url, db, dataset, skip_packed=lambda st, sn, day: st == "lille-02")
    plan = _hourly_plan(dataset, ("lens-01", "lille-02"), ("pm10",), ("mean",))

    cache = ContentCache(max_bytes=2**24)

    async def read():  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, db)
        try:
            with pytest.raises(NotPacked, match="lille-02"):
                await fetch_hourly_packed(reader, plan)
            general = [r async for r in fetch_rows(reader, plan)]
            fast = await fetch_one_to_one(reader, plan, cache)
            assert await fetch_one_to_one(reader, plan, cache) == fast
            return general, fast
        finally:
            await reader.aclose()

    general, fast = asyncio.run(read())
    # the packed answer did not suffice (a second request): the whole answer is not kept,
    # since what the second request read is not in its key
    assert not cache.hits["json"] and cache.misses["json"] == 2
    assert {r[1] for r in general} == {"lens-01", "lille-02"}
    assert orjson.loads(b"[" + fast + b"]") == [
        {"time": format_time(t / 1000), "station": st, "sensor": sn, "quantity": q, **v}
        for t, st, sn, q, v in general
    ]


def test_a_corrupt_packed_day_falls_back_to_the_hourly_tier(influxd, dataset, caplog) -> None:  # type: ignore[no-untyped-def]
    db = f"corrupt_packed_{uuid.uuid4().hex[:8]}"
    write_dataset(influxd.url, db, dataset)
    day = int(dataset.raw.time.min().floor("D").timestamp() * 1000) + DAY_MS
    w = InfluxWriter(influxd.url, db)
    w.write_lines(
        f'readings_1h_by_day,sensor=sds011,station=lens-01 pm2_5_mean="not base64!" {day}'.encode(),
        rp="agg",
    )
    w.close()
    plan = _hourly_plan(dataset, ("lens-01",), ("pm2_5",), ("mean",))

    async def read():  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, db)
        try:
            with pytest.raises(ValueError, match="packed pm2_5_mean"):
                await fetch_hourly_packed(reader, plan)
            general = [r async for r in fetch_rows(reader, plan)]
            return general, await fetch_one_to_one(reader, plan)
        finally:
            await reader.aclose()

    with caplog.at_level(logging.WARNING, logger="api.series_source"):
        general, fast = asyncio.run(read())
    assert len(general) > 48
    assert orjson.loads(b"[" + fast + b"]") == [
        {"time": format_time(t / 1000), "station": st, "sensor": sn, "quantity": q, **v}
        for t, st, sn, q, v in general
    ]
    assert "packed hourly days unreadable" in caplog.text


def test_content_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = ContentCache(max_bytes=4000)
    keys = [("day", ("s", "x"), ("pm2_5",), ("mean",), d, ("A" * 256,)) for d in range(6)]
    for k in keys[:4]:
        cache.put(k, b"x" * 400, 900)  # 4 fit
    assert len(cache) == 4
    assert cache.get(keys[0]) == b"x" * 400  # keys[0] is now the most recently used
    cache.put(keys[4], b"y" * 400, 900)
    assert cache.size <= 4000 and len(cache) == 4
    assert cache.get(keys[1]) is None  # the least recently used went
    assert cache.get(keys[0]) is not None and cache.get(keys[4]) is not None
    cache.put(keys[5], b"z" * 1000, 1200)  # more than a quarter of the budget: not kept
    assert cache.get(keys[5]) is None and len(cache) == 4
    assert cache.hits["day"] == 3 and cache.misses["day"] == 2


def test_cached_days_give_the_same_answer_and_late_data_is_seen(influxd, dataset) -> None:  # type: ignore[no-untyped-def]
    db = f"cached_{uuid.uuid4().hex[:8]}"
    write_dataset(influxd.url, db, dataset)
    plan = _hourly_plan(
        dataset, ("lens-01", "lille-02"), ("pm2_5", "temperature"), ("mean", "max"), 3
    )
    cache = ContentCache(max_bytes=2**24)

    async def read():  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, db)
        try:
            general = [r async for r in fetch_rows(reader, plan)]
            return general, await fetch_one_to_one(reader, plan, cache)
        finally:
            await reader.aclose()

    builds: list[int] = []

    def build(rows):  # type: ignore[no-untyped-def]
        builds.append(len(rows.times))
        return parquet_body(rows.times, rows.label_of, rows.labels, rows.columns, prov)

    prov = provenance([], "none", {"test": "cached"})

    async def parquet(variant: str = "parquet"):  # type: ignore[no-untyped-def]
        reader = InfluxReader(influxd.url, db)
        try:
            return await fetch_one_to_one_file(reader, plan, build, variant, cache)
        finally:
            await reader.aclose()

    def expected(general):  # type: ignore[no-untyped-def]
        return [
            {"time": format_time(t / 1000), "station": st, "sensor": sn, "quantity": q, **v}
            for t, st, sn, q, v in general
        ]

    general, first = asyncio.run(read())
    assert orjson.loads(b"[" + first + b"]") == expected(general)
    whole_days = cache.misses["day"]  # 3 series × whole days inside the period, encoded
    assert whole_days >= 9 and not cache.hits and cache.misses["json"] == 1
    assert len(cache) == whole_days + 1  # and the whole answer
    _, second = asyncio.run(read())  # the same answer from InfluxDB: the same points
    assert second == first and cache.hits == {"json": 1}
    first_file = asyncio.run(parquet())
    assert asyncio.run(parquet()) is first_file and len(builds) == 1  # built once
    assert asyncio.run(parquet("another licence text")) == first_file and len(builds) == 2
    assert cache.hits["file"] == 1

    # a late reading changes one hour of lens-01's pm2_5: its day is packed again
    late_time = dataset.raw.time.min().floor("D") + pd.Timedelta(days=1, hours=5, minutes=7)
    row = {"time": late_time, "station": "lens-01", "sensor": "sds011", "quantity": "pm2_5"}
    late = Dataset(
        pd.concat(
            [dataset.raw, pd.DataFrame([{**row, "value": 500.0, "ms": late_time.value // 10**6}])]
        )
    )
    w = InfluxWriter(influxd.url, db)
    for lines in (tier_lines(late, "1h"), packed_lines(late)):
        w.write_lines("\n".join(lines).encode(), rp="agg")
    w.close()
    general, third = asyncio.run(read())
    got = orjson.loads(b"[" + third + b"]")
    assert got == expected(general) and got != orjson.loads(b"[" + first + b"]")
    assert max(p["max"] for p in got if p["quantity"] == "pm2_5") == 500.0
    # a new answer from InfluxDB: built again, from every cached day but the changed one
    assert cache.hits == {"json": 1, "file": 1, "day": whole_days - 1}
    late_file = pd.read_parquet(io.BytesIO(asyncio.run(parquet())))
    assert len(builds) == 3 and late_file["max"].max() == 500.0


def _streamed_and_built(url: str, db: str, dataset, every: str, selection, stream, build):  # type: ignore[no-untyped-def]
    """The same export through the streamed path and built in memory from the one-to-one
    rows."""
    stations, quantities, aggs = selection
    start = int(dataset.raw.time.min().floor("D").timestamp() * 1000)
    plan = SeriesPlan(
        stations, quantities, None, start, start + 4 * DAY_MS, plan_window(every, "UTC"), aggs
    )
    prov = provenance([], "humidity", {"test": every})

    async def both():  # type: ignore[no-untyped-def]
        reader = InfluxReader(url, db)
        try:
            streamed = b"".join(
                [p async for p in stream(fetch_rows(reader, plan), plan.columns, prov, "UTC")]
            )
            built = await fetch_one_to_one_file(reader, plan, build_rows, "test")
        finally:
            await reader.aclose()
        return streamed, built

    def build_rows(rows):  # type: ignore[no-untyped-def]
        assert rows is not None
        return build(rows.times, rows.label_of, rows.labels, rows.columns, prov)

    return asyncio.run(both())


@pytest.mark.parametrize(("every", "selection"), list(itertools.product(["1h", "1d"], CASES)))
def test_parquet_built_column_wise_equals_the_streamed_file(
    influxd, series_db, dataset, every, selection
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    streamed, built = _streamed_and_built(
        influxd.url, series_db, dataset, every, selection, parquet_stream, parquet_body
    )
    a, b = pq.read_table(io.BytesIO(streamed)), pq.read_table(io.BytesIO(built))
    assert a.num_rows > 3
    assert b.schema.equals(a.schema, check_metadata=True)
    assert b.to_pylist() == a.to_pylist()


@pytest.mark.parametrize(("every", "selection"), list(itertools.product(["1h", "1d"], CASES)))
def test_csv_built_column_wise_equals_the_streamed_text(
    influxd, series_db, dataset, every, selection
) -> None:  # type: ignore[no-untyped-def]
    streamed, built = _streamed_and_built(
        influxd.url, series_db, dataset, every, selection, csv_stream, csv_body
    )
    a, b = streamed.decode().splitlines(), built.decode().splitlines()
    assert len(a) >= 9 and len(b) == len(a)  # comment lines, the header, and rows
    head = next(i for i, line in enumerate(a) if line.startswith("time,"))
    assert b[: head + 1] == a[: head + 1]
    # the same cells, numbers as numbers: the streamed path reads InfluxDB's JSON, where a
    # whole float comes back as an integer (31 for 31.0); the built file writes 31.0
    for x, y in zip(a[head + 1 :], b[head + 1 :], strict=True):
        xs, ys = x.split(","), y.split(",")
        assert ys[:4] == xs[:4]
        assert [float(v) if v else None for v in ys[4:]] == [
            float(v) if v else None for v in xs[4:]
        ]
