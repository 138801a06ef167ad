"""Registry endpoints behind the admin token (SQLite and PostgreSQL), and the public station
list with its filters and rounded locations."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from airq.stack import FLEET
from api.registry import Registry
from api.settings import ApiSettings
from tests.api.api_server import ADMIN_TOKEN
from tests.api.series_data import T0

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_registry_endpoints(make_client, registry_url: str) -> None:
    with make_client(database_url=registry_url) as api:
        body = {"id": "lens-01", "lat": 50.449123, "lon": 2.839054, "name": "Grande Résidence"}
        r = api.post("/v1/admin/stations", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        created = r.json()
        token = created["token"]
        assert created["lat"] == 50.449123 and created["source"] == "airquartiers"
        assert api.post("/v1/admin/stations", json=body, headers=AUTH).status_code == 409

        r = api.patch(
            "/v1/admin/stations/lens-01", json={"lat": 50.45, "indoor": True}, headers=AUTH
        )
        assert r.status_code == 200 and (r.json()["lat"], r.json()["indoor"]) == (50.45, True)
        assert r.json()["name"] == "Grande Résidence"  # untouched

        r = api.post("/v1/admin/stations/lens-01/token", headers=AUTH)
        assert r.status_code == 200
        new_token = r.json()["token"]
        reg = Registry(registry_url)
        try:
            assert reg.verify_token("lens-01", new_token)
            assert not reg.verify_token("lens-01", token)
        finally:
            reg.close()

        r = api.post("/v1/admin/stations/lens-01/retire", headers=AUTH)
        assert r.status_code == 200 and r.json()["retired_at"] is not None
        r = api.get("/v1/stations")
        assert r.json()["features"] == [], r.text
        params = {"include_retired": True}
        listed = api.get("/v1/stations", params=params, headers=AUTH).json()["features"]
        assert [f["properties"]["retired"] for f in listed] == [True]
        # indoor: listed to the admin (and its owner) only
        assert api.get("/v1/stations", params=params).json()["features"] == []
        (admin_view,) = api.get("/v1/admin/stations", headers=AUTH).json()
        assert admin_view["lat"] == 50.45  # exact location for the admin

        for method, path in (
            ("patch", "/v1/admin/stations/nope-1"),
            ("post", "/v1/admin/stations/nope-1/retire"),
            ("post", "/v1/admin/stations/nope-1/token"),
        ):
            kw = {"json": {"name": "x"}} if method == "patch" else {}
            assert getattr(api, method)(path, headers=AUTH, **kw).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"id": "Lens 01", "lat": 50, "lon": 3},
        {"id": "lens-01", "lat": 91, "lon": 3},
        {"id": "lens-01", "lat": 50, "lon": -181},
        {"id": "lens-01", "lat": 50, "lon": 3, "token_hash": "$7$1$a$b"},
        {"id": "lens-01", "lat": "north", "lon": 3},
        {"id": "lens-01", "lat": 50, "lon": 3, "name": "x" * 201},
        {"id": "airq-api", "lat": 50, "lon": 3},
    ],
)
def test_invalid_station_bodies_are_refused(make_client, body) -> None:
    with make_client() as api:
        r = api.post("/v1/admin/stations", json=body, headers=AUTH)
        assert r.status_code in (400, 422), r.text
        assert api.get("/v1/admin/stations", headers=AUTH).json() == []


def test_admin_token_is_required(make_client) -> None:
    with make_client() as api:
        body = {"id": "lens-01", "lat": 50, "lon": 3}
        assert api.post("/v1/admin/stations", json=body).status_code == 401
        bad = {"Authorization": "Bearer " + ADMIN_TOKEN[:-1]}
        assert api.post("/v1/admin/stations", json=body, headers=bad).status_code == 401
        basic = {"Authorization": "Basic YWRtaW46YWRtaW4="}
        assert api.get("/v1/admin/stations", headers=basic).status_code == 401
    with make_client(admin_token=None) as api:
        r = api.get("/v1/admin/stations", headers=AUTH)
        assert r.status_code == 403 and "AIRQ_ADMIN_TOKEN" in r.json()["detail"]


@pytest.mark.parametrize(
    "value", ["change-me", "CHANGEME", "changeme-please-now", "secret", "short-token"]
)
def test_placeholder_admin_tokens_are_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError, match="AIRQ_ADMIN_TOKEN"):
        ApiSettings(admin_token=value)


def test_station_list_filters_and_rounding(make_client, series_db, series_registry_url) -> None:
    with make_client(db=series_db, database_url=series_registry_url) as api:
        # lille-02 is indoor: to anyone else than its owner and the admin it does not exist
        feats = api.get("/v1/stations").json()["features"]
        assert [f["properties"]["id"] for f in feats] == ["lens-01"]
        assert api.get("/v1/stations/lille-02").status_code == 404
        api.headers["Authorization"] = AUTH["Authorization"]
        feats = api.get("/v1/stations").json()["features"]
        by_id = {f["properties"]["id"]: f for f in feats}
        assert by_id["lens-01"]["geometry"]["coordinates"] == [2.839, 50.449]
        assert by_id["lens-01"]["properties"]["quantities"] == [
            "humidity",
            "pm10",
            "pm2_5",
            "temperature",
        ]
        assert by_id["lille-02"]["properties"]["sensors"] == ["sds011"]

        def ids(**params) -> list[str]:  # type: ignore[no-untyped-def]
            r = api.get("/v1/stations", params=params)
            assert r.status_code == 200, r.text
            return [f["properties"]["id"] for f in r.json()["features"]]

        assert ids(bbox="2.7,50.3,2.9,50.5") == ["lens-01"]
        assert ids(bbox="2.8391,50.4491,2.84,50.45") == []  # exact location is not matched
        assert ids(quantity="temperature") == ["lens-01"]
        assert ids(quantity=["co2", "pm10"]) == ["lens-01", "lille-02"]
        assert ids(active=True) == []  # the dataset is from March 2026
        assert ids(active=False) == ["lens-01", "lille-02"]
        r = api.get("/v1/stations/lille-02")
        assert r.status_code == 200 and r.json()["properties"]["indoor"] is True
        assert api.get("/v1/stations/nope-01").status_code == 404
    with make_client(
        db=series_db, database_url=series_registry_url, public_location_decimals=2
    ) as api:
        assert api.get("/v1/stations/lens-01").json()["geometry"]["coordinates"] == [2.84, 50.45]


def test_qpv_filter_uses_the_real_polygons(make_client, series_db, tmp_path) -> None:
    """``qpv=`` on /v1/stations and /v1/series places the exact locations in the bundled QPV
    polygons (api/data/qpv_hauts_de_france.geojson): demo-fleet stations of Lens and Lille,
    one of them 4 m outside its nearest QPV."""
    url = f"sqlite:///{tmp_path / 'qpv.sqlite'}"
    reg = Registry(url)
    try:
        reg.add("lens-01", 50.449123, 2.839054)  # the dataset's stations
        reg.add("lille-02", 50.6212, 3.0583, indoor=True)
        for s in FLEET:
            reg.add(s.id, s.lat, s.lon, s.name)
    finally:
        reg.close()

    with make_client(db=series_db, database_url=url) as api:

        def ids(**params) -> list[str]:  # type: ignore[no-untyped-def]
            r = api.get("/v1/stations", params=params)
            assert r.status_code == 200, r.text
            return [f["properties"]["id"] for f in r.json()["features"]]

        # Lens, "Grande Résidence"
        assert ids(qpv="QP062025") == ["lens-01", "lens-grande-residence"]
        # Lens, "Cité 2": lens-centre is ~270 m outside it
        assert ids(qpv="QP062026") == ["lens-cite-2"]
        assert ids(qpv="qp059074") == ["lille-secteur-sud"]  # code case ignored
        r = api.get("/v1/stations", params={"qpv": "QP059074"}, headers=AUTH)  # lille-02: indoor
        assert [f["properties"]["id"] for f in r.json()["features"]] == [
            "lille-02",
            "lille-secteur-sud",
        ]
        assert ids(qpv="QP059076") == []  # lille-secteur-nord is 4 m outside the polygon
        assert ids(qpv="QP062025", bbox="2.7,50.3,2.9,50.5") == ["lens-01", "lens-grande-residence"]
        assert ids(qpv="QP062025", bbox="3.0,50.6,3.1,50.7") == []

        r = api.get("/v1/stations", params={"qpv": "QP000000"})
        assert r.status_code == 404 and "QP000000" in r.json()["detail"], r.text
        for bad in ("QP062025;DROP", "QP 062025", "é", "QP062025\n"):
            r = api.get("/v1/stations", params={"qpv": bad})
            assert r.status_code == 400 and "qpv" in r.json()["detail"], (bad, r.text)

        start = (T0 + pd.Timedelta(days=1)).floor("D")
        period = {
            "quantity": "pm2_5",
            "start": start.isoformat(),
            "end": (start + pd.Timedelta(days=1)).isoformat(),
            "every": "1d",
        }
        r = api.get("/v1/series", params={"qpv": "QP062025", **period})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["stations"] == ["lens-01", "lens-grande-residence"]
        assert {p["station"] for p in body["points"]} == {"lens-01"}  # the other has no data
        r = api.get("/v1/series", params={"qpv": "QP059074", "station": "lens-01", **period})
        assert r.status_code == 200 and r.json()["stations"] == [], r.text
        r = api.get("/v1/series", params={"qpv": "QP000000", **period})
        assert r.status_code == 404, r.text
