"""The ATMO index and the annual means count only hourly windows whose coverage reaches
``AIRQ_QPV_MIN_WINDOW_COVERAGE``; a day written before coverage existed counts whole. Real
influxd and API server, days relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from airq_core.storage import AGG_RP
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.qpv.conftest import PARIS, STATIONS_L93, latlon
from tests.qpv.test_indices_api import paris_hours
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

TODAY = datetime.now(PARIS).date()
DAY_NEW = TODAY - timedelta(days=4)  # windows with coverage
DAY_OLD = TODAY - timedelta(days=5)  # windows written before coverage existed


def _line(t: int, no2: float, cov: float | None) -> str:
    fields = f"no2_mean={no2},no2_count=20.0,no2_flagged=0"
    if cov is not None:
        fields += f",no2_coverage={cov}"
    return f"readings_1h,sensor=zphs01b,station=in-1 {fields} {t}000"


def _lines() -> bytes:
    out = []
    for i, t in enumerate(paris_hours(DAY_NEW)):
        # NO2 20 at full coverage; one hour at 300 µg/m³ from a quarter of the readings (the
        # others flagged or lost): left out, else it would make the day "extrêmement mauvais"
        out.append(_line(t, 300.0 if i == 12 else 20.0, 0.25 if i == 12 else 1.0))
    for i, t in enumerate(paris_hours(DAY_OLD)):
        out.append(_line(t, 90.0 if i == 12 else 20.0, None))
    return "\n".join(out).encode()


@pytest.fixture
def settings_for(qpv_file: Path, registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    registry.add("in-1", *latlon(STATIONS_L93["in-1"]), name="IN-1")
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(_lines(), rp=AGG_RP)
    writer.close()
    return lambda: ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )


def _no2(c, day) -> tuple[float, str]:
    r = c.get("/v1/indices/atmo/stations/in-1", params={"day": day.isoformat()})
    assert r.status_code == 200, r.text
    (sub,) = [s for s in r.json()["index"]["sub_indices"] if s["quantity"] == "no2"]
    return sub["value"], sub["atmo_class"]


def test_a_low_coverage_hour_does_not_drive_the_index(settings_for) -> None:
    with serve(settings_for()) as c:
        assert _no2(c, DAY_NEW) == (20.0, "bon")
        # the day without coverage fields counts whole, its 90 µg/m³ hour included
        assert _no2(c, DAY_OLD) == (90.0, "moyen")
        qpv = c.get("/v1/indices/atmo/qpv/QPTEST01", params={"day": DAY_NEW.isoformat()})
        assert qpv.status_code == 200, qpv.text
        subs = {s["quantity"]: s["value"] for s in qpv.json()["index"]["sub_indices"]}
        assert subs["no2"] == 20.0


def test_with_the_threshold_at_zero_every_window_counts(settings_for, monkeypatch) -> None:
    monkeypatch.setenv("AIRQ_QPV_MIN_WINDOW_COVERAGE", "0")
    with serve(settings_for()) as c:
        value, cls = _no2(c, DAY_NEW)
    assert value == 300.0 and cls != "bon"
