"""Indoor stations are private to their owner (issue 17): every public route that serves a
station's readings, aggregates or locations answers 404 for an indoor station to anyone but the
holder of its token and the admin, and selections by place leave it out; a station moved
outdoors keeps the readings of its indoor placement private."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from api.registry import Registry, placements_t
from tests.api.api_server import ADMIN_TOKEN
from tests.api.series_data import T0, T1

pytestmark = pytest.mark.services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PERIOD = f"start={T0.isoformat()}&end={T1.isoformat()}".replace("+", "%2B")
BOTH = "2.7,50.3,3.2,50.7"  # lens-01 (outdoor) and lille-02 (indoor)
MOVE = pd.Timestamp("2026-03-29T12:00:00Z")  # lens-01 indoors before, outdoors since


def basic(station: str, token: str) -> dict[str, str]:
    pair = base64.b64encode(f"{station}:{token}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _registry(path: Path) -> tuple[str, dict[str, str]]:
    url = f"sqlite:///{path}"
    reg = Registry(url)
    try:
        tokens = {
            "lens-01": reg.add("lens-01", 50.449123, 2.839054, "Grande Résidence"),
            "lille-02": reg.add("lille-02", 50.6212, 3.0583, "Chez Amina", indoor=True),
        }
    finally:
        reg.close()
    return url, tokens


# every route of one station that shows its readings, aggregates, location or hardware
STATION_ROUTES = [
    "/v1/stations/lille-02",
    "/v1/stations/lille-02/placements",
    "/v1/stations/lille-02/hardware",
    f"/v1/stations/lille-02/series?quantity=pm10&every=1d&{PERIOD}",
    f"/v1/stations/lille-02/series?quantity=pm10&every=raw&start={T0.isoformat()}"
    f"&end={(T0 + pd.Timedelta(hours=6)).isoformat()}".replace("+", "%2B"),
    f"/v1/stations/lille-02/series?quantity=pm10&every=1h&format=csv&{PERIOD}",
    f"/v1/stations/lille-02/series?quantity=pm10&every=1h&format=parquet&{PERIOD}",
    "/v1/indices/atmo/stations/lille-02?day=2026-03-29",
    "/v1/indices/annual/stations/lille-02?year=2026",
    f"/v1/series?station=lille-02&quantity=pm10&every=1d&{PERIOD}",
    f"/v1/series?station=lens-01&station=lille-02&quantity=pm10&every=1d&{PERIOD}",
    f"/v1/series?station=lille-02&quantity=pm10&every=1d&format=csv&{PERIOD}",
]


@pytest.mark.parametrize("route", STATION_ROUTES)
def test_an_indoor_station_answers_only_to_its_owner_and_the_admin(
    make_client, series_db, tmp_path, route: str
) -> None:
    url, tokens = _registry(tmp_path / "reg.sqlite")
    owner = basic("lille-02", tokens["lille-02"])
    owner_bearer = {"Authorization": f"Bearer {tokens['lille-02']}"}
    neighbour = basic("lens-01", tokens["lens-01"])
    with make_client(db=series_db, database_url=url) as api:
        for who in ({}, neighbour):  # anyone, and another station's token
            r = api.get(route, headers=who)
            assert r.status_code == 404, (who, r.text)
            assert "lille-02" in r.json()["detail"]  # as for a station that does not exist
        for who in (owner, ADMIN):
            r = api.get(route, headers=who)
            assert r.status_code == 200, r.text
            if "series" in route and "format" not in route:  # the readings themselves
                assert "lille-02" in {p["station"] for p in r.json()["points"]}
            elif "parquet" in route:
                table = pq.read_table(io.BytesIO(r.content))
                assert set(table.column("station").to_pylist()) == {"lille-02"}
            elif "csv" in route:
                assert "lille-02" in set(pd.read_csv(io.StringIO(r.text), comment="#")["station"])
        if "station=lens-01&" not in route:  # a Bearer token names its one station
            assert api.get(route, headers=owner_bearer).status_code == 200


def test_calibrated_series_and_wrong_credentials(make_client, series_db, tmp_path) -> None:
    url, tokens = _registry(tmp_path / "reg.sqlite")
    owner = basic("lille-02", tokens["lille-02"])
    with make_client(db=series_db, database_url=url) as api:
        # calibration: 404 for anyone, past it for the owner (no fit for it: 409)
        route = (
            "/v1/stations/lille-02/calibrated?start=2026-03-28T00:00:00Z&end=2026-03-30T00:00:00Z"
        )
        assert api.get(route).status_code == 404
        assert api.get(route, headers=owner).status_code == 409
        # wrong credentials: 401 whatever the station (it tells nothing of lille-02)
        for bad in (
            basic("lille-02", "nope"),
            basic("nobody-1", "nope"),
            {"Authorization": "Bearer x"},
            {"Authorization": "Basic !!"},
        ):
            for route in ("/v1/stations/lille-02", "/v1/stations/lens-01"):
                r = api.get(route, headers=bad)
                assert r.status_code == 401 and "WWW-Authenticate" in r.headers, (route, bad)


def test_selections_by_place_and_lists_leave_indoor_stations_out(
    make_client, series_db, tmp_path
) -> None:
    url, tokens = _registry(tmp_path / "reg.sqlite")
    owner = basic("lille-02", tokens["lille-02"])
    with make_client(db=series_db, database_url=url) as api:
        for fmt in ("json", "csv"):
            route = f"/v1/series?bbox={BOTH}&quantity=pm10&every=1d&format={fmt}&{PERIOD}"
            seen = {}
            for name, who in (("anyone", {}), ("owner", owner), ("admin", ADMIN)):
                r = api.get(route, headers=who)
                assert r.status_code == 200, r.text
                if fmt == "json":
                    assert r.json()["stations"] == (
                        ["lens-01"] if name == "anyone" else ["lens-01", "lille-02"]
                    )
                    seen[name] = {p["station"] for p in r.json()["points"]}
                else:
                    rows = pd.read_csv(io.StringIO(r.text), comment="#")
                    seen[name] = set(rows["station"])
            assert seen == {
                "anyone": {"lens-01"},
                "owner": {"lens-01", "lille-02"},
                "admin": {"lens-01", "lille-02"},
            }
        # a QPV selection: lille-02 stands in QP059074 but is indoors
        r = api.get(f"/v1/series?qpv=QP059074&quantity=pm10&every=1d&{PERIOD}")
        assert r.status_code == 200 and r.json()["stations"] == [], r.text

        def listed(headers: dict[str, str], **params: str) -> list[str]:
            r = api.get("/v1/stations", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return [f["properties"]["id"] for f in r.json()["features"]]

        assert listed({}) == ["lens-01"]
        assert listed({}, bbox=BOTH) == ["lens-01"]
        assert listed({}, qpv="QP059074") == []
        assert listed({}, quantity="pm10") == ["lens-01"]
        assert listed(owner) == listed(ADMIN) == ["lens-01", "lille-02"]
        assert listed(owner, qpv="QP059074") == ["lille-02"]
        assert api.get("/v1/stations").json()["numberMatched"] == 1


def test_readings_of_an_indoor_placement_stay_private_after_a_move_outdoors(
    make_client, series_db, tmp_path
) -> None:
    """lens-01 stood indoors until MOVE and outdoors since: anyone reads its readings from
    MOVE on, its owner and the admin read them all."""
    url, tokens = _registry(tmp_path / "reg.sqlite")
    engine = sa.create_engine(url)
    move = MOVE.to_pydatetime()
    with engine.begin() as conn:
        conn.execute(placements_t.delete().where(placements_t.c.station_id == "lens-01"))
        for valid_from, valid_to, indoor in (
            (move - timedelta(days=30), move, True),
            (move, None, False),
        ):
            conn.execute(
                placements_t.insert().values(
                    station_id="lens-01",
                    valid_from=valid_from,
                    valid_to=valid_to,
                    lat=50.449123,
                    lon=2.839054,
                    indoor=indoor,
                    precision=3,
                )
            )
    engine.dispose()
    owner = basic("lens-01", tokens["lens-01"])

    def first_time(route: str, headers: dict[str, str]) -> datetime:
        r = api.get(route, headers=headers)
        assert r.status_code == 200, r.text
        times = [p["time"] for p in r.json()["points"] if p["station"] == "lens-01"]
        assert times, route
        return min(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)

    with make_client(db=series_db, database_url=url) as api:
        for route in (
            f"/v1/stations/lens-01/series?quantity=pm2_5&every=1h&{PERIOD}",
            f"/v1/stations/lens-01/series?quantity=pm2_5&every=raw&start="
            f"{(MOVE - pd.Timedelta(hours=3)).isoformat()}&end={T1.isoformat()}".replace(
                "+", "%2B"
            ),
            f"/v1/series?bbox={BOTH}&quantity=pm2_5&every=1h&{PERIOD}",
            f"/v1/series?station=lens-01&quantity=pm2_5&every=1h&{PERIOD}",
        ):
            assert first_time(route, {}) >= move, route
            assert first_time(route, owner) < move, route
            assert first_time(route, ADMIN) < move, route
        # its indoor placement is not shown either
        r = api.get("/v1/stations/lens-01/placements").json()["placements"]
        assert [p["indoor"] for p in r] == [False]
        r = api.get("/v1/stations/lens-01/placements", headers=owner).json()["placements"]
        assert [p["indoor"] for p in r] == [True, False]
        # the index of a day spent indoors: no data for anyone, the owner's own
        route = "/v1/indices/atmo/stations/lens-01?day=2026-03-28"
        assert "pm10" in api.get(route).json()["index"]["missing"]
        assert "pm10" not in api.get(route, headers=owner).json()["index"]["missing"]
        assert datetime.now(UTC) > move  # the placements above are history
