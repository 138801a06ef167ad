"""``/v1/series`` selected by place (``qpv=``, ``bbox=``) serves a moved station only for the
times its placement was in the place: raw readings, stored windows served one to one (packed
days), windows combined from a tier and windows from raw readings, in JSON, CSV and Parquet
(real influxd and registry, times relative to now)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest

from airq_core.readings import format_time
from api.registry import Registry, placements_t, stations
from api.settings import ApiSettings
from tests.api.series_data import Dataset, write_dataset
from tests.qpv.conftest import QPV1, STATIONS_L93, latlon
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

HOUR = 3600
DAY = 86400
T0 = int(time.time()) // DAY * DAY - 5 * DAY  # five whole UTC days ago
END = T0 + 5 * DAY
# in the middle of an hour, on a day served from the packed days (the last two days before
# today are read from readings_1h)
MOVE = T0 + DAY + 30 * 60
OUT = STATIONS_L93["out-1"]  # 3.2 km east of QPTEST01, in no QPV
# what each station measures (pm2_5), before and after MOVE
VALUES = {"in-1": (10.0, 10.0), "mover-1": (20.0, 40.0), "arrive-1": (50.0, 60.0)}


def _dataset() -> Dataset:
    rows = [
        (ms, sid, "sds011", "pm2_5", before if ms < MOVE * 1000 else after)
        for sid, (before, after) in VALUES.items()
        for ms in range(T0 * 1000, END * 1000, 600_000)  # every 10 minutes
    ]
    df = pd.DataFrame(rows, columns=["ms", "station", "sensor", "quantity", "value"])
    df["time"] = pd.to_datetime(df.ms, unit="ms", utc=True)
    return Dataset(df)


@pytest.fixture
def api(qpv_file, registry: Registry, influxd, influx_db, monkeypatch) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    registry.add("in-1", *latlon(QPV1))
    registry.add("mover-1", *latlon(QPV1))  # moved out of QPTEST01 at MOVE
    registry.add("arrive-1", *latlon(OUT))  # moved into it at MOVE
    # registered before the data (the registry refuses moves before a placement's start)
    week_ago = datetime.fromtimestamp(T0 - DAY, UTC)
    with registry.engine.begin() as conn:
        conn.execute(stations.update().values(created_at=week_ago))
        conn.execute(placements_t.update().values(valid_from=week_ago))
    moved_at = datetime.fromtimestamp(MOVE, UTC)
    registry.update("mover-1", lat=latlon(OUT)[0], lon=latlon(OUT)[1], moved_at=moved_at)
    registry.update("arrive-1", lat=latlon(QPV1)[0], lon=latlon(QPV1)[1], moved_at=moved_at)
    write_dataset(influxd.url, influx_db, _dataset())
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        yield c


def _get(api: httpx.Client, fmt: str = "json", **params: str) -> httpx.Response:
    base = {"quantity": "pm2_5", "start": format_time(T0), "end": format_time(END)}
    r = api.get("/v1/series", params={**base, **params, "format": fmt})
    assert r.status_code == 200, r.text
    return r


def _points(api: httpx.Client, fmt: str = "json", **params: str) -> pd.DataFrame:
    """The rows served: time (epoch s), station and the first value column."""
    r = _get(api, fmt, **params)
    if fmt == "json":
        df = pd.DataFrame(r.json()["points"])
    elif fmt == "csv":
        df = pd.read_csv(io.StringIO(r.text), comment="#")
    else:
        df = pd.read_parquet(io.BytesIO(r.content))
    value = "value" if "value" in df.columns else df.columns[4]
    times = pd.to_datetime(df["time"], utc=True).map(lambda t: int(t.timestamp()))
    return pd.DataFrame({"t": times, "station": df["station"], "v": df[value].astype(float)})


def _by_station(df: pd.DataFrame) -> dict[str, tuple[int, int, set[float]]]:
    """station -> (first time, last time, values)."""
    return {
        sid: (int(g.t.min()), int(g.t.max()), set(g.v.tolist())) for sid, g in df.groupby("station")
    }


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_qpv_hourly_windows_only_while_inside(api: httpx.Client, fmt: str) -> None:
    # the same windows asked by station first: whole packed days cached unclipped
    _get(api, fmt, station="mover-1", every="1h")
    got = _by_station(_points(api, fmt, qpv="QPTEST01", every="1h"))
    moved_hour = MOVE // HOUR * HOUR  # the hour of the move counts for neither place
    assert got == {
        "in-1": (T0, END - HOUR, {10.0}),
        "mover-1": (T0, moved_hour - HOUR, {20.0}),
        "arrive-1": (moved_hour + HOUR, END - HOUR, {60.0}),
    }
    body = _get(api, qpv="QPTEST01", every="1h").json()
    assert body["stations"] == ["arrive-1", "in-1", "mover-1"]
    # a period after the move: the station moved out is not selected at all
    r = api.get(
        "/v1/series",
        params={"quantity": "pm2_5", "qpv": "QPTEST01", "start": format_time(MOVE + HOUR)},
    )
    assert r.status_code == 200 and r.json()["stations"] == ["arrive-1", "in-1"], r.text


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_qpv_raw_readings_only_while_inside(api: httpx.Client, fmt: str) -> None:
    got = _by_station(_points(api, fmt, qpv="QPTEST01", every="raw"))
    last_before = (MOVE - 600) * 1000 // 600_000 * 600  # the last reading before the move
    assert got == {
        "in-1": (T0, END - 600, {10.0}),
        "mover-1": (T0, last_before, {20.0}),
        "arrive-1": (MOVE, END - 600, {60.0}),
    }


def test_qpv_windows_combined_or_from_raw(api: httpx.Client) -> None:
    # 6-hour windows combined from the hourly tier: whole hours inside only
    got = _by_station(_points(api, qpv="QPTEST01", every="6h"))
    six = (MOVE // HOUR * HOUR) // (6 * HOUR) * 6 * HOUR  # the 6-hour window of the move
    assert got["mover-1"] == (T0, six - 6 * HOUR, {20.0})
    assert got["arrive-1"] == (six, END - 6 * HOUR, {60.0})
    assert got["in-1"] == (T0, END - 6 * HOUR, {10.0})
    # hourly medians from raw readings: the readings of the hour of the move taken inside
    got = _by_station(_points(api, qpv="QPTEST01", every="1h", agg="median"))
    moved_hour = MOVE // HOUR * HOUR
    assert got["mover-1"] == (T0, moved_hour, {20.0})
    assert got["arrive-1"] == (moved_hour, END - HOUR, {60.0})


def test_series_of_a_station_is_never_clipped(api: httpx.Client) -> None:
    got = _by_station(_points(api, station="mover-1", every="1h"))
    assert got == {"mover-1": (T0, END - HOUR, {20.0, 30.0, 40.0})}  # 30: the hour of the move


def test_bbox_selects_by_placement(api: httpx.Client) -> None:
    lat, lon = latlon(OUT)
    box = f"{lon - 0.005},{lat - 0.005},{lon + 0.005},{lat + 0.005}"  # OUT, not QPTEST01
    moved_hour = MOVE // HOUR * HOUR
    got = _by_station(_points(api, bbox=box, every="1h"))
    assert got == {
        "mover-1": (moved_hour + HOUR, END - HOUR, {40.0}),
        "arrive-1": (T0, moved_hour - HOUR, {50.0}),
    }
    got = _by_station(_points(api, "csv", bbox=box, every="raw"))
    assert got["mover-1"][:2] == (MOVE, END - 600) and got["arrive-1"][2] == {50.0}
    # with a QPV too: the times in both (none here)
    assert _get(api, bbox=box, qpv="QPTEST01").json()["stations"] == []
