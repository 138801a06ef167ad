"""The station registry on SQLite and on PostgreSQL (real servers): the same behaviour, tokens
stored only as Mosquitto-compatible hashes, several replicas sharing one database."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from api.registry import SOURCE_OWN, SOURCE_SENSOR_COMMUNITY, Registry, RegistryError


@pytest.fixture
def reg(registry_url: str):  # type: ignore[no-untyped-def]
    r = Registry(registry_url)
    yield r
    r.close()


def test_create_update_retire_rotate(reg: Registry) -> None:
    token = reg.add("lens-01", 50.449123, 2.839054, "Grande Résidence")
    assert reg.verify_token("lens-01", token)
    assert not reg.verify_token("lens-01", token + "x")
    s = reg.get("lens-01")
    assert s is not None and (s.lat, s.lon, s.name, s.indoor) == (
        50.449123,
        2.839054,
        "Grande Résidence",
        False,
    )
    assert s.source == SOURCE_OWN and s.created_at is not None

    s = reg.update("lens-01", name="École Jean Macé", lat=50.45, indoor=True)
    assert (s.name, s.lat, s.lon, s.indoor) == ("École Jean Macé", 50.45, 2.839054, True)
    with pytest.raises(RegistryError, match="coordinates"):
        reg.update("lens-01", lon=200.0)
    with pytest.raises(RegistryError, match="no station"):
        reg.update("nowhere-1", name="x")

    new = reg.rotate_token("lens-01")
    assert reg.verify_token("lens-01", new) and not reg.verify_token("lens-01", token)

    reg.retire("lens-01")
    assert not reg.verify_token("lens-01", new)
    assert reg.list() == []
    (retired,) = reg.list(include_retired=True)
    assert retired.retired_at is not None


def test_tokens_are_stored_as_mosquitto_pbkdf2_hashes(reg: Registry) -> None:
    token = reg.add("lille-02", 50.62, 3.05)
    stored = reg.mosquitto_users()["lille-02"]
    assert stored.startswith("$7$101$") and token not in stored
    with reg.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM stations")).mappings().one()
    assert token not in " ".join(str(v) for v in row.values())


def test_duplicates_and_bad_ids_are_refused(reg: Registry) -> None:
    reg.add("lens-01", 50.4, 2.8)
    with pytest.raises(RegistryError, match="already exists"):
        reg.add("lens-01", 50.4, 2.8)
    for bad in ("Lens-01", "a", "lens_01", "lens-01'; DROP TABLE stations; --", "airq-api"):
        with pytest.raises(RegistryError):
            reg.add(bad, 50.4, 2.8)
    assert [s.id for s in reg.list()] == ["lens-01"]


def test_ensure_is_idempotent_and_keeps_the_source(reg: Registry) -> None:
    assert reg.ensure("sc-3121", 57.138, -2.077, "sc", source=SOURCE_SENSOR_COMMUNITY)
    assert not reg.ensure("sc-3121", 0.0, 0.0, "other")
    s = reg.get("sc-3121")
    assert s is not None and (s.lat, s.source) == (57.138, SOURCE_SENSOR_COMMUNITY)


def test_two_replicas_share_the_registry(registry_url: str) -> None:
    a, b = Registry(registry_url), Registry(registry_url)
    try:
        token = a.add("roubaix-03", 50.69, 3.17)
        assert b.verify_token("roubaix-03", token)
        b.update("roubaix-03", name="Pile")
        s = a.get("roubaix-03")
        assert s is not None and s.name == "Pile"
        # both replicas create the same imported station at once: one row, no error
        barrier = threading.Barrier(2)
        results: list[bool] = []

        def create(r: Registry) -> None:
            barrier.wait()
            results.append(r.ensure("sc-42", 50.0, 3.0, source=SOURCE_SENSOR_COMMUNITY))

        threads = [threading.Thread(target=create, args=(r,)) for r in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(results) == [False, True]
        assert [s.id for s in a.list()] == ["roubaix-03", "sc-42"]
    finally:
        a.close()
        b.close()


def test_a_registry_from_an_earlier_version_gains_the_source_column(registry_url: str) -> None:
    engine = sa.create_engine(registry_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE stations (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL "
                "DEFAULT '', lat FLOAT NOT NULL, lon FLOAT NOT NULL, indoor BOOLEAN NOT NULL "
                "DEFAULT false, token_hash VARCHAR(200) NOT NULL, created_at TIMESTAMP NOT NULL, "
                "retired_at TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO stations (id, lat, lon, token_hash, created_at) "
                "VALUES ('old-01', 50.1, 3.1, '$7$101$x$y', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    reg = Registry(registry_url)
    try:
        (s,) = reg.list()
        assert (s.id, s.source) == ("old-01", SOURCE_OWN)
        reg.add("new-01", 50.2, 3.2, source=SOURCE_SENSOR_COMMUNITY)
        assert reg.get("new-01").source == SOURCE_SENSOR_COMMUNITY  # type: ignore[union-attr]
    finally:
        reg.close()


def test_station_lookups_see_every_change_at_once(registry_url: str) -> None:
    """SQLite lookups are remembered until anything is committed to the file; whoever
    commits (this registry, another one, another program), the next lookup sees it."""
    a, b = Registry(registry_url), Registry(registry_url)
    try:
        a.add("lens-07", 50.43, 2.83, name="Avant")
        assert a.get("lens-07").name == "Avant"  # type: ignore[union-attr]
        assert a.get("lens-07") is a.get("lens-07") or not a.embedded  # remembered
        assert a.get("nowhere-1") is None
        b.update("lens-07", name="Après")  # another registry (another API replica)
        assert a.get("lens-07").name == "Après"  # type: ignore[union-attr]
        b.add("nowhere-1", 50.0, 3.0)  # an id looked up as unknown, then created
        assert a.get("nowhere-1") is not None
        a.retire("lens-07")  # this registry
        assert a.get("lens-07").retired_at is not None  # type: ignore[union-attr]
        # another program writing to the database (the CLI on the same file)
        other = sa.create_engine(registry_url)
        with other.begin() as conn:
            conn.execute(sa.text("UPDATE stations SET name = 'Rue' WHERE id = 'nowhere-1'"))
        other.dispose()
        assert a.get("nowhere-1").name == "Rue"  # type: ignore[union-attr]
    finally:
        a.close()
        b.close()


def test_a_registry_in_memory_is_not_remembered_wrongly() -> None:
    r = Registry("sqlite://")
    try:
        r.add("lens-08", 50.43, 2.83, name="Avant")
        assert r.get("lens-08").name == "Avant"  # type: ignore[union-attr]
        r.update("lens-08", name="Après")
        assert r.get("lens-08").name == "Après"  # type: ignore[union-attr]
    finally:
        r.close()


def test_add_many_creates_every_station_with_its_placement_in_one_step(reg: Registry) -> None:
    from api.registry import NewStation

    reg.add("lens-01", 50.449, 2.839)
    fleet = [NewStation(f"sc-{i:05d}", 50 + i / 1e5, 3.0, f"n{i}", i % 2 == 0) for i in range(2500)]
    tokens = reg.add_many(fleet)
    assert len(tokens) == len(set(tokens)) == 2500
    assert reg.verify_token("sc-00007", tokens[7]) and not reg.verify_token("sc-00007", tokens[8])
    s = reg.get("sc-02499")
    assert s is not None and (s.lat, s.name, s.indoor) == (50.02499, "n2499", False)
    (place,) = reg.placements("sc-00010")
    assert place.valid_to is None and place.indoor and place.lat == 50.0001
    assert reg.existing_ids(["sc-00001", "lens-01", "nope-01"]) == {"sc-00001", "lens-01"}
    assert [s.id for s in reg.list_page(limit=3)] == ["lens-01", "sc-00000", "sc-00001"]
    assert [s.id for s in reg.list_page(after="sc-02497", limit=5)] == ["sc-02498", "sc-02499"]
    reg.retire("sc-00000")
    assert reg.count() == 2500 and reg.count(include_retired=True) == 2501


def test_add_many_is_all_or_nothing(reg: Registry) -> None:
    from api.registry import NewStation

    reg.add("lens-01", 50.449, 2.839)
    good = [NewStation("sc-00001", 50.1, 3.0), NewStation("sc-00002", 50.2, 3.0)]
    for bad, why in (
        (NewStation("lens-01", 50.3, 3.0), "already exists"),  # exists
        (NewStation("sc-00001", 50.3, 3.0), "given twice"),
        (NewStation("sc-00003", 95.0, 3.0), "coordinates"),
        (NewStation("Bad Id", 50.3, 3.0), "invalid station id"),
    ):
        with pytest.raises(RegistryError, match=why):
            reg.add_many([*good, bad])
        assert [s.id for s in reg.list()] == ["lens-01"]
        assert reg.placements("sc-00001") == []
    assert reg.add_many([]) == []
