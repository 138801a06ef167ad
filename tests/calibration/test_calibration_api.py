"""A co-located pair end to end, on a real influxd and a real uvicorn, times relative to now:
a station 33 m from a reference site whose sensor reads 1.6·ref + 0.1·RH − 2 with noise;
``airq calibration fit`` recovers the inverse; the API serves raw, EPA-corrected and
calibrated series side by side with the fit's provenance; a station without a co-located
site gets a clear problem."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from airq_core.calibration import epa_correct
from airq_core.readings import format_time
from api.calibration_store import CalibrationStore, ReferenceSite
from api.registry import Registry
from ingest.influx import InfluxWriter
from tests.api.api_server import running, settings_for

HOUR_MS = 3_600_000
HOURS = 240  # ten days
SITE = ReferenceSite("FR99901", "Lens Synthétique", 50.4330, 2.8270, "fr")
LOW_COVERAGE_HOURS = 6  # hours the fit must leave out (coverage 0.5, absurd values)


@dataclass
class Setup:
    influx_url: str
    db: str
    db_url: str
    start_ms: int
    end_ms: int
    ref: dict[int, float]
    rh: dict[int, float]
    raw: dict[int, float]
    fit_out: subprocess.CompletedProcess[str]


def _env(s: Setup | None, influx_url: str, db: str, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AIRQ_LANG"}
    env.update(AIRQ_INFLUX_URL=influx_url, AIRQ_INFLUX_DB=db, AIRQ_DATABASE_URL=db_url)
    return env


def _airq(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airq", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture(scope="module")
def setup(influxd, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    tmp = tmp_path_factory.mktemp("calibration")
    db = f"calib_{int(time.time() * 1000) % 10**9}"
    db_url = f"sqlite:///{tmp / 'registry.sqlite'}"
    reg = Registry(db_url)
    reg.add("lens-01", 50.4330 + 0.0003, 2.8270, "beside the reference site")  # ~33 m
    reg.add("lille-02", 50.6212, 3.0583, "Lille Sud")  # ~28 km away
    store = CalibrationStore(reg.engine)
    store.upsert_sites([SITE])
    reg.close()

    rng = random.Random(15)
    now_ms = int(time.time() * 1000)
    end_ms = now_ms - now_ms % HOUR_MS
    start_ms = end_ms - HOURS * HOUR_MS
    ref, rh, raw, lines, agg = {}, {}, {}, [], []
    for i in range(HOURS):
        t = start_ms + i * HOUR_MS
        ref[t] = round(rng.uniform(3, 50), 2)
        rh[t] = round(rng.uniform(40, 95), 1)
        raw[t] = round(1.6 * ref[t] + 0.1 * rh[t] - 2 + rng.gauss(0, 1.5), 2)
        lines.append(f"reference,site={SITE.code},source=fr,pollutant=pm2_5 value={ref[t]} {t}")
        coverage = 0.5 if i < LOW_COVERAGE_HOURS else 1.0
        pm = 400.0 if i < LOW_COVERAGE_HOURS else raw[t]  # would wreck the fit if used
        for station in ("lens-01", "lille-02"):
            agg.append(
                f"readings_1h,station={station},sensor=sds011 "
                f"pm2_5_mean={pm},pm2_5_coverage={coverage},pm2_5_count=20 {t}"
            )
            agg.append(f"readings_1h,station={station},sensor=bme280 humidity_mean={rh[t]} {t}")
    w = InfluxWriter(influxd.url, db)
    try:
        w.ensure_database(raw_retention="INF")
        w.write_lines("\n".join(lines).encode(), rp="agg")
        w.write_lines("\n".join(agg).encode(), rp="agg")
    finally:
        w.close()
    env = _env(None, influxd.url, db, db_url)
    out = _airq(
        env,
        tmp,
        "calibration",
        "fit",
        "--station",
        "lens-01",
        "--site",
        SITE.code,
        "--start",
        format_time(start_ms / 1000),
        "--end",
        format_time(end_ms / 1000),
    )
    return Setup(influxd.url, db, db_url, start_ms, end_ms, ref, rh, raw, out)


@pytest.fixture(scope="module")
def client(setup: Setup) -> Iterator[httpx.Client]:
    with running(settings_for(setup.influx_url, setup.db, setup.db_url)) as c:
        yield c


def test_fit_recovers_the_sensor_response(setup: Setup) -> None:
    assert setup.fit_out.returncode == 0, setup.fit_out.stderr
    assert "étalonnage n° 1 (lens-01, site FR99901) : réf = 0.6" in setup.fit_out.stdout
    assert "·brut − 0.0" in setup.fit_out.stdout and "R² = 0.99" in setup.fit_out.stdout
    store = CalibrationStore.from_url(setup.db_url)
    try:
        (record,) = store.list_fits()
    finally:
        store.close()
    fit = record.fit
    # ref = raw/1.6 − 0.0625·RH + 1.25
    assert fit.a == pytest.approx(0.625, abs=0.02)
    assert fit.b == pytest.approx(-0.0625, abs=0.02)
    assert fit.c == pytest.approx(1.25, abs=1.0)
    assert fit.r2 > 0.9
    assert fit.rmse < 1.5
    assert fit.n == HOURS - LOW_COVERAGE_HOURS  # hours below the coverage left out
    assert (record.scope, record.station, record.sensor, record.site) == (
        "station",
        "lens-01",
        "sds011",
        "FR99901",
    )
    print(f"fit: a={fit.a:.4f} b={fit.b:.4f} c={fit.c:.3f} n={fit.n} R²={fit.r2:.4f} "
          f"RMSE={fit.rmse:.3f}")  # fmt: skip


def test_route_serves_three_labelled_series_with_provenance(setup: Setup, client) -> None:
    r = client.get(
        "/v1/stations/lens-01/calibrated",
        params={
            "start": format_time(setup.start_ms / 1000),
            "end": format_time(setup.end_ms / 1000),
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["name"] for s in body["series"]] == ["raw", "epa_corrected", "calibrated"]
    raw, epa, cal = body["series"]
    assert raw["method"] == "raw"
    assert epa["method"] == "epa_2021_purpleair"
    assert cal["method"] == "ols_linear_rh"
    assert all(s["label"] and s["label_en"] for s in body["series"])
    prov = body["calibration"]
    assert prov["reference_site"] == "FR99901"
    assert prov["n_pairs"] == HOURS - LOW_COVERAGE_HOURS
    assert prov["r2"] > 0.9
    assert body["sensor"] == "sds011"
    # the low-coverage hours are not served either; every other hour is
    assert len(raw["points"]) == HOURS - LOW_COVERAGE_HOURS
    ts = {p["time"]: p for p in cal["points"]}
    errors_raw, errors_cal = [], []
    for t, ref in setup.ref.items():
        key = format_time(t / 1000)
        if key not in ts:
            continue
        errors_cal.append(abs(ts[key]["value"] - ref))
        errors_raw.append(abs(setup.raw[t] - ref))
    assert len(errors_cal) == HOURS - LOW_COVERAGE_HOURS
    mae_cal, mae_raw = sum(errors_cal) / len(errors_cal), sum(errors_raw) / len(errors_raw)
    print(f"MAE raw {mae_raw:.2f} µg/m³, calibrated {mae_cal:.2f} µg/m³")
    assert mae_cal < 1.5 < mae_raw
    # the EPA series is the published formula on the same hours
    first_t = setup.start_ms + LOW_COVERAGE_HOURS * HOUR_MS
    assert epa["points"][0]["value"] == pytest.approx(
        epa_correct(setup.raw[first_t], setup.rh[first_t]), abs=1e-3
    )  # values are served to 3 decimals


def test_route_daily_windows(setup: Setup, client) -> None:
    r = client.get(
        "/v1/stations/lens-01/calibrated",
        params={"start": format_time(setup.start_ms / 1000), "every": "1d"},
    )
    assert r.status_code == 200, r.text
    days = r.json()["series"][0]["points"]
    assert 10 <= len(days) <= 11
    assert all(p["time"].endswith("T00:00:00Z") for p in days)


def test_calibrations_list_gives_provenance(client) -> None:
    r = client.get("/v1/calibrations")
    assert r.status_code == 200
    (c,) = r.json()["calibrations"]
    assert c["method"] == "ols_linear_rh" and c["station"] == "lens-01"
    assert c["formula"].startswith("pm2_5 = 0.6")
    assert c["raw_range"][0] < c["raw_range"][1]


def test_colocated_pairs(client) -> None:
    r = client.get("/v1/calibrations/colocated")
    assert r.status_code == 200
    assert [(p["station"], p["reference_site"]) for p in r.json()["pairs"]] == [
        ("lens-01", "FR99901")
    ]
    assert client.get("/v1/calibrations/colocated", params={"max_distance_m": 1000}).json()[
        "pairs"
    ][0]["distance_m"] == pytest.approx(30, abs=10)
    assert (
        client.get("/v1/calibrations/colocated", params={"max_distance_m": 10**6}).status_code
        == 422
    )


def test_station_without_colocated_site_gets_a_problem(setup: Setup, client, tmp_path) -> None:
    r = client.get("/v1/stations/lille-02/calibrated")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "airq calibration fit --station lille-02" in r.json()["detail"]
    out = _airq(
        _env(None, setup.influx_url, setup.db, setup.db_url),
        tmp_path,
        "calibration",
        "fit",
        "--station",
        "lille-02",
        "--site",
        SITE.code,
        "--start",
        format_time(setup.start_ms / 1000),
        "--end",
        format_time(setup.end_ms / 1000),
    )
    assert out.returncode == 1
    assert "pas de paire co-localisée" in out.stderr
    assert "not within 100 m" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_station_and_bounds(client) -> None:
    assert client.get("/v1/stations/nope-01/calibrated").status_code == 404
    r = client.get("/v1/stations/lens-01/calibrated", params={"start": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400 and "366 days" in r.json()["detail"]
    assert client.get("/v1/stations/lens-01/calibrated", params={"every": "5m"}).status_code == 422
    assert (
        client.get("/v1/stations/lens-01/calibrated", params={"quantity": "co2"}).status_code == 422
    )


def test_openapi_declares_the_answers(client) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/stations/{station_id}/calibrated"]["get"]
    assert op["operationId"] == "station_calibrated"
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CalibratedSeries"
    )
    assert "application/problem+json" in op["responses"]["409"]["content"]
    assert "CalibrationList" in spec["components"]["schemas"]


def test_fit_per_sensor_model_pools_colocated_stations_only(setup: Setup, tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    reg = Registry(db_url)
    reg.add("lens-01", 50.4330 + 0.0003, 2.8270, "beside the reference site")
    reg.add("lille-02", 50.6212, 3.0583, "Lille Sud")
    CalibrationStore(reg.engine).upsert_sites([SITE])
    reg.close()
    out = _airq(
        _env(None, setup.influx_url, setup.db, db_url),
        tmp_path,
        "--lang",
        "en",
        "calibration",
        "fit",
        "--model",
        "sds011",
        "--site",
        SITE.code,
        "--start",
        format_time(setup.start_ms / 1000),
        "--end",
        format_time(setup.end_ms / 1000),
    )
    assert out.returncode == 0, out.stderr
    assert "calibration #1 (sds011, site FR99901)" in out.stdout
    store = CalibrationStore.from_url(db_url)
    try:
        (record,) = store.list_fits()
        # lille-02 (28 km away) has the same data but is not pooled
        assert (record.scope, record.stations_used, record.fit.n) == (
            "model",
            ["lens-01"],
            HOURS - LOW_COVERAGE_HOURS,
        )
        # a station with no fit of its own is served the fit of its model
        assert store.for_station("lille-02", ["sds011"], "pm2_5") == record
    finally:
        store.close()
