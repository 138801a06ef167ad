"""A series request for one station reads that station's registry rows only, whatever the
size of the fleet (issue 16: with 13 000 stations registered it listed them all, ~170 ms)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.registry import NewStation, Registry

pytestmark = pytest.mark.services

FLEET = 1500


@pytest.fixture
def fleet_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fleet.sqlite'}"
    reg = Registry(url)
    reg.add_many(
        [NewStation(f"fleet-{i:05d}", 50.0 + i * 1e-4, 3.0 + i * 1e-4) for i in range(FLEET)]
    )
    reg.close()
    return url


@contextmanager
def rows_read(engine: sa.Engine, db_path: str) -> Iterator[list[int]]:
    """Rows returned by each SELECT the registry runs meanwhile (each statement run again,
    with its parameters, on a separate connection to count what it returns)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    counts: list[int] = []
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield counts
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    with sqlite3.connect(db_path) as db:
        counts.extend(len(db.execute(s, p).fetchall()) for s, p in seen)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/series?station=fleet-00042&quantity=pm2_5&every=1h",
        "/v1/stations/fleet-00042/series?quantity=pm2_5&every=1h",
    ],
)
def test_one_station_series_reads_only_its_rows(
    make_client: Callable[..., Any], fleet_url: str, path: str
) -> None:
    with make_client(database_url=fleet_url) as c:
        c.get(path).raise_for_status()  # first request: settles start-up reads and caches
        engine = c.app.state.registry.engine
        with rows_read(engine, fleet_url.removeprefix("sqlite:///")) as counts:
            for _ in range(3):
                r = c.get(path)
                assert r.status_code == 200, r.text
                assert r.json()["stations" if path.startswith("/v1/series") else "station"]
    # a handful of rows (the station, its placements), not the fleet's
    assert sum(counts) <= 3 * 4, counts
