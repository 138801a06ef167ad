"""The paths of a series format give the same bytes (issue 16): the JSON document built from
stored windows and the JSON stream, the CSV file built column-wise and the CSV stream, for the
same rows; InfluxDB answers the stream in JSON (31 for the float 31.0) and the one-to-one reads
in MessagePack (31.0): the shared row encoders of ``api.exports`` type each column alike."""

from __future__ import annotations

import asyncio
import re

import pytest

from api.exports import csv_body, csv_stream, json_body, json_stream, provenance
from api.influx import InfluxReader
from api.series_source import SeriesPlan, fetch_one_to_one, fetch_one_to_one_file, fetch_rows
from api.windows import plan_window
from tests.api.api_server import ADMIN_TOKEN
from tests.api.series_data import T0, T1

pytestmark = pytest.mark.services

DAY_MS = 86_400_000
CASES = [
    (("lens-01",), ("pm2_5",), ("mean",)),
    (("lens-01", "lille-02"), ("pm2_5", "pm10"), ("mean", "min", "max", "count")),
]


def _plan(dataset, every: str, selection) -> SeriesPlan:  # type: ignore[no-untyped-def]
    stations, quantities, aggs = selection
    start = int(dataset.raw.time.min().floor("D").timestamp() * 1000)
    return SeriesPlan(
        stations, quantities, None, start, start + 3 * DAY_MS, plan_window(every, "UTC"), aggs
    )


@pytest.mark.parametrize("every", ["1h", "1d"])
@pytest.mark.parametrize("selection", CASES)
def test_json_document_and_stream_are_the_same_bytes(
    influxd, series_db, dataset, every, selection
) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(dataset, every, selection)
    prov = provenance([], "none", {"test": every})
    header = {"stations": list(plan.stations)}

    async def both() -> tuple[bytes, bytes]:
        reader = InfluxReader(influxd.url, series_db)
        try:
            streamed = b"".join(
                [
                    p
                    async for p in json_stream(
                        fetch_rows(reader, plan), plan.columns, prov, "UTC", header
                    )
                ]
            )
            points = await fetch_one_to_one(reader, plan)
        finally:
            await reader.aclose()
        return streamed, json_body(points, plan.columns, prov, header)

    streamed, built = asyncio.run(both())
    assert streamed.count(b'"time"') > 3
    assert built == streamed


@pytest.mark.parametrize("every", ["1h", "1d"])
@pytest.mark.parametrize("selection", CASES)
def test_csv_file_and_stream_are_the_same_bytes(
    influxd, series_db, dataset, every, selection
) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(dataset, every, selection)
    prov = provenance([], "none", {"test": every})

    async def both() -> tuple[bytes, bytes]:
        reader = InfluxReader(influxd.url, series_db)
        try:
            streamed = b"".join(
                [p async for p in csv_stream(fetch_rows(reader, plan), plan.columns, prov, "UTC")]
            )

            def build(rows):  # type: ignore[no-untyped-def]
                return csv_body(rows.times, rows.label_of, rows.labels, rows.columns, prov)

            built = await fetch_one_to_one_file(reader, plan, build, "test")
        finally:
            await reader.aclose()
        return streamed, built

    streamed, built = asyncio.run(both())
    assert streamed.count(b"\n") > 8  # comment lines, the header, three days at least
    assert built == streamed


def _without_generated(text: bytes) -> bytes:
    return re.sub(rb"# generated: [^\n]*\n", b"", text)


def test_the_route_gives_the_same_csv_through_either_path(
    make_client, series_db, series_registry_url
) -> None:  # type: ignore[no-untyped-def]
    """The same request served from the stored windows at once, and streamed (a route whose
    limit of rows built at once the request exceeds)."""
    params = {
        "station": ["lens-01", "lille-02"],
        "quantity": "pm2_5,pm10",
        "agg": "mean,min,max,count",
        "every": "1m",  # up to 19 200 rows: over a limit of 1 000 rows built at once
        "start": T0.isoformat(),
        "end": T1.isoformat(),
        "format": "csv",
    }
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    bodies = []
    for settings in ({}, {"api_max_points": 1000}):
        with make_client(series_db, series_registry_url, **settings) as c:
            r = c.get("/v1/series", params=params, headers=auth)
            assert r.status_code == 200, r.text
            bodies.append(r.content)
    one_to_one, streamed = bodies
    assert one_to_one.count(b"\n") > 20
    assert _without_generated(one_to_one) == _without_generated(streamed)
