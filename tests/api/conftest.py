"""Fixtures of the API tests: a real influxd holding a known dataset (raw readings and the
aggregate tiers of the storage contract), a registry, and the app served by a real uvicorn on a
free port (so that streaming, chunking and headers are what a researcher's client sees)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from airq.services import free_port
from api.app import create_app
from api.protection import install_protection
from api.registry import Registry
from api.settings import ApiSettings
from tests.api.series_data import Dataset, make_raw, write_dataset
from tests.helpers import wait_until

ADMIN_TOKEN = "test-admin-7Hq2xV9pLw3Rz8Kd"


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


def settings_for(influx_url: str, db: str, database_url: str, **kw: Any) -> ApiSettings:
    base: dict[str, Any] = {
        "influx_url": influx_url,
        "influx_db": db,
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 100_000,
    }
    base.update(kw)
    return ApiSettings(**base)


@contextmanager
def running(settings: ApiSettings) -> Iterator[httpx.Client]:
    """The app on a real uvicorn; yields an httpx client with its base URL."""
    app = create_app(settings)
    install_protection(app, settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    th = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    th.start()
    try:
        wait_until(lambda: server.started or not th.is_alive(), what="uvicorn to start")
        assert server.started, "uvicorn did not start"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        server.should_exit = True
        th.join(10)


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
