"""The public precision of a station's location, chosen by its owner: in the registry (SQLite
and PostgreSQL), given at registration (single and bulk) and changed later through the admin
API, and used by every public output (station list and record, placements, series export
header)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.registry import DEPLOYMENT_DEFAULT, NewStation, Registry, RegistryError
from tests.api.api_server import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LAT, LON = 50.4491234, 2.8390567


@pytest.fixture
def reg(registry_url: str):  # type: ignore[no-untyped-def]
    r = Registry(registry_url, public_decimals=3)
    yield r
    r.close()


def test_a_station_keeps_the_precision_chosen_at_registration(reg: Registry) -> None:
    reg.add("lens-01", LAT, LON, precision=2)
    reg.add("lens-02", LAT, LON)
    reg.add_many([NewStation("lens-03", LAT, LON, precision=5), NewStation("lens-04", LAT, LON)])
    got = {s.id: s.precision for s in reg.list()}
    assert got == {"lens-01": 2, "lens-02": None, "lens-03": 5, "lens-04": None}
    # the current placement is published at the station's precision, else the deployment's
    assert [reg.placements(f"lens-0{i}")[0].precision for i in (1, 2, 3, 4)] == [2, 3, 5, 3]


@pytest.mark.parametrize("bad", [1, 6, 0, -3, True, "3", 3.0])
def test_precisions_outside_two_to_five_are_refused(reg: Registry, bad: object) -> None:
    with pytest.raises(RegistryError, match="invalid precision"):
        reg.add("lens-01", LAT, LON, precision=bad)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="invalid precision"):
        reg.add_many([NewStation("lens-02", LAT, LON, precision=bad)])  # type: ignore[arg-type]
    assert reg.list() == []
    reg.add("lens-03", LAT, LON)
    with pytest.raises(RegistryError, match="invalid precision"):
        reg.update("lens-03", precision=bad)  # type: ignore[arg-type]
    s = reg.get("lens-03")
    assert s is not None and s.precision is None


def test_a_precision_alone_moves_nothing_and_coarsens_the_past(reg: Registry) -> None:
    reg.add("lens-01", LAT, LON, precision=4)
    first_move = datetime.now(UTC)
    reg.update("lens-01", lat=50.46, moved_at=first_move)
    reg.update("lens-01", lat=50.47, precision=5)  # a move with its own precision
    # (the first move dropped the finer-than-default 4: the second place got the default)
    assert [p.precision for p in reg.placements("lens-01")] == [4, 3, 5]
    # coarser: the current placement and every past one published more precisely
    s = reg.update("lens-01", precision=3)
    assert s.precision == 3 and (s.lat, s.lon) == (50.47, LON)
    after = reg.placements("lens-01")
    assert len(after) == 3 and after[-1].valid_to is None  # no new placement
    assert [p.precision for p in after] == [3, 3, 3]
    assert after[0].valid_to == first_move == after[1].valid_from  # periods untouched
    # finer: the current placement only; the past is never made more precise
    reg.update("lens-01", precision=5)
    assert [p.precision for p in reg.placements("lens-01")] == [3, 3, 5]
    # back to the deployment's default
    s = reg.update("lens-01", precision=DEPLOYMENT_DEFAULT)
    assert s.precision is None
    assert [p.precision for p in reg.placements("lens-01")] == [3, 3, 3]
    with pytest.raises(RegistryError, match="nothing moves"):
        reg.update("lens-01", precision=2, moved_at=datetime.now(UTC))


def test_a_move_keeps_a_coarse_choice_and_drops_a_fine_one(reg: Registry) -> None:
    reg.add("coarse-1", LAT, LON, precision=2)
    reg.update("coarse-1", lat=50.5)
    s = reg.get("coarse-1")
    assert s is not None and s.precision == 2
    assert [p.precision for p in reg.placements("coarse-1")] == [2, 2]
    # chosen for a public building: not carried into the next place (a home, maybe)
    reg.add("school-1", LAT, LON, precision=5)
    reg.update("school-1", lat=50.5, lon=2.9)
    s = reg.get("school-1")
    assert s is not None and s.precision is None
    # the school placement stays published as it was, the new place at the default
    assert [p.precision for p in reg.placements("school-1")] == [5, 3]


def test_the_current_placement_follows_the_deployments_default(registry_url: str) -> None:
    """A station without a choice is published at the default of whoever publishes it now;
    a placement that ended keeps the precision it was published at."""
    a = Registry(registry_url, public_decimals=3)
    try:
        a.add("lens-01", LAT, LON)
        a.update("lens-01", lat=50.5)
    finally:
        a.close()
    b = Registry(registry_url, public_decimals=2)
    try:
        assert [p.precision for p in b.placements("lens-01")] == [3, 2]
        got = b.placements_between(["lens-01"], 0, datetime.now(UTC) + timedelta(seconds=1))
        assert [p.precision for p in got["lens-01"]] == [3, 2]
    finally:
        b.close()


def test_migration_adds_the_precision_column(registry_url: str) -> None:
    engine = sa.create_engine(registry_url)
    with engine.begin() as conn:  # the stations table before the precision column
        conn.execute(
            sa.text(
                "CREATE TABLE stations (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL "
                "DEFAULT '', lat FLOAT NOT NULL, lon FLOAT NOT NULL, indoor BOOLEAN NOT NULL "
                "DEFAULT false, token_hash VARCHAR(200) NOT NULL, created_at TIMESTAMP WITH "
                "TIME ZONE NOT NULL, retired_at TIMESTAMP WITH TIME ZONE, source VARCHAR(40) "
                "NOT NULL DEFAULT 'airquartiers')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO stations (id, lat, lon, token_hash, created_at) "
                "VALUES ('lens-01', 50.449, 2.839, 'x', :t)"
            ),
            {"t": datetime.now(UTC) - timedelta(days=3)},
        )
    engine.dispose()
    for _ in range(2):  # idempotent
        r = Registry(registry_url)
        try:
            s = r.get("lens-01")
            assert s is not None and s.precision is None
        finally:
            r.close()
    r = Registry(registry_url)
    try:
        assert r.update("lens-01", precision=2).precision == 2
    finally:
        r.close()


def _feature(api, sid: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = api.get(f"/v1/stations/{sid}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.services
def test_precision_through_the_admin_api_and_the_public_outputs(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(public_location_decimals=3) as api:
        body = {"id": "lens-01", "lat": LAT, "lon": LON, "precision": 2}
        r = api.post("/v1/admin/stations", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        assert r.json()["precision"] == 2 and r.json()["lat"] == LAT  # exact for the admin
        feature = _feature(api, "lens-01")
        assert feature["geometry"]["coordinates"] == [2.84, 50.45]
        assert feature["properties"]["precision"] == 2
        listed = api.get("/v1/stations").json()["features"]
        assert [f["geometry"]["coordinates"] for f in listed] == [[2.84, 50.45]]
        # a box around the exact position but off the published one does not find it
        assert (
            api.get("/v1/stations", params={"bbox": "2.838,50.448,2.839,50.449"}).json()["features"]
            == []
        )
        for bad in (1, 6, "3", True, 2.5):
            r = api.post(
                "/v1/admin/stations", json={**body, "id": "lens-09", "precision": bad}, headers=AUTH
            )
            assert r.status_code == 422, (bad, r.text)
            r = api.patch("/v1/admin/stations/lens-01", json={"precision": bad}, headers=AUTH)
            assert r.status_code == 422, (bad, r.text)

        r = api.patch("/v1/admin/stations/lens-01", json={"precision": 4}, headers=AUTH)
        assert r.status_code == 200 and r.json()["precision"] == 4, r.text
        assert (r.json()["lat"], r.json()["lon"]) == (LAT, LON)  # nothing moved
        assert _feature(api, "lens-01")["geometry"]["coordinates"] == [2.8391, 50.4491]
        (p,) = api.get("/v1/stations/lens-01/placements").json()["placements"]
        assert (p["lat"], p["lon"], p["precision"], p["valid_to"]) == (50.4491, 2.8391, 4, None)
        series = api.get(
            "/v1/stations/lens-01/series", params={"quantity": "pm2_5", "every": "raw"}
        )
        assert series.status_code == 200, series.text
        assert series.json()["location"] == {"lat": 50.4491, "lon": 2.8391}

        # null: back to the deployment's default; absent: unchanged
        r = api.patch("/v1/admin/stations/lens-01", json={"name": "École"}, headers=AUTH)
        assert r.json()["precision"] == 4
        r = api.patch("/v1/admin/stations/lens-01", json={"precision": None}, headers=AUTH)
        assert r.status_code == 200 and r.json()["precision"] is None, r.text
        feature = _feature(api, "lens-01")
        assert feature["geometry"]["coordinates"] == [2.839, 50.449]
        assert feature["properties"]["precision"] == 3  # the deployment's
        (p,) = api.get("/v1/stations/lens-01/placements").json()["placements"]
        assert (p["lat"], p["precision"]) == (50.449, 3)


@pytest.mark.services
def test_bulk_registration_takes_a_precision_per_row(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(public_location_decimals=3) as api:
        csv = (
            "id;lat;lon;precision\n"
            f"lens-01;{LAT};{LON};2\n"
            f"lens-02;{LAT};{LON};\n"
            f"lens-03;{LAT};{LON};7\n"
            f"lens-04;{LAT};{LON};deux\n"
        )
        r = api.post(
            "/v1/admin/stations/bulk",
            content=csv.encode(),
            headers={**AUTH, "Content-Type": "text/csv"},
        )
        assert r.status_code == 422, r.text
        rows = r.json()["rows"]
        assert [row.get("code") for row in rows] == [None, None, "bad_precision", "bad_precision"]
        assert "2 to 5" in rows[2]["reason"]
        r = api.post(
            "/v1/admin/stations/bulk",
            content="\n".join(csv.splitlines()[:3]).encode(),
            headers={**AUTH, "Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        items = [
            {"id": "lens-05", "lat": LAT, "lon": LON, "precision": 4},
            {"id": "lens-06", "lat": LAT, "lon": LON, "precision": None},
        ]
        r = api.post("/v1/admin/stations/bulk", json=items, headers=AUTH)
        assert r.status_code == 201, r.text
        r = api.post(
            "/v1/admin/stations/bulk",
            json=[{"id": "lens-07", "lat": LAT, "lon": LON, "precision": 9}],
            headers=AUTH,
        )
        assert r.status_code == 422 and r.json()["rows"][0]["code"] == "bad_precision"
        got = {
            f["properties"]["id"]: f["geometry"]["coordinates"]
            for f in api.get("/v1/stations").json()["features"]
        }
        assert got == {
            "lens-01": [2.84, 50.45],
            "lens-02": [2.839, 50.449],
            "lens-05": [2.8391, 50.4491],
            "lens-06": [2.839, 50.449],
        }
        listed = {
            s["id"]: s["precision"] for s in api.get("/v1/admin/stations", headers=AUTH).json()
        }
        assert listed == {"lens-01": 2, "lens-02": None, "lens-05": 4, "lens-06": None}
