"""Fixtures of the API tests: a real influxd holding a known dataset (raw readings and the
aggregate tiers of the storage contract), a registry, and the app served by a real uvicorn on a
free port (so that streaming, chunking and headers are what a researcher's client sees)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.registry import Registry
from tests.api.api_server import running, settings_for
from tests.api.pg_server import NoPostgres, create_database, drop_database, find_or_start
from tests.api.series_data import Dataset, make_raw, write_dataset


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return make_raw()


@pytest.fixture(scope="session")
def series_db(influxd, dataset: Dataset) -> str:
    """A database with the dataset's raw readings and its four aggregate tiers."""
    name = f"series_{uuid.uuid4().hex[:8]}"
    write_dataset(influxd.url, name, dataset)
    return name


@pytest.fixture(scope="session")
def series_registry_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("series_registry") / "registry.sqlite"
    reg = Registry(f"sqlite:///{path}")
    reg.add("lens-01", 50.449123, 2.839054, "Grande Résidence")
    reg.add("lille-02", 50.6212, 3.0583, "Lille Sud", indoor=True)
    reg.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def client(influxd, series_db: str, series_registry_url: str) -> Iterator[httpx.Client]:
    with running(settings_for(influxd.url, series_db, series_registry_url)) as c:
        yield c


@pytest.fixture
def make_client(influxd, tmp_path: Path) -> Callable[..., Any]:
    """``make_client(db=None, database_url=None, **settings)`` -> context manager."""

    def make(db: str | None = None, database_url: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        url = database_url or f"sqlite:///{tmp_path / f'reg_{uuid.uuid4().hex[:6]}.sqlite'}"
        return running(settings_for(influxd.url, db or "nodb", url, **kw))

    return make


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server that may create databases (found or started)."""
    try:
        url, throwaway = find_or_start()
    except NoPostgres as exc:
        pytest.skip(f"PostgreSQL registry tests skipped: {exc}")
    yield url
    if throwaway is not None:
        throwaway.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh registry database on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"airq_test_{uuid.uuid4().hex[:10]}"
    url = create_database(server, name)
    yield url
    drop_database(server, name)
