"""A station moved out of a QPV: its readings count for the QPV only for the hours it was
inside (real influxd and registry, times relative to now)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from airq_core.readings import format_time
from airq_core.storage import AGG_RP
from api.registry import Registry, placements_t, stations
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.qpv.conftest import QPV1, STATIONS_L93, latlon
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

HOUR = 3600
DAY = 86400
T0 = int(time.time()) // HOUR * HOUR - 6 * DAY  # six whole days ago, on an hour
MOVE = T0 + 3 * DAY
END = T0 + 6 * DAY
OUT = STATIONS_L93["out-1"]  # 3.2 km from QPTEST01: "hors QPV" (within the reference radius)


def _lines() -> bytes:
    # 20 while inside QPTEST01 (first three days), 40 once moved out
    return "\n".join(
        f"readings_1h,sensor=sds011,station=mover-1 pm2_5_mean={v},pm2_5_count=30 {t * 1000}"
        for t in range(T0, END, HOUR)
        for v in [20.0 if t < MOVE else 40.0]
    ).encode()


@pytest.fixture
def api(qpv_file, registry: Registry, influxd, influx_db, monkeypatch) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    registry.add("mover-1", *latlon(QPV1), name="Mobile")
    # registered a week ago (the registry refuses moves before a placement's start)
    week_ago = datetime.fromtimestamp(T0 - DAY, UTC)
    with registry.engine.begin() as conn:
        conn.execute(stations.update().values(created_at=week_ago))
        conn.execute(placements_t.update().values(valid_from=week_ago))
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(_lines(), rp=AGG_RP)
    writer.close()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        yield c


def _zones(api: httpx.Client, start: float, end: float) -> dict[str, dict]:  # type: ignore[type-arg]
    r = api.get(
        "/v1/qpv/QPTEST01/exposure",
        params={"quantity": "pm2_5", "start": format_time(start), "end": format_time(end)},
    )
    assert r.status_code == 200, r.text
    return r.json()["zones"]  # type: ignore[no-any-return]


def _figures(zone: dict) -> tuple:  # type: ignore[type-arg]
    return (zone["mean"], zone["median"], zone["hours_with_data"], zone["coverage"])


def test_readings_count_for_the_qpv_only_while_the_station_was_inside(
    api: httpx.Client, registry: Registry
) -> None:
    before_all = _zones(api, T0, END)
    assert before_all["qpv"]["hours_with_data"] == 144 and before_all["qpv"]["mean"] == 30.0
    past_before = _figures(_zones(api, T0, MOVE)["qpv"])
    assert past_before == (20.0, 20.0, 72, 1.0)

    registry.update(
        "mover-1",
        lat=latlon(OUT)[0],
        lon=latlon(OUT)[1],
        moved_at=datetime.fromtimestamp(MOVE, UTC),
    )

    z = _zones(api, T0, END)
    assert (z["qpv"]["mean"], z["qpv"]["hours_with_data"], z["qpv"]["n_stations"]) == (20.0, 72, 1)
    (inside,) = z["qpv"]["stations"]
    assert inside["id"] == "mover-1" and inside["hours_with_data"] == 72
    assert inside["placed_from"] is None and inside["placed_to"] == format_time(MOVE)
    # its later readings count outside the QPV, where it then was
    (outside,) = z["hors_qpv"]["stations"]
    assert outside["id"] == "mover-1" and outside["hours_with_data"] == 72
    assert z["hors_qpv"]["mean"] == 40.0 and outside["placed_from"] == format_time(MOVE)
    # the move does not change the figures of the period before it
    assert _figures(_zones(api, T0, MOVE)["qpv"]) == past_before
    # and the period after it has no QPV data at all
    after = _zones(api, MOVE, END)
    assert after["qpv"]["hours_with_data"] == 0 and after["qpv"]["stations"] == []

    # the map layer: the QPV coloured from its inside hours only
    r = api.get(
        "/v1/qpv/exposure.geojson",
        params={"quantity": "pm2_5", "start": format_time(T0), "end": format_time(END)},
    )
    assert r.status_code == 200, r.text
    feat = next(f for f in r.json()["features"] if f["id"] == "QPTEST01")
    assert feat["properties"]["mean"] == 20.0 and feat["properties"]["outside_mean"] == 40.0

    # the station map shows it where it is now, in no QPV
    r = api.get("/v1/qpv/stations.geojson", params={"quantity": "pm2_5"})
    (st,) = r.json()["features"]
    lat, lon = latlon(OUT)
    assert st["geometry"]["coordinates"] == [round(lon, 3), round(lat, 3)]
    assert st["properties"]["qpv"] == [] and st["properties"]["value"] == 40.0


def test_an_indoor_placement_never_counts_as_outdoor_exposure(
    api: httpx.Client, registry: Registry
) -> None:
    registry.update("mover-1", indoor=True, moved_at=datetime.fromtimestamp(MOVE, UTC))
    z = _zones(api, T0, END)
    assert (z["qpv"]["mean"], z["qpv"]["hours_with_data"]) == (20.0, 72)
    assert z["hors_qpv"]["stations"] == []
    with registry.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(placements_t)).scalar() == 2


def test_qpv_intervals_give_the_time_a_station_was_inside(qpv_file, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    """What the ``qpv=`` filter of /v1/series must keep: the readings of the hours inside."""
    from api.qpv.selector import clip_rows, qpv_intervals
    from api.qpv.service import QpvService, QpvSettings

    svc = QpvService(QpvSettings(file=qpv_file))
    registry.add("mover-1", *latlon(QPV1))
    registry.add("out-1", *latlon(OUT))
    week_ago = datetime.fromtimestamp(T0 - DAY, UTC)
    with registry.engine.begin() as conn:
        conn.execute(placements_t.update().values(valid_from=week_ago))
    lat, lon = latlon(OUT)
    registry.update("mover-1", lat=lat, lon=lon, moved_at=datetime.fromtimestamp(MOVE, UTC))
    got = qpv_intervals(svc, registry, "QPTEST01", registry.list(), T0, END)
    assert got == {"mover-1": [(T0, MOVE)]}
    assert clip_rows([T0, MOVE - 1, MOVE, END - 1], got["mover-1"]) == [True, True, False, False]
    assert qpv_intervals(svc, registry, "QPTEST01", registry.list(), MOVE, END) == {}
    with pytest.raises(KeyError):
        qpv_intervals(svc, registry, "QPNOPE", registry.list(), T0, END)


def test_the_placement_cache_is_keyed_on_the_placement(qpv_file, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    from api.qpv.service import QpvService, QpvSettings, placement_refs

    svc = QpvService(QpvSettings(file=qpv_file))
    registry.add("mover-1", *latlon(QPV1))

    def placed() -> dict[str, tuple[str, ...]]:
        found = registry.placements_between(["mover-1"], 0, time.time() + 1)
        refs = placement_refs(registry.list(), found)
        return {k: p.inside for k, p in svc.placements(refs).items()}

    assert placed() == {"mover-1": ("QPTEST01",)} and svc.placements_computed == 1
    assert placed() == {"mover-1": ("QPTEST01",)} and svc.placements_computed == 1
    lat, lon = latlon(OUT)
    registry.update("mover-1", lat=lat, lon=lon)
    (first, _current) = registry.placements("mover-1")
    # the earlier placement under its own key, the station id for where it is now
    assert placed() == {f"mover-1@{first.id}": ("QPTEST01",), "mover-1": ()}
    assert svc.placements_computed == 3
    placed()
    assert svc.placements_computed == 3
