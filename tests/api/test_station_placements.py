"""Where a station was: placements in the registry (SQLite and PostgreSQL), the migration of a
registry made before placements existed, and the public placements listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.registry import Registry, RegistryError
from tests.api.api_server import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def reg(registry_url: str):  # type: ignore[no-untyped-def]
    r = Registry(registry_url, public_decimals=2)
    yield r
    r.close()


def test_creation_opens_the_first_placement(reg: Registry) -> None:
    reg.add("lens-01", 50.449123, 2.839054)
    (p,) = reg.placements("lens-01")
    s = reg.get("lens-01")
    assert s is not None
    assert p.valid_from == s.created_at and p.valid_to is None
    assert (p.lat, p.lon, p.indoor, p.precision) == (50.449123, 2.839054, False, 2)


def test_a_move_closes_the_placement_and_a_rename_does_not(reg: Registry) -> None:
    reg.add("lens-01", 50.449, 2.839)
    reg.update("lens-01", name="École")
    assert len(reg.placements("lens-01")) == 1
    moved = datetime.now(UTC)
    s = reg.update("lens-01", lat=50.46, lon=2.85, moved_at=moved)
    assert (s.lat, s.lon, s.name) == (50.46, 2.85, "École")
    first, second = reg.placements("lens-01")
    assert first.valid_to == moved == second.valid_from and second.valid_to is None
    assert (first.lat, first.lon) == (50.449, 2.839) and (second.lat, second.lon) == (50.46, 2.85)
    # indoor alone is a move too (default time: now)
    reg.update("lens-01", indoor=True)
    third = reg.placements("lens-01")[-1]
    assert third.indoor and third.valid_from > moved and third.valid_to is None
    # the same location again is not a move
    reg.update("lens-01", lat=50.46)
    assert len(reg.placements("lens-01")) == 3


def test_moves_in_the_future_or_before_the_placement_are_refused(reg: Registry) -> None:
    reg.add("lens-01", 50.449, 2.839)
    with pytest.raises(RegistryError, match="in the future"):
        reg.update("lens-01", lat=50.5, moved_at=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(RegistryError, match="before the start of the current placement"):
        reg.update("lens-01", lat=50.5, moved_at=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(RegistryError, match="nothing moves"):
        reg.update("lens-01", moved_at=datetime.now(UTC))
    # refused: nothing changed
    s = reg.get("lens-01")
    assert s is not None and s.lat == 50.449 and len(reg.placements("lens-01")) == 1


def test_placements_between_gives_the_overlapping_ones(reg: Registry) -> None:
    reg.add("lens-01", 50.449, 2.839)
    reg.add("lens-02", 50.44, 2.83)
    t_move = datetime.now(UTC)
    reg.update("lens-01", lat=50.5, moved_at=t_move)
    now = datetime.now(UTC)
    got = reg.placements_between(["lens-01", "lens-02", "nowhere-1"], now - timedelta(days=1), now)
    assert [p.lat for p in got["lens-01"]] == [50.449, 50.5] and len(got["lens-02"]) == 1
    assert "nowhere-1" not in got
    after = reg.placements_between(["lens-01"], t_move.timestamp() + 0.05, now.timestamp())
    assert [p.lat for p in after["lens-01"]] == [50.5]
    before = reg.placements_between(["lens-01"], now - timedelta(days=1), t_move)
    assert [p.lat for p in before["lens-01"]] == [50.449]
    (first,) = before["lens-01"]
    span = first.span(0, now.timestamp())
    assert span is not None and span[1] == pytest.approx(t_move.timestamp())


def test_migration_gives_old_stations_one_placement_from_creation(registry_url: str) -> None:
    created = datetime.now(UTC) - timedelta(days=30)
    engine = sa.create_engine(registry_url)
    with engine.begin() as conn:  # the schema before placements (and before `source`)
        conn.execute(
            sa.text(
                "CREATE TABLE stations (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL "
                "DEFAULT '', lat FLOAT NOT NULL, lon FLOAT NOT NULL, indoor BOOLEAN NOT NULL "
                "DEFAULT false, token_hash VARCHAR(200) NOT NULL, created_at TIMESTAMP WITH "
                "TIME ZONE NOT NULL, retired_at TIMESTAMP WITH TIME ZONE)"
            )
        )
        for sid, lat, indoor in (("lens-01", 50.449123, False), ("lens-02", 50.44, True)):
            conn.execute(
                sa.text(
                    "INSERT INTO stations (id, lat, lon, indoor, token_hash, created_at) "
                    "VALUES (:id, :lat, 2.83, :indoor, 'x', :created)"
                ),
                {"id": sid, "lat": lat, "indoor": indoor, "created": created},
            )
    engine.dispose()
    for _ in range(2):  # idempotent: opened twice, still one placement each
        reg = Registry(registry_url, public_decimals=3)
        try:
            (p1,) = reg.placements("lens-01")
            (p2,) = reg.placements("lens-02")
        finally:
            reg.close()
        assert p1.valid_from == created and p1.valid_to is None
        assert (p1.lat, p1.lon, p1.indoor, p1.precision) == (50.449123, 2.83, False, 3)
        assert p2.indoor
    reg = Registry(registry_url)
    try:  # and a move after the migration closes the migrated placement
        reg.update("lens-01", lat=50.5, moved_at=created + timedelta(days=3))
        first, second = reg.placements("lens-01")
        assert first.valid_to == second.valid_from == created + timedelta(days=3)
    finally:
        reg.close()


@pytest.mark.services
def test_placements_route_and_patch_moved_at(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(public_location_decimals=2) as api:
        body = {"id": "lens-01", "lat": 50.449123, "lon": 2.839054}
        assert api.post("/v1/admin/stations", json=body, headers=AUTH).status_code == 201
        future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        r = api.patch(
            "/v1/admin/stations/lens-01", json={"lat": 50.5, "moved_at": future}, headers=AUTH
        )
        assert r.status_code == 400 and "future" in r.text
        moved = datetime.now(UTC)
        r = api.patch(
            "/v1/admin/stations/lens-01",
            json={"lat": 50.512345, "indoor": True, "moved_at": moved.isoformat()},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        # indoor now: unknown to anyone but its owner and the admin
        assert api.get("/v1/stations/lens-01/placements").status_code == 404
        r = api.get("/v1/stations/lens-01/placements", headers=AUTH)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["station"] == "lens-01"
        first, second = doc["placements"]
        assert (first["lat"], first["lon"], first["indoor"], first["precision"]) == (
            50.45,
            2.84,
            False,
            2,
        )
        assert first["valid_to"] == second["valid_from"]
        got = datetime.fromisoformat(second["valid_from"].replace("Z", "+00:00"))
        assert abs((got - moved).total_seconds()) < 0.001
        assert (second["lat"], second["indoor"], second["valid_to"]) == (50.51, True, None)
        assert api.get("/v1/stations/nowhere-1/placements").status_code == 404
        assert api.get("/v1/stations/NOPE!/placements").status_code == 404
