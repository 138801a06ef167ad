"""QPV figures leave out hourly windows whose coverage is known and below
``AIRQ_QPV_MIN_WINDOW_COVERAGE`` (0.75 by default); windows written before coverage existed are
kept. Real InfluxDB, real API server, times relative to now."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from airq_core.readings import format_time
from airq_core.storage import AGG_RP
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.qpv.conftest import STATIONS_L93, latlon
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

HOUR = int(time.time()) // 3600 * 3600 - 6 * 3600  # the newest window of the case
# (hours back, mean, coverage or None for a window written before coverage existed)
WINDOWS = [(i, 10.0, 1.0) for i in range(6)] + [(6, 100.0, 0.5), (7, 100.0, 0.74)]
WINDOWS += [(8, 20.0, None), (9, 20.0, None), (10, 40.0, 0.75)]


def _lines() -> bytes:
    out = []
    for back, mean, cov in WINDOWS:
        fields = f"pm2_5_mean={mean},pm2_5_count=20,pm2_5_flagged=0"
        if cov is not None:
            fields += f",pm2_5_coverage={cov}"
        out.append(f"readings_1h,sensor=sds011,station=in-1 {fields} {(HOUR - back * 3600) * 1000}")
    return "\n".join(out).encode()


@pytest.fixture
def setup(qpv_file: Path, registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    registry.add("in-1", *latlon(STATIONS_L93["in-1"]), name="IN-1")
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(_lines(), rp=AGG_RP)
    writer.close()
    # settings read at each call, as a deployment reads its environment at start
    return lambda: ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )


def _inside(c: httpx.Client) -> dict:
    r = c.get(
        "/v1/qpv/QPTEST01/exposure",
        params={
            "quantity": "pm2_5",
            "start": format_time(HOUR - 12 * 3600),
            "end": format_time(HOUR + 3600),
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_low_coverage_windows_are_left_out_and_legacy_ones_kept(setup) -> None:
    with serve(setup()) as c:
        body = _inside(c)
    inside = body["zones"]["qpv"]
    # kept: six hours at 10 (coverage 1), two legacy hours at 20, one at 40 (coverage 0.75,
    # the threshold itself); left out: 100 at coverage 0.5 and 0.74
    assert inside["stations"][0]["hours_with_data"] == 9
    assert inside["mean"] == round((6 * 10 + 2 * 20 + 40) / 9, 2)
    assert body["min_window_coverage"] == 0.75


def test_the_threshold_is_a_deployment_setting(setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_QPV_MIN_WINDOW_COVERAGE", "0")
    with serve(setup()) as c:
        body = _inside(c)
    inside = body["zones"]["qpv"]
    assert inside["stations"][0]["hours_with_data"] == 11
    assert inside["mean"] == round((6 * 10 + 2 * 100 + 2 * 20 + 40) / 11, 2)
    assert body["min_window_coverage"] == 0.0
