"""The QPV index routes (daily ATMO index, annual means) count a moved station's hours for the
QPV only while its outdoor placement was inside, as the exposure routes do (real influxd and
registry, Paris days relative to today)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from airq_core.storage import AGG_RP
from api.daily_stats import paris_midnight
from api.registry import Registry, placements_t, stations
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.qpv.conftest import PARIS, QPV1, STATIONS_L93, latlon
from tests.qpv.test_indices_api import line, paris_hours
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

TODAY = datetime.now(PARIS).date()
D1 = TODAY - timedelta(days=3)  # mover-1 inside all day, arrive-1 outside
D2 = TODAY - timedelta(days=2)  # mover-1 moved out at midnight, arrive-1 in at noon
OUT = STATIONS_L93["out-1"]
MOVE_OUT = paris_midnight(D2)
MOVE_IN = MOVE_OUT + 12 * 3600  # an hour start (Paris noon, but for the DST night)


def _lines() -> bytes:
    out = []
    for d in (D1, D2):
        for t in paris_hours(d):
            out.append(line("mover-1", t, pm10=55.0))  # mauvais (daily mean)
            out.append(line("arrive-1", t, pm10=30.0))  # moyen
    return "\n".join(out).encode()


@pytest.fixture
def client(qpv_file, registry: Registry, influxd, influx_db, monkeypatch) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    registry.add("mover-1", *latlon(QPV1))
    registry.add("arrive-1", *latlon(OUT))
    registered = datetime.fromtimestamp(paris_midnight(D1) - 7 * 86400, UTC)
    with registry.engine.begin() as conn:
        conn.execute(stations.update().values(created_at=registered))
        conn.execute(placements_t.update().values(valid_from=registered))
    lat, lon = latlon(OUT)
    registry.update("mover-1", lat=lat, lon=lon, moved_at=datetime.fromtimestamp(MOVE_OUT, UTC))
    lat, lon = latlon(QPV1)
    registry.update("arrive-1", lat=lat, lon=lon, moved_at=datetime.fromtimestamp(MOVE_IN, UTC))
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(_lines(), rp=AGG_RP)
    writer.close()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        yield c


def _atmo(client: httpx.Client, day: object) -> dict:  # type: ignore[type-arg]
    r = client.get("/v1/indices/atmo/qpv/QPTEST01", params={"day": str(day)})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_daily_index_takes_the_stations_inside_that_day(client: httpx.Client) -> None:
    # D1: mover-1 was inside (it is not any more), arrive-1 not yet
    body = _atmo(client, D1)
    assert body["stations"] == ["mover-1"]
    assert body["index"]["atmo_class"] == "mauvais" and body["index"]["drivers"] == ["pm10"]
    # D2: mover-1 had left; arrive-1 was inside for its afternoon only, an incomplete day
    body = _atmo(client, D2)
    assert body["stations"] == ["arrive-1"]
    (own,) = body["per_station"]
    assert own["incomplete"] == ["pm10"] and own["sub_indices"] == []
    assert body["index"]["atmo_class"] is None


def test_annual_means_take_the_days_inside(client: httpx.Client) -> None:
    r = client.get("/v1/indices/annual/qpv/QPTEST01", params={"year": D1.year})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["stations"]) >= {"mover-1"}
    pm10 = next(q for q in body["quantities"] if q["quantity"] == "pm10")
    # mover-1's D1 only: its D2 was outside, arrive-1's afternoon is not a valid day
    assert (pm10["days_valid"], pm10["mean"]) == (1, 55.0)
    # the station's own answer still holds all its days, wherever it was
    r = client.get("/v1/indices/annual/stations/mover-1", params={"year": D1.year})
    pm10 = next(q for q in r.json()["quantities"] if q["quantity"] == "pm10")
    assert pm10["days_valid"] == (2 if D2.year == D1.year else 1)
