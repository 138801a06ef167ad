"""Every aggregation and every format of the series endpoints, against values computed with
pandas/numpy straight from the same raw readings (a real influxd holds the raw readings and the
aggregate tiers written per the storage contract)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from api.stored_windows import QUALITY
from tests.api.api_server import ADMIN_TOKEN
from tests.api.series_data import T0, T1, expected_windows

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def client(client):  # type: ignore[no-untyped-def]
    """The module's API client, as the admin: lille-02 is indoor (private to its owner)."""
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return client


# Dates in this file are inside the fixed dataset of series_data.py (kept forever: see there).
ALL = ["lens-01", "lille-02"]
START, END = T0.isoformat(), T1.isoformat()
KEY = ["station", "sensor", "quantity", "time"]


def _frame(points: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(points)
    df["time"] = pd.to_datetime(df["time"], utc=True, format="ISO8601")
    return df


def _compare(got: pd.DataFrame, want: pd.DataFrame, stats: list[str]) -> None:
    got = got.sort_values(KEY).reset_index(drop=True)
    want = want.sort_values(KEY).reset_index(drop=True)
    assert len(got) == len(want), (len(got), len(want))
    pd.testing.assert_frame_equal(got[KEY].astype(str), want[KEY].astype(str), check_dtype=False)
    for s in stats:
        np.testing.assert_allclose(
            got[s].to_numpy(float), want[s].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=s
        )


@pytest.mark.parametrize(
    ("every", "tz"),
    [
        ("1m", "UTC"),
        ("5m", "UTC"),
        ("90m", "UTC"),
        ("1h", "UTC"),
        ("6h", "UTC"),
        ("1d", "UTC"),
        ("2d", "UTC"),
        ("1d", "Europe/Paris"),
        ("2d", "Europe/Paris"),
    ],
)
def test_windows_from_tiers_match_raw_computation(client, dataset, every, tz) -> None:
    stats = ["mean", "min", "max", "count"]
    r = client.get(
        "/v1/series",
        params={
            "station": ALL,
            "quantity": "pm2_5,pm10,temperature,humidity",
            "start": START,
            "end": END,
            "every": every,
            "agg": ",".join(stats),
            "tz": tz,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["time", "station", "sensor", "quantity", *stats, *QUALITY]
    want = expected_windows(
        dataset, ALL, ["pm2_5", "pm10", "temperature", "humidity"], T0, T1, every, tz
    )
    got = _frame(body["points"])
    _compare(got, want, stats)
    assert got["count"].map(type).eq(int).all() or got["count"].dtype.kind == "i"


def test_paris_days_are_civil_days_with_their_offset(client, dataset) -> None:
    r = client.get(
        "/v1/stations/lens-01/series",
        params={
            "quantity": "pm10",
            "start": START,
            "end": END,
            "every": "1d",
            "tz": "Europe/Paris",
            "sensor": "sds011",
        },
    )
    assert r.status_code == 200, r.text
    times = [p["time"] for p in r.json()["points"]]
    # 2026-03-29 is the spring-forward day: it starts at +01:00, the next one at +02:00
    assert "2026-03-29T00:00:00+01:00" in times
    assert "2026-03-30T00:00:00+02:00" in times


@pytest.mark.parametrize(("every", "tz"), [("1h", "UTC"), ("1d", "Europe/Paris")])
def test_median_and_p95_come_from_raw_readings(client, dataset, every, tz) -> None:
    stats = ["median", "p95", "mean", "count"]
    r = client.get(
        "/v1/series",
        params={
            "station": ALL,
            "quantity": ["pm2_5", "humidity"],
            "start": START,
            "end": END,
            "every": every,
            "agg": stats,
            "tz": tz,
        },
    )
    assert r.status_code == 200, r.text
    want = expected_windows(dataset, ALL, ["pm2_5", "humidity"], T0, T1, every, tz)
    _compare(_frame(r.json()["points"]), want, stats)


def test_raw_readings_come_back_exactly(client, dataset) -> None:
    start, end = pd.Timestamp("2026-03-28T10:00:00Z"), pd.Timestamp("2026-03-28T16:00:00Z")
    r = client.get(
        "/v1/series",
        params={
            "station": ALL,
            "quantity": "pm2_5,temperature",
            "every": "raw",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    got = _frame(r.json()["points"])
    want = dataset.select(ALL, ["pm2_5", "temperature"], start, end)
    _compare(got, want[[*KEY, "value"]], ["value"])
    assert (got["value"].to_numpy() == want.sort_values(KEY)["value"].to_numpy()).all()


def _csv(text: str) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(text), comment="#")
    df["time"] = pd.to_datetime(df["time"], utc=True, format="ISO8601")
    return df


@pytest.mark.parametrize("every", ["raw", "1h"])
def test_csv_and_parquet_hold_the_json_rows(client, every) -> None:
    params = {
        "station": ALL,
        "quantity": "pm2_5,humidity",
        "start": "2026-03-28T00:00:00Z",
        "end": "2026-03-29T00:00:00Z",
        "every": every,
        "agg": "mean,min,max,count",
    }
    js = client.get("/v1/series", params=params)
    assert js.status_code == 200, js.text
    stats = ["value"] if every == "raw" else ["mean", "min", "max", "count"]
    ref = _frame(js.json()["points"])

    with client.stream("GET", "/v1/series", params={**params, "format": "csv"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        if every == "raw":
            assert "content-length" not in r.headers  # streamed
        else:  # stored windows served as they are: built whole, at most api_max_points rows
            assert int(r.headers["content-length"]) > 0
        assert "attachment" in r.headers["content-disposition"]
        text = r.read().decode()
    comments = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("ODbL" in ln for ln in comments) and any("correction: none" in ln for ln in comments)
    _compare(_csv(text), ref, stats)

    pq_resp = client.get("/v1/series", params={**params, "format": "parquet"})
    assert pq_resp.status_code == 200
    table = pq.read_table(io.BytesIO(pq_resp.content))
    meta = table.schema.metadata
    assert b"ODbL" in meta[b"licence"]
    assert json.loads(meta[b"airq.provenance"])["sources"] == {"airquartiers": ALL}
    got = table.to_pandas()
    _compare(got, ref, stats)
    if every != "raw":
        assert str(table.schema.field("count").type) == "int64"
        # the same request over unchanged data: the same file, served from the API's cache
        # (its provenance keeps the time it was first built at)
        files_served_again = client.app.state.series_cache.hits["file"]
        again = client.get("/v1/series", params={**params, "format": "parquet"})
        assert again.content == pq_resp.content
        assert client.get("/v1/series", params={**params, "format": "csv"}).text == text
        assert client.app.state.series_cache.hits["file"] == files_served_again + 2


def test_bbox_selects_the_stations_inside(client, dataset) -> None:
    params = {
        "bbox": "2.7,50.3,2.9,50.5",
        "quantity": "pm2_5",
        "start": START,
        "end": END,
        "every": "1d",
    }
    r = client.get("/v1/series", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stations"] == ["lens-01"]
    assert {p["station"] for p in body["points"]} == {"lens-01"}
    want = expected_windows(dataset, ["lens-01"], ["pm2_5"], T0, T1, "1d")
    _compare(_frame(body["points"]), want, ["mean"])


def test_sensor_filter_and_empty_answers(client) -> None:
    r = client.get(
        "/v1/stations/lens-01/series",
        params={
            "quantity": "temperature",
            "sensor": "sds011",
            "start": START,
            "end": END,
            "every": "1h",
        },
    )
    assert r.status_code == 200 and r.json()["points"] == []
    r = client.get(
        "/v1/stations/lens-01/series",
        params={"quantity": "co2", "start": START, "end": END, "format": "csv"},
    )
    assert r.status_code == 200
    assert r.text.splitlines()[-1] == "time,station,sensor,quantity,value,flags"


def test_range_is_rounded_out_to_whole_windows(client) -> None:
    r = client.get(
        "/v1/stations/lens-01/series",
        params={
            "quantity": "pm2_5",
            "start": "2026-03-28T10:20:00Z",
            "end": "2026-03-28T12:10:00Z",
            "every": "1h",
        },
    )
    body = r.json()
    assert (body["start"], body["end"]) == ("2026-03-28T10:00:00Z", "2026-03-28T13:00:00Z")
    assert [p["time"][11:16] for p in body["points"]] == ["10:00", "11:00", "12:00"]


def test_humidity_corrected_pm_is_served_with_its_provenance(
    make_client, influxd, influx_db, series_registry_url
) -> None:
    from ingest.influx import InfluxWriter

    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database(raw_retention="INF")
    t = 1774656000000  # 2026-03-28T00:00:00Z
    w.write_lines(
        f"readings,sensor=sds011,station=lens-01 pm2_5=10.0,pm2_5_hcorr=8.0 {t}\n"
        f"readings,sensor=sds011,station=lens-01 pm2_5=12.0,pm2_5_hcorr=9.5 {t + 60000}".encode()
    )
    w.write_lines(
        f"readings_1h,sensor=sds011,station=lens-01 pm2_5_hcorr_mean=8.75,pm2_5_hcorr_min=8.0,"
        f"pm2_5_hcorr_max=9.5,pm2_5_hcorr_count=2.0 {t}".encode(),
        rp="agg",
    )
    w.close()
    with make_client(db=influx_db, database_url=series_registry_url) as api:
        params = {
            "quantity": "pm2_5_hcorr",
            "start": "2026-03-28T00:00:00Z",
            "end": "2026-03-28T01:00:00Z",
        }
        raw = api.get("/v1/stations/lens-01/series", params=params).json()
        assert [p["value"] for p in raw["points"]] == [8.0, 9.5]
        assert raw["unit"] == "µg/m³" and raw["licence"]["correction"].startswith("humidity")
        hourly = api.get(
            "/v1/stations/lens-01/series", params={**params, "every": "1h", "agg": "mean,count"}
        ).json()
        assert [(p["mean"], p["count"]) for p in hourly["points"]] == [(8.75, 2)]
        csv = api.get("/v1/stations/lens-01/series", params={**params, "format": "csv"}).text
        assert "# correction: humidity correction" in csv
