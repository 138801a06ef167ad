"""The map's stations layer (stations.geojson) publishes each station at its chosen precision,
and a change of precision (or a new station) through the admin API shows on the next request,
not after the ready answer's refresh interval (real influxd, the API on a real uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from airq.services import InfluxDB
from api.registry import Registry
from api.routes.qpv import public_distance
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.qpv.conftest import QPV1, STATIONS_L93, latlon

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
STATIONS = "/v1/qpv/stations.geojson"


def _coordinates(c: httpx.Client) -> dict[str, list[float]]:
    r = c.get(STATIONS, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200, r.text
    for f in r.json()["features"]:  # the decimals given are the decimals used
        lon, lat = f["geometry"]["coordinates"]
        d = f["properties"]["precision"]
        assert [round(lon, d), round(lat, d)] == [lon, lat] and 2 <= d <= 5
    return {f["id"]: f["geometry"]["coordinates"] for f in r.json()["features"]}


def _nearest_m(c: httpx.Client) -> dict[str, float | None]:
    r = c.get(STATIONS, headers={"Accept-Encoding": "identity"})
    return {f["id"]: f["properties"]["nearest_qpv_m"] for f in r.json()["features"]}


def test_published_distances_are_no_finer_than_the_location() -> None:
    assert [public_distance(712.3, d) for d in (2, 3, 4, 5)] == [1000.0, 700.0, 710.0, 712.0]
    assert public_distance(None, 3) is None and public_distance(0.0, 2) == 0.0


def _rounded(lat: float, lon: float, d: int) -> list[float]:
    return [round(lon, d), round(lat, d)]


def test_the_map_shows_a_new_precision_at_once(
    qpv_file: Path,
    registry: Registry,
    influxd: InfluxDB,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    # an hour between rebuilds: only the change itself can renew the answer held
    monkeypatch.setenv("AIRQ_MAP_REFRESH_S", "3600")
    lat, lon = latlon(QPV1)
    registry.add("home-1", lat, lon, name="Balcon", precision=2)
    registry.add("school-1", lat, lon, name="École")
    # 700 m from QPTEST01's edge
    registry.add("ring-2", *latlon(STATIONS_L93["ring-1"]), precision=2)
    registry.add("ring-4", *latlon(STATIONS_L93["ring-1"]), precision=4)
    url = str(registry.engine.url)
    with running(settings_for(influxd.url, influx_db, url, public_location_decimals=3)) as c:
        held = _coordinates(c)
        assert (held["home-1"], held["school-1"]) == (_rounded(lat, lon, 2), _rounded(lat, lon, 3))
        # the distance to the nearest QPV at the same precision as the location
        near = _nearest_m(c)
        assert near["ring-2"] == 1000.0 and near["ring-4"] == pytest.approx(700.0, abs=10)
        r = c.patch("/v1/admin/stations/school-1", json={"precision": 5}, headers=AUTH)
        assert r.status_code == 200, r.text
        r = c.patch("/v1/admin/stations/home-1", json={"precision": None}, headers=AUTH)
        assert r.status_code == 200, r.text
        now = _coordinates(c)
        assert (now["home-1"], now["school-1"]) == (_rounded(lat, lon, 3), _rounded(lat, lon, 5))
        body: dict[str, Any] = {"id": "new-1", "lat": lat, "lon": lon, "precision": 4}
        assert c.post("/v1/admin/stations", json=body, headers=AUTH).status_code == 201
        assert _coordinates(c)["new-1"] == _rounded(lat, lon, 4)
        items = [{"id": "new-2", "lat": lat, "lon": lon, "precision": 2}]
        assert c.post("/v1/admin/stations/bulk", json=items, headers=AUTH).status_code == 201
        assert _coordinates(c)["new-2"] == _rounded(lat, lon, 2)
