"""The QPV endpoints on a real influxd holding hourly aggregates written per the storage
contract (RP "agg", measurement readings_1h), checked against the hand-computed case."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from airq.services import free_port
from airq_core.readings import format_time
from airq_core.storage import AGG_RP
from api.app import create_app
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.helpers import wait_until
from tests.qpv.conftest import END, INDOOR, START, STATIONS_L93, latlon, line_protocol

pytestmark = pytest.mark.services

PERIOD = {"start": format_time(START), "end": format_time(END)}


@contextlib.contextmanager
def serve(settings: ApiSettings) -> Iterator[httpx.Client]:
    """The API on a real uvicorn server on a free port."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    wait_until(lambda: server.started, what="uvicorn to start")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            yield c
    finally:
        server.should_exit = True
        th.join(10)


@pytest.fixture
def client(
    qpv_file: Path, registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    for sid, xy in STATIONS_L93.items():
        registry.add(sid, *latlon(xy), name=sid.upper())
    registry.add("indoor-1", *latlon(INDOOR["indoor-1"]), name="salle", indoor=True)
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(line_protocol("pm2_5"), rp=AGG_RP)
    writer.close()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        yield c


def test_list_counts_stations_inside_and_around(client: httpx.Client) -> None:
    body = client.get("/v1/qpv").json()
    assert body["count"] == 2 and body["buffers_m"] == [300, 1000]
    assert body["source"] == "qpv_test.geojson"
    q1 = body["qpv"][0]
    assert (q1["code"], q1["name"], q1["communes"]) == ("QPTEST01", "Cité Test", ["Lens"])
    assert q1["stations"] == {"qpv": 1, "buffer_300m": 1, "buffer_1000m": 2, "hors_qpv": 3}
    assert q1["station_ids"]["qpv"] == ["in-1"]  # indoor-1 is not an exposure station
    assert client.get("/v1/qpv", params={"commune": "liévin"}).json()["count"] == 1


def test_exposure_matches_the_hand_computed_case(client: httpx.Client) -> None:
    r = client.get("/v1/qpv/QPTEST01/exposure", params={"quantity": "pm2_5", **PERIOD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hours"] == 48 and body["unit"] == "µg/m³"
    z = body["zones"]
    inside = z["qpv"]
    assert inside["mean"] == 16.47 and inside["median"] == 20.0
    assert inside["coverage"] == 0.708 and inside["low_coverage"] is True
    assert inside["days_valid"] == 1 and inside["days_over_who"] == 1
    assert inside["atmo_days"]["moyen"] == 1
    assert inside["stations"] == [
        {"id": "in-1", "hours_with_data": 34, "coverage": 0.708, "distance_m": 0.0}
    ]
    assert z["buffer_300m"]["mean"] == round((47 * 12 + 13.5) / 48, 2)
    assert z["buffer_300m"]["stations"][0]["distance_m"] == pytest.approx(200)
    day1 = [(12 + 30) / 2] * 23 + [(13.5 + 30) / 2]
    assert z["buffer_1000m"]["mean"] == round((sum(day1) + 24 * 21) / 48, 2)
    assert z["buffer_1000m"]["atmo_days"]["degrade"] == 2
    assert z["hors_qpv"]["mean"] == 18.34 and z["hors_qpv"]["n_stations"] == 3
    assert z["hors_qpv"]["days_over_who"] == 2
    assert "5 km" in body["outside_definition"]["fr"]


def test_geojson_layer_for_the_grafana_map(client: httpx.Client) -> None:
    r = client.get("/v1/qpv/exposure.geojson", params={"quantity": "pm2_5", **PERIOD})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    f1, f2 = fc["features"]
    assert f1["geometry"]["type"] == "Polygon"
    p = f1["properties"]
    assert (p["code_qp"], p["basis"], p["mean"]) == ("QPTEST01", "qpv", 16.47)
    assert p["atmo_class"] == "moyen" and p["style_class"] == "moyen_partiel"  # low coverage
    assert not {"fill", "fill-opacity", "stroke-width"} & set(p)  # the panel's rules colour
    assert p["outside_mean"] == 18.34 and p["difference"] == round(16.47 - 18.34, 2)
    assert "indicative" in p["class_label"]
    # QPTEST02: in-2 inside, 48 h at 50 µg/m³ -> "mauvais", full coverage
    q = f2["properties"]
    assert (q["atmo_class"], q["style_class"]) == ("mauvais", "mauvais")


def test_relative_periods_as_grafana_writes_them(client: httpx.Client) -> None:
    r = client.get(
        "/v1/qpv/exposure.geojson", params={"quantity": "pm10", "start": "now-7d", "end": "now"}
    )
    assert r.status_code == 200, r.text
    props = r.json()["features"][0]["properties"]
    assert props["style_class"] == "sans_donnees" and props["mean"] is None


def test_station_markers_carry_an_indicative_class(
    client: httpx.Client, influxd, influx_db
) -> None:
    hour = int(time.time()) // 3600 * 3600
    lines = "\n".join(
        f"readings_1h,sensor=sds011,station=in-1 pm2_5_mean=22.0,pm2_5_count=30 "
        f"{(hour - 3600 * i) * 1000}"
        for i in range(3)
    )
    w = InfluxWriter(influxd.url, influx_db)
    w.write_lines(lines.encode(), rp=AGG_RP)
    w.close()
    fc = client.get("/v1/qpv/stations.geojson", params={"quantity": "pm2_5"}).json()
    by_id = {f["id"]: f["properties"] for f in fc["features"]}
    # public output: coordinates rounded (3 decimals by default, about 100 m)
    assert all(round(c, 3) == c for f in fc["features"] for c in f["geometry"]["coordinates"])
    assert "indoor-1" not in by_id
    p = by_id["in-1"]
    assert p["qpv"] == ["QPTEST01"] and p["value"] == 22.0 and p["atmo_class"] == "degrade"
    assert "marker-color" not in p and p["day_complete"] is False
    assert "pas l'indice ATMO officiel" in p["class_label"]
    assert by_id["far-1"]["atmo_class"] == "sans_donnees"
    assert by_id["buf-1"]["nearest_qpv"] == "QPTEST01"


@pytest.mark.parametrize(
    "path, params, status, message",
    [
        ("/v1/qpv/QPNOPE/exposure", {}, 404, "unknown QPV"),
        ("/v1/qpv/QPTEST01/exposure", {"quantity": "pm2_5;drop"}, 400, "unknown quantity"),
        ("/v1/qpv/exposure.geojson", {"quantity": "nope"}, 400, "unknown quantity"),
        ("/v1/qpv/QPTEST01/exposure", {"start": "now-900d"}, 400, "longer than"),
        ("/v1/qpv/QPTEST01/exposure", {"start": "now", "end": "now-1d"}, 400, "before"),
        ("/v1/qpv/QPTEST01/exposure", {"start": "yesterday"}, 400, "invalid 'start'"),
    ],
)
def test_bad_requests_get_clear_errors(
    client: httpx.Client, path: str, params: dict, status: int, message: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


def test_a_broken_polygon_file_answers_503(
    tmp_path: Path, registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{")
    monkeypatch.setenv("AIRQ_QPV_FILE", str(bad))
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        r = c.get("/v1/qpv")
    assert r.status_code == 503 and "not readable as JSON" in r.json()["detail"]
