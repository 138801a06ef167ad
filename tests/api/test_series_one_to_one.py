"""The one-to-one path (stored windows served as they are, built column-wise) gives exactly the
rows of the general streaming path, on the shared dataset in a real influxd."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from airq_core.readings import format_time
from api.influx import InfluxReader
from api.series_source import SeriesPlan, fetch_one_to_one, fetch_rows, is_one_to_one
from api.windows import plan_window

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

    general, fast = asyncio.run(both())
    assert len(general) >= 3  # three days at least
    expected = [
        {
            "time": format_time(t / 1000),
            "station": st,
            "sensor": sn,
            "quantity": q,
            **{a: vals.get(a) for a in aggs},
        }
        for t, st, sn, q, vals in general
    ]
    assert fast == expected


def test_paris_days_and_raw_are_not_one_to_one() -> None:
    paris = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("1d", "Europe/Paris"), ("mean",))
    raw = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("raw"), ())
    two_hours = SeriesPlan(("a",), ("pm2_5",), None, 0, 1, plan_window("2h"), ("mean",))
    assert not any(is_one_to_one(p) for p in (paris, raw, two_hours))
