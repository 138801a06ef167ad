"""Fixtures that start the real components: Mosquitto, influxd, ptys. Never mocks."""

from __future__ import annotations

import itertools
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
    """A broker whose accounts are kept from ``registry`` as in the deployment: the stations
    already there and the ingest's account are in its first dynamic-security file, and
    ``registry.add``/``rotate_token``/``retire`` change it live (``registry.accounts``).
    ``broker.sync()`` reconciles the broker with the registry (``airq broker sync``); the
    registry's own operations need no call."""
    broker = Mosquitto(
        tmp_path / "mosquitto",
        users={INGEST_USER: hash_token(INGEST_PASSWORD), **registry.mosquitto_users()},
    )
    broker.start()
    registry.accounts = broker.accounts

    def sync(reg: Registry = registry) -> None:
        report = broker.accounts.sync(reg.publishing_ids())
        assert not report.missing, f"stations without a broker account: {report.missing}"

    broker.sync = sync  # type: ignore[attr-defined]
    yield broker
    registry.accounts = None
    broker.stop()
