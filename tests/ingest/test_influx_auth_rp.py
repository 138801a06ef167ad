"""InfluxDB with authentication (influxd 1.6.7, ``[http] auth-enabled = true``): an
administrator prepares the database and its retention policies, and the ingest, ``airq rollup
rebuild`` and the importer run as a user with only READ and WRITE on that database (the API as
a user with READ only): readings are stored and rolled up. A missing policy that this user may
not create stops the start-up with the statement to run; one with other settings is kept."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airq.cli import main
from airq.services import InfluxDB
from airq_core import wire
from airq_core.readings import Reading, format_time
from ingest.influx import InfluxSetupError, InfluxWriteError, InfluxWriter
from ingest.service import IngestConfigError, IngestService
from tests.api.api_server import running, settings_for
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, fast_settings

pytestmark = pytest.mark.services

ADMIN = ("airq-admin", "admin-secret-1")
WRITER = ("airq-writer", "writer-secret-2")  # READ and WRITE on the database, not admin
READER = ("airq-reader", "reader-secret-3")  # READ only


class AuthInfluxDB(InfluxDB):
    """influxd with ``[http] auth-enabled = true`` (the rest of the shared configuration)."""

    def write_config(self) -> Path:
        conf = super().write_config()
        text = conf.read_text()
        assert "[http]\n" in text, text
        conf.write_text(text.replace("[http]\n", "[http]\n  auth-enabled = true\n", 1))
        return conf


def q(server: InfluxDB, query: str, auth: tuple[str, str] | None, db: str | None = None):  # type: ignore[no-untyped-def]
    """One InfluxQL statement; (HTTP status, JSON body)."""
    params = {"q": query, "epoch": "ms", **({"db": db} if db else {})}
    r = httpx.post(f"{server.url}/query", params=params, auth=auth, timeout=30)
    return r.status_code, r.json()


def admin(server: InfluxDB, query: str, db: str | None = None) -> dict[str, Any]:
    status, body = q(server, query, ADMIN, db)
    assert status == 200 and "error" not in body["results"][0], body
    return body  # type: ignore[no-any-return]


def policies(server: InfluxDB, db: str) -> dict[str, list[Any]]:
    body = admin(server, f'SHOW RETENTION POLICIES ON "{db}"')
    return {row[0]: row[1:] for row in body["results"][0]["series"][0]["values"]}


def rows(server: InfluxDB, db: str, measurement: str) -> list[list[Any]]:
    body = admin(server, f"SELECT * FROM {measurement}", db)
    series = body["results"][0].get("series", [])
    return [row for s in series for row in s["values"]]


@pytest.fixture(scope="module")
def auth_influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = AuthInfluxDB(tmp_path_factory.mktemp("influxd-auth")).start()
    try:
        # the first user of a server with auth must be an admin, and may be created unauthenticated
        status, body = q(
            server,
            f"CREATE USER \"{ADMIN[0]}\" WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES",
            None,
        )
        assert status == 200, body
        for user, password in (WRITER, READER):
            admin(server, f"CREATE USER \"{user}\" WITH PASSWORD '{password}'")
        yield server
    finally:
        server.stop()


def new_db_name() -> str:
    return f"auth_{uuid.uuid4().hex[:8]}"


def grant(server: InfluxDB, db: str) -> None:
    # ALL on one database is READ and WRITE on it (no admin right); on 1.x a GRANT WRITE after
    # a GRANT READ replaces it, it does not add to it
    admin(server, f'GRANT ALL ON "{db}" TO "{WRITER[0]}"')
    admin(server, f'GRANT READ ON "{db}" TO "{READER[0]}"')


@pytest.fixture
def prepared_db(auth_influxd: InfluxDB) -> str:
    """What an operator runs once as administrator (docs/ingest.md), raw kept forever."""
    db = new_db_name()
    admin(auth_influxd, f'CREATE DATABASE "{db}"')
    admin(
        auth_influxd, f'CREATE RETENTION POLICY "raw" ON "{db}" DURATION INF REPLICATION 1 DEFAULT'
    )
    admin(
        auth_influxd,
        f'CREATE RETENTION POLICY "agg" ON "{db}" DURATION INF REPLICATION 1 SHARD DURATION 52w',
    )
    grant(auth_influxd, db)
    return db


def test_the_writer_user_may_not_administer(auth_influxd, prepared_db) -> None:  # type: ignore[no-untyped-def]
    """What the tests below rely on: this server refuses CREATE and ALTER to the user."""
    for stmt in (
        f'CREATE DATABASE "{prepared_db}"',
        f'CREATE RETENTION POLICY "agg" ON "{prepared_db}" DURATION INF REPLICATION 1',
        f'ALTER RETENTION POLICY "raw" ON "{prepared_db}" DURATION 400d DEFAULT',
    ):
        status, body = q(auth_influxd, stmt, WRITER)
        assert status == 403 and "requires admin privilege" in body["error"], body
    assert q(auth_influxd, "SHOW DATABASES", None)[0] == 401
    users = admin(auth_influxd, "SHOW USERS")["results"][0]["series"][0]["values"]
    assert [WRITER[0], False] in users and [READER[0], False] in users  # not admins
    grants = admin(auth_influxd, f'SHOW GRANTS FOR "{WRITER[0]}"')["results"][0]["series"]
    assert [prepared_db, "ALL PRIVILEGES"] in grants[0]["values"]


def _stored_means(server: InfluxDB, db: str) -> dict[int, float]:
    """1-minute pm2_5 means of the aggregates: window start (ms) -> mean."""
    body = admin(server, 'SELECT "pm2_5_mean" FROM "agg"."readings_1m"', db)
    series = body["results"][0].get("series", [])
    return {t: v for s in series for t, v in s["values"] if v is not None}


def test_ingest_rebuild_import_and_api_run_without_admin_rights(
    auth_influxd, prepared_db, registry, mosquitto, tmp_path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    db = prepared_db
    before = policies(auth_influxd, db)
    token = registry.add("auth-01", 50.43, 2.83)
    mosquitto.sync()
    settings = fast_settings(
        mosquitto,
        auth_influxd.url,
        db,
        str(registry.engine.url),
        tmp_path / "state",
        influx_username=WRITER[0],
        influx_password=WRITER[1],
        influx_raw_retention="INF",
    )
    ingest = IngestService(settings)
    runner = ThreadRunner(ingest.run, "ingest")
    pub = None
    # two whole minutes a few minutes ago: their 1-minute windows are closed
    m0 = (int(time.time()) // 60 - 5) * 60
    readings = [
        Reading("auth-01", "sds011", m0 + 60 * k + 5 * i, {"pm2_5": 1.0 + 3 * k + i}, None)
        for k in range(2)
        for i in range(6)
    ]
    want = {(m0 + 60 * k) * 1000: sum(1.0 + 3 * k + i for i in range(6)) / 6 for k in range(2)}
    try:
        wait_until(ingest.subscribed.is_set, what="ingest subscription")
        pub = StationPublisher(mosquitto, "auth-01", token)
        pub.publish([wire.encode_readings(readings[i : i + 3]) for i in range(0, 12, 3)])
        wait_until(
            lambda: len(rows(auth_influxd, db, '"raw"."readings"')) == 12, what="12 readings"
        )
        wait_until(lambda: _stored_means(auth_influxd, db).keys() == want.keys(), what="rollups")
        got = _stored_means(auth_influxd, db)
        assert all(math.isclose(got[t], v) for t, v in want.items()), got
        assert ingest.influx_up and ingest.write_failures == 0
    finally:
        if pub is not None:
            pub.close()
        runner.stop()  # raises what the ingest raised
    assert policies(auth_influxd, db) == before  # nothing altered, nothing added

    env = {
        "AIRQ_INFLUX_URL": auth_influxd.url,
        "AIRQ_INFLUX_DB": db,
        "AIRQ_INFLUX_USERNAME": WRITER[0],
        "AIRQ_INFLUX_PASSWORD": WRITER[1],
        "AIRQ_INFLUX_RAW_RETENTION": "INF",
        "AIRQ_DATABASE_URL": str(registry.engine.url),
        "AIRQ_LANG": "en",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    # airq rollup rebuild: the 1-minute aggregates deleted (by the admin) come back
    admin(auth_influxd, 'DELETE FROM "readings_1m"', db)
    assert _stored_means(auth_influxd, db) == {}
    start, end = format_time(m0 - 60), format_time(m0 + 180)
    assert main(["rollup", "rebuild", "--start", start, "--end", end]) == 0, capsys.readouterr()
    got = _stored_means(auth_influxd, db)
    assert got.keys() == want.keys() and all(math.isclose(got[t], v) for t, v in want.items())

    # airq import sensor-community: a file of two days ago, with its station created
    day = time.gmtime(time.time() - 2 * 86400)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", day)
    csv = tmp_path / "sds011.csv"
    csv.write_text(
        "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n"
        f"9001;SDS011;4242;50.43;2.83;{stamp};12.50;;;7.25;;\n"
    )
    capsys.readouterr()
    rc = main(["import", "sensor-community", str(csv), "--create-stations", "--no-progress"])
    assert rc == 0, capsys.readouterr()
    imported = admin(
        auth_influxd, """SELECT "pm2_5" FROM "raw"."readings" WHERE "station" = 'sc-4242'""", db
    )
    assert imported["results"][0]["series"][0]["values"][0][1] == 7.25

    # the API reads as a user with READ only
    api_settings = settings_for(
        auth_influxd.url,
        db,
        str(registry.engine.url),
        influx_username=READER[0],
        influx_password=READER[1],
    )
    with running(api_settings) as api:
        r = api.get(
            "/v1/stations/auth-01/series",
            params={
                "quantity": "pm2_5",
                "every": "raw",
                "start": format_time(m0 - 60),
                "end": format_time(m0 + 180),
            },
        )
        assert r.status_code == 200, r.text
        assert sorted(p["value"] for p in r.json()["points"]) == sorted(
            x.values["pm2_5"] for x in readings
        )
    assert policies(auth_influxd, db) == before


def test_a_missing_policy_stops_the_start_naming_the_statement(
    auth_influxd, registry, mosquitto, tmp_path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    db = new_db_name()
    admin(auth_influxd, f'CREATE DATABASE "{db}"')
    admin(
        auth_influxd, f'CREATE RETENTION POLICY "raw" ON "{db}" DURATION 400d REPLICATION 1 DEFAULT'
    )
    grant(auth_influxd, db)
    settings = fast_settings(
        mosquitto,
        auth_influxd.url,
        db,
        str(registry.engine.url),
        tmp_path / "state",
        influx_username=WRITER[0],
        influx_password=WRITER[1],
    )
    statement = (
        f'CREATE RETENTION POLICY "agg" ON "{db}" DURATION INF REPLICATION 1 SHARD DURATION 52w'
    )
    ingest = IngestService(settings)
    with pytest.raises(IngestConfigError) as exc:
        ingest.run()  # returns at once: the start-up check failed
    assert statement in str(exc.value) and "administrator" in str(exc.value)
    assert set(policies(auth_influxd, db)) == {"autogen", "raw"}

    # the same for airq rollup rebuild (a CLI error naming the statement, no traceback)
    monkeypatch.setenv("AIRQ_INFLUX_URL", auth_influxd.url)
    monkeypatch.setenv("AIRQ_INFLUX_DB", db)
    monkeypatch.setenv("AIRQ_INFLUX_USERNAME", WRITER[0])
    monkeypatch.setenv("AIRQ_INFLUX_PASSWORD", WRITER[1])
    capsys.readouterr()
    assert main(["rollup", "rebuild", "--start", "2026-01-01"]) != 0
    assert statement in capsys.readouterr().err

    # a write to it (the importer checks only "raw" first) is retried, naming the statement
    w = InfluxWriter(auth_influxd.url, db, *WRITER)
    with pytest.raises(InfluxWriteError) as write_exc:
        w.write_lines(b"readings_1h,station=x pm2_5_mean=1 1000", rp="agg")
    w.close()
    assert write_exc.value.retry is True and statement in str(write_exc.value)

    # once the administrator has run it, the same user starts
    admin(auth_influxd, statement)
    w = InfluxWriter(auth_influxd.url, db, *WRITER)
    w.ensure_database()
    w.close()


def test_a_missing_database_names_create_and_grant(auth_influxd) -> None:  # type: ignore[no-untyped-def]
    db = new_db_name()
    w = InfluxWriter(auth_influxd.url, db, *WRITER)
    with pytest.raises(InfluxSetupError) as exc:
        w.ensure_database()
    w.close()
    msg = str(exc.value)
    assert f'CREATE DATABASE "{db}"' in msg and f'GRANT ALL ON "{db}" TO "{WRITER[0]}"' in msg
    assert exc.value.retry is False
    _, body = q(auth_influxd, "SHOW DATABASES", ADMIN)
    assert [db] not in body["results"][0]["series"][0]["values"]


def test_a_policy_with_other_settings_is_kept_with_a_warning(auth_influxd, caplog) -> None:  # type: ignore[no-untyped-def]
    db = new_db_name()
    admin(auth_influxd, f'CREATE DATABASE "{db}"')
    admin(
        auth_influxd, f'CREATE RETENTION POLICY "raw" ON "{db}" DURATION 30d REPLICATION 1 DEFAULT'
    )
    admin(auth_influxd, f'CREATE RETENTION POLICY "agg" ON "{db}" DURATION INF REPLICATION 1')
    grant(auth_influxd, db)
    w = InfluxWriter(auth_influxd.url, db, *WRITER)
    with caplog.at_level(logging.WARNING, logger="ingest.influx"):
        w.ensure_database("400d", "INF")
    w.close()
    text = caplog.text
    assert f'ALTER RETENTION POLICY "raw" ON "{db}" DURATION 400d DEFAULT' in text
    assert f'ALTER RETENTION POLICY "agg" ON "{db}" DURATION INF SHARD DURATION 52w' in text
    assert policies(auth_influxd, db)["raw"][0] == "720h0m0s"  # unchanged


def test_an_admin_creates_and_corrects_what_is_missing(auth_influxd) -> None:  # type: ignore[no-untyped-def]
    db = new_db_name()
    w = InfluxWriter(auth_influxd.url, db, *ADMIN)
    w.ensure_database("400d", "INF")
    assert policies(auth_influxd, db) == {
        "autogen": ["0s", "168h0m0s", 1, False],
        "raw": ["9600h0m0s", "168h0m0s", 1, True],
        "agg": ["0s", "8736h0m0s", 1, False],
    }
    w.ensure_database("30d", "INF")  # a changed setting is applied
    assert policies(auth_influxd, db)["raw"][:1] == ["720h0m0s"]
    w.close()


def test_refused_credentials_are_not_retried(auth_influxd) -> None:  # type: ignore[no-untyped-def]
    w = InfluxWriter(auth_influxd.url, new_db_name(), WRITER[0], "wrong")
    with pytest.raises(InfluxWriteError) as exc:
        w.ensure_database()
    w.close()
    assert exc.value.retry is False and "AIRQ_INFLUX_PASSWORD" in str(exc.value)
