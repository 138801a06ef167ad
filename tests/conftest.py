"""Fixtures that start the real components: Mosquitto, influxd, ptys. Never mocks."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airq.services import INGEST_USER, InfluxDB, Mosquitto
from api.registry import Registry, hash_token
from tests.helpers import INGEST_PASSWORD


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


_db_counter = itertools.count()


@pytest.fixture
def influx_db(influxd: InfluxDB) -> str:
    """A fresh database name on the session's influxd."""
    name = f"t{next(_db_counter)}_{uuid.uuid4().hex[:6]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    return name


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    yield reg
    reg.close()


@pytest.fixture
def mosquitto(tmp_path: Path, registry: Registry) -> Iterator[Mosquitto]:
    """A broker with auth and ACL; stations of ``registry`` are its users (call
    ``broker.sync(registry)`` after adding stations)."""
    broker = Mosquitto(tmp_path / "mosquitto", users={INGEST_USER: hash_token(INGEST_PASSWORD)})
    broker.start()

    def sync(reg: Registry = registry) -> None:
        broker.set_users({INGEST_USER: hash_token(INGEST_PASSWORD), **reg.mosquitto_users()})
        time.sleep(0.2)  # SIGHUP reload is asynchronous

    broker.sync = sync  # type: ignore[attr-defined]
    yield broker
    broker.stop()
