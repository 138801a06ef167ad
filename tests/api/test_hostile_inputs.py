"""Hostile values in every parameter of every endpoint: each one gets a clear 4xx, none reaches
InfluxQL or SQL as text (the stored data and the registry are intact afterwards)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import httpx
import pytest

from airq_core.wire import STATION_ID_RE
from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

HOSTILE = [
    "lens-01' OR '1'='1",
    'lens-01" OR "1"="1',
    'pm2_5" FROM "raw"."readings"; DROP DATABASE "airquartiers"; --',
    "1h); DROP MEASUREMENT readings; --",
    "x'; DROP TABLE stations; --",
    "$s0",
    "/.*/",
    "*",
    "lens-01\x00",
    "lens-01\n",
    "‮10-snel",
    "../../etc/passwd",
    "%27%3B",
    "nan",
    "inf",
    "-1",
    "1e309",
    "9" * 40,
    "a" * 3000,
    "",
    " ",
    "now() - 1d",
]
SERIES_PARAMS = [
    "station",
    "quantity",
    "bbox",
    "qpv",
    "start",
    "end",
    "every",
    "agg",
    "tz",
    "format",
    "sensor",
]
STATION_SERIES_PARAMS = ["quantity", "start", "end", "every", "agg", "tz", "format", "sensor"]
STATIONS_PARAMS = ["bbox", "quantity", "active", "qpv", "include_retired"]
# a day of the fixed dataset of series_data.py (stored with an infinite retention: see there)
VALID_SERIES = {
    "station": "lens-01",
    "quantity": "pm2_5",
    "start": "2026-03-28T00:00:00Z",
    "end": "2026-03-28T06:00:00Z",
    "every": "1h",
}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _snapshot(influxd, db: str, api) -> tuple:  # type: ignore[no-untyped-def]
    counts = influxd.query('SELECT count(*) FROM "raw"."readings"', db)
    agg = influxd.query('SELECT count(*) FROM "agg"."readings_1h"', db)
    dbs = influxd.query("SHOW DATABASES")
    stations = api.get("/v1/admin/stations", headers=ADMIN).json()
    return counts, agg, dbs["results"][0]["series"][0]["values"].count([db]), stations


@pytest.fixture(scope="module")
def before(client, influxd, series_db):  # type: ignore[no-untyped-def]
    return _snapshot(influxd, series_db, client)


def _assert_4xx(r, what: str) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    assert r.json().get("detail"), what


def _check(r, param: str, value: str) -> None:  # type: ignore[no-untyped-def]
    if not value.strip(" "):
        # a blank optional parameter may mean its default; it must still not break anything
        assert r.status_code < 500, (param, value, r.text[:300])
        return
    _assert_4xx(r, f"{param}={value[:40]!r}")


@pytest.mark.parametrize("param", SERIES_PARAMS)
def test_series_parameters(client, before, param: str) -> None:  # type: ignore[no-untyped-def]
    for value in HOSTILE:
        r = client.get("/v1/series", params={**VALID_SERIES, param: value})
        _check(r, param, value)


@pytest.mark.parametrize("param", STATION_SERIES_PARAMS)
def test_station_series_parameters(client, before, param: str) -> None:  # type: ignore[no-untyped-def]
    params = {k: v for k, v in VALID_SERIES.items() if k != "station"}
    for value in HOSTILE:
        r = client.get("/v1/stations/lens-01/series", params={**params, param: value})
        _check(r, param, value)


@pytest.mark.parametrize("param", STATIONS_PARAMS)
def test_stations_parameters(client, before, param: str) -> None:  # type: ignore[no-untyped-def]
    for value in HOSTILE:
        r = client.get("/v1/stations", params={param: value})
        _check(r, param, value)


def test_path_parameters(client, before) -> None:  # type: ignore[no-untyped-def]
    for raw in HOSTILE:
        if not raw.strip() or "/" in raw:
            continue  # another route (or none): 404/405 from the router
        value = quote(raw, safe="")
        for path in (
            f"/v1/stations/{value}",
            f"/v1/stations/{value}/series?quantity=pm2_5",
            f"/v1/admin/stations/{value}/retire",
            f"/v1/admin/stations/{value}/token",
        ):
            method = client.post if "/admin/" in path else client.get
            r = method(path, headers=ADMIN)
            _assert_4xx(r, f"{path[:60]!r}")
        r = client.patch(f"/v1/admin/stations/{value}", json={"name": "x"}, headers=ADMIN)
        _assert_4xx(r, f"PATCH {value[:40]!r}")


def _valid_id(v: str) -> bool:
    return bool(STATION_ID_RE.fullmatch(v)) and not v.startswith("airq-")


def _valid_lat(v: str) -> bool:
    try:
        return -90 <= float(v) <= 90
    except ValueError:
        return False


def test_admin_bodies(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client() as api:
        for value in HOSTILE:
            cases = (
                ({"id": value, "lat": 50, "lon": 3}, _valid_id(value)),
                ({"id": "x-01", "lat": value, "lon": 3}, _valid_lat(value)),
                ({"id": "x-01", "lat": 50, "lon": 3, "indoor": value}, False),
            )
            for body, acceptable in cases:
                r = api.post("/v1/admin/stations", json=body, headers=ADMIN)
                if acceptable:
                    assert r.status_code in (201, 409), (body, r.text[:200])
                else:
                    _assert_4xx(r, f"body {body!r:.60}")
            r = api.patch("/v1/admin/stations/x-01", json={"lat": value}, headers=ADMIN)
            if not _valid_lat(value):
                _assert_4xx(r, f"PATCH lat={value[:40]!r}")
            try:
                r = api.get("/v1/admin/stations", headers={"Authorization": f"Bearer {value}"})
            except (ValueError, httpx.LocalProtocolError):
                continue  # not sendable as a header at all
            assert r.status_code in (401, 403), value
        ids = {s["id"] for s in api.get("/v1/admin/stations", headers=ADMIN).json()}
        assert all(_valid_id(i) for i in ids)


def test_ingest_credentials(client, before) -> None:  # type: ignore[no-untyped-def]
    for value in HOSTILE:
        basic = base64.b64encode(f"{value}:{value}".encode()).decode()
        for headers, params in (
            ({"Authorization": f"Basic {basic}"}, {}),
            ({"Authorization": f"Bearer {value}"}, {"station": value}),
            ({"Authorization": f"Basic {value}"}, {}),
        ):
            try:
                r = client.post("/v1/ingest/readings", params=params, json={}, headers=headers)
            except (ValueError, httpx.LocalProtocolError):
                continue  # not sendable as a header at all
            assert r.status_code in (400, 401), (value[:40], r.status_code)


def test_nothing_was_harmed(client, influxd, series_db, before) -> None:  # type: ignore[no-untyped-def]
    assert _snapshot(influxd, series_db, client) == before
    r = client.get("/v1/stations/lens-01/series", params={**VALID_SERIES, "agg": "count"})
    assert r.status_code == 200 and len(r.json()["points"]) == 6


@pytest.mark.parametrize("route", ["/v1/qpv/exposure.geojson", "/v1/series"])
@pytest.mark.parametrize("value", ["1764892800000", "253402300800", "-1", "9999-12-31T23:59:59Z"])
def test_times_outside_1970_2100_are_refused_with_400(  # type: ignore[no-untyped-def]
    make_client, series_db, series_registry_url, route, value
) -> None:
    # 1764892800000: a Grafana ${__from} in milliseconds read as seconds (year ~57 900)
    with make_client(db=series_db, database_url=series_registry_url) as api:
        r = api.get(route, params={"start": value, "quantity": "pm2_5", "station": "lens-01"})
        assert r.status_code == 400, r.text
        assert "'start'" in r.json()["detail"]
