"""``airq import sensor-community`` of real archive files into a real influxd, read back
through the API and compared with pandas reading the same files; importing twice changes
nothing; history older than the raw retention is kept as aggregates."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airq.cli import main
from api.registry import Registry
from ingest.importer import SensorCommunityImporter
from ingest.influx import InfluxWriter
from tests import timeutil
from tests.api.api_server import running, settings_for

pytestmark = pytest.mark.services

# Real archive files of 2018 (tests/data/sensor_community/README.md: provenance, licence).
# Their dates stay fixed: imported with a raw retention of INF they are stored raw; with the
# 400-day retention they are older than it whatever today is, so the importer keeps them as
# aggregates only (kept forever). The calendar only makes them older.
ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "sensor_community"
FILES = sorted(ARCHIVE.glob("*.csv"))
DATA = Path(__file__).parent / "data"

COLUMNS = {"P1": "pm10", "P2": "pm2_5", "temperature": "temperature", "humidity": "humidity"}
MODELS = {"SDS011": "sds011", "DHT22": "dht22", "BME280": "bme280"}


def expected_raw() -> pd.DataFrame:
    """The archive files read by pandas: long rows (time, station, sensor, quantity, value)."""
    frames = []
    for f in FILES:
        df = pd.read_csv(f, sep=";")
        df["time"] = pd.to_datetime(df["timestamp"]).dt.tz_localize("UTC")
        df["station"] = "sc-" + df["location"].astype(str)
        df["sensor"] = df["sensor_type"].map(MODELS)
        if "pressure" in df:
            df["pressure"] = df["pressure"] / 100  # Pa -> hPa
        cols = {k: v for k, v in {**COLUMNS, "pressure": "pressure"}.items() if k in df}
        long = df.rename(columns=cols).melt(
            id_vars=["time", "station", "sensor"],
            value_vars=list(cols.values()),
            var_name="quantity",
            value_name="value",
        )
        frames.append(long.dropna(subset=["value"]))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def env(influxd, influx_db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    monkeypatch.setenv("AIRQ_INFLUX_URL", influxd.url)
    monkeypatch.setenv("AIRQ_INFLUX_DB", influx_db)
    monkeypatch.setenv("AIRQ_DATABASE_URL", db_url)
    monkeypatch.setenv("AIRQ_INFLUX_RAW_RETENTION", "INF")
    monkeypatch.setenv("AIRQ_LANG", "en")
    return {"db": influx_db, "db_url": db_url, "influxd": influxd}


def dump(influxd, db: str) -> dict:  # type: ignore[no-untyped-def]
    out = {}
    for m in (
        '"raw"."readings"',
        '"agg"."readings_1m"',
        '"agg"."readings_1h"',
        '"agg"."readings_1d"',
        '"agg"."readings_1d_paris"',
        '"agg"."readings_1h_by_day"',
    ):
        res = influxd.query(f"SELECT * FROM {m} GROUP BY *", db)
        out[m] = res["results"][0].get("series", [])
    return out


def _frame(points: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(points)
    df["time"] = pd.to_datetime(df["time"], utc=True, format="ISO8601")
    return df.sort_values(["station", "sensor", "quantity", "time"]).reset_index(drop=True)


def test_archive_import_reads_back_through_the_api(env, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(
        ["import", "sensor-community", *map(str, FILES), "--create-stations", "--no-progress"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "4 file(s), 2333 row(s), 2333 reading(s) imported for 2 station(s)" in out

    reg = Registry(env["db_url"])
    stations = {s.id: s for s in reg.list()}
    reg.close()
    assert set(stations) == {"sc-3121", "sc-7647"}
    assert (stations["sc-3121"].lat, stations["sc-3121"].lon) == (57.138, -2.077)
    assert stations["sc-7647"].source == "sensor.community"

    want = expected_raw()
    settings = settings_for(env["influxd"].url, env["db"], env["db_url"])
    with running(settings) as api:
        params = {
            "station": ["sc-3121", "sc-7647"],
            "quantity": "pm10,pm2_5,temperature,humidity,pressure",
            "start": "2018-01-15T00:00:00Z",
            "end": "2018-11-16T00:00:00Z",
        }
        # raw values, exactly: the period is 305 days, raw is served day by day
        got = []
        for day in ("2018-01-15", "2018-11-15"):
            r = api.get(
                "/v1/series",
                params={
                    **params,
                    "every": "raw",
                    "start": f"{day}T00:00:00Z",
                    "end": f"{day}T23:59:59Z",
                },
            )
            assert r.status_code == 200, r.text
            got += r.json()["points"]
        got_df = _frame(got)
        want_sorted = want.sort_values(["station", "sensor", "quantity", "time"])
        assert len(got_df) == len(want) == 2333 * 2 + 583  # BME280 rows carry 3 values
        np.testing.assert_allclose(got_df["value"], want_sorted["value"], rtol=1e-12)
        assert (got_df["time"].to_numpy() == want_sorted["time"].to_numpy()).all()

        # hourly and Paris-daily means from the aggregates the import rebuilt
        for every, tz in (("1h", "UTC"), ("1d", "Europe/Paris")):
            r = api.get(
                "/v1/series", params={**params, "every": every, "tz": tz, "agg": "mean,count,max"}
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert "sensor.community" in " ".join(body["licence"]["attribution"])
            assert body["licence"]["sources"] == {"sensor.community": ["sc-3121", "sc-7647"]}
            w = want.copy()
            if tz == "UTC":
                w["time"] = w["time"].dt.floor("h")
            else:
                w["time"] = w["time"].dt.tz_convert(tz).dt.normalize().dt.tz_convert("UTC")
            exp = (
                w.groupby(["station", "sensor", "quantity", "time"])
                .value.agg(["mean", "count", "max"])
                .reset_index()
            )
            g = _frame(body["points"])
            assert len(g) == len(exp)
            np.testing.assert_allclose(g["mean"], exp["mean"], rtol=1e-9)
            assert (g["count"].to_numpy() == exp["count"].to_numpy()).all()
            np.testing.assert_allclose(g["max"], exp["max"], rtol=1e-12)

        csv = api.get("/v1/series", params={**params, "every": "1d", "format": "csv"}).text
        assert "# attribution: AirQuartiers contributors (citizen sensors); sensor.community" in csv
        assert len(pd.read_csv(io.StringIO(csv), comment="#")) > 0


def test_importing_twice_changes_nothing(env, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["import", "sensor-community", *map(str, FILES), "--create-stations", "--no-progress"]
    assert main(args) == 0
    first = dump(env["influxd"], env["db"])
    reg = Registry(env["db_url"])
    before = reg.list(include_retired=True)
    assert main(args) == 0
    assert dump(env["influxd"], env["db"]) == first
    assert reg.list(include_retired=True) == before
    reg.close()
    assert sum(len(s["values"]) for s in first['"raw"."readings"']) == 2333


def test_history_older_than_the_raw_retention_is_kept_as_aggregates(
    env, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_INFLUX_RAW_RETENTION", "400d")
    args = ["import", "sensor-community", *map(str, FILES), "--create-stations", "--no-progress"]
    assert main(args) == 0
    assert "2333 reading(s) older than the raw retention" in capsys.readouterr().out
    first = dump(env["influxd"], env["db"])
    assert first['"raw"."readings"'] == []
    assert main(args) == 0
    assert dump(env["influxd"], env["db"]) == first  # idempotent on this path too
    assert first['"agg"."readings_1h_by_day"']  # hourly windows packed by day too

    want = expected_raw()
    want = want[want.station == "sc-7647"]
    exp = (
        want.assign(time=want.time.dt.floor("h"))
        .groupby(["sensor", "quantity", "time"])
        .value.agg(["mean", "min", "count"])
        .reset_index()
    )
    settings = settings_for(env["influxd"].url, env["db"], env["db_url"])
    with running(settings) as api:
        r = api.get(
            "/v1/stations/sc-7647/series",
            params={
                "quantity": "pm10,pm2_5,temperature,humidity,pressure",
                "every": "1h",
                "agg": "mean,min,count",
                "start": "2018-11-15T00:00:00Z",
                "end": "2018-11-17T00:00:00Z",  # two days or more: from the packed days
            },
        )
        assert r.status_code == 200, r.text
        g = _frame(r.json()["points"])
    assert len(g) == len(exp)
    np.testing.assert_allclose(g["mean"], exp["mean"], rtol=1e-9)
    np.testing.assert_allclose(g["min"], exp["min"], rtol=1e-12)


def test_unknown_stations_are_not_imported_without_the_flag(env, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["import", "sensor-community", str(FILES[0]), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "sc-3121" in err and "--create-stations" in err
    assert dump(env["influxd"], env["db"])['"raw"."readings"'] == []


def test_data_json_import(env, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(
        [
            "import",
            "sensor-community",
            str(DATA / "data_json_sample.json"),
            "--create-stations",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "out_of_range 1" in out and "bad_row 1" in out and "LAERM 1" in out
    reg = Registry(env["db_url"])
    assert [s.id for s in reg.list()] == ["sc-15975"]  # the noise sensor's location is skipped
    reg.close()
    settings = settings_for(env["influxd"].url, env["db"], env["db_url"])
    with running(settings) as api:
        r = api.get(
            "/v1/stations/sc-15975/series",
            params={
                "quantity": "pm10,pm2_5,pressure",
                "every": "raw",
                "start": "2020-07-03T09:00:00Z",
                "end": "2020-07-03T10:00:00Z",
            },
        )
        points = r.json()["points"]
    got = {(p["time"], p["sensor"], p["quantity"]): p["value"] for p in points}
    assert got == {
        ("2020-07-03T09:39:44Z", "sds011", "pm10"): 12.53,
        ("2020-07-03T09:39:46Z", "bme280", "pressure"): 1001.9997,
        ("2020-07-03T09:42:10Z", "sds011", "pm2_5"): 7.25,
    }


def test_the_raw_retention_edge_is_taken_from_the_importer_clock(
    influxd, influx_db, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Readings a few hours inside the 400-day raw retention are written raw; a reading an
    hour beyond it becomes aggregates only (InfluxDB would drop it), whatever today is: the
    times are built from the tests' clock, which the importer is given."""
    now = timeutil.now()
    edge = now - 400 * 86400
    inside, outside = edge + 3 * 3600, edge - 3600
    path = tmp_path / "edge_sds011_sensor_1.csv"
    path.write_text(
        "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n"
        + "".join(
            f"1;SDS011;42;50.43;2.83;{timeutil.iso(t)[:-1]};{pm10};;;{pm25};;\n"
            for t, pm10, pm25 in ((outside, 30.0, 12.0), (inside, 20.0, 8.0))
        )
    )
    writer = InfluxWriter(influxd.url, influx_db)
    try:
        importer = SensorCommunityImporter(
            writer, lambda st: True, raw_retention="400d", clock=timeutil.now
        )
        report = importer.run([path])
    finally:
        writer.close()
    assert (report.readings, report.raw_points, report.history_only) == (2, 1, 1)
    raw = influxd.query('SELECT "pm2_5" FROM "raw"."readings"', influx_db)
    assert raw["results"][0]["series"][0]["values"] == [[round(inside) * 1000, 8.0]]
    res = influxd.query('SELECT "pm2_5_mean", "pm2_5_count" FROM "agg"."readings_1h"', influx_db)
    hourly = res["results"][0]["series"][0]["values"]
    hour = 3_600_000
    assert hourly == [
        [round(outside) * 1000 // hour * hour, 12.0, 1.0],
        [round(inside) * 1000 // hour * hour, 8.0, 1.0],
    ]
