"""Demo data written per the storage contract into a real influxd: ten Paris days of hourly,
minute and daily aggregates for three stations, plus station health points."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from airq_core.storage import (
    AGG_RP,
    HEALTH_MEASUREMENT,
    INGEST_STATS_MEASUREMENT,
    RAW_RP,
    REJECTED_PREFIX,
)
from airq_core.wire import REASONS
from dashboards.territory import Territory
from ingest.influx import InfluxWriter

PARIS = ZoneInfo("Europe/Paris")
DAYS = 10


def _first_day() -> datetime:
    """A Paris midnight two weeks ago or more (inside the raw retention) such that the demo
    window holds no daylight-saving change, so that every day has 24 hours."""
    day = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    day -= timedelta(days=14)
    while (day - timedelta(days=1)).utcoffset() != (day + timedelta(days=DAYS + 1)).utcoffset():
        day -= timedelta(days=1)
    return day


DAY0 = _first_day()
START_MS = int((DAY0 - timedelta(days=1)).timestamp() * 1000)
END_MS = int((DAY0 + timedelta(days=DAYS + 1)).timestamp() * 1000)
STATIONS = ("lens-01", "lens-02", "lille-01")
OFFSET = {"lens-01": 0.0, "lens-02": -3.0, "lille-01": 4.0}
QUANTITIES = ("pm2_5", "pm2_5_hcorr", "pm10", "pm10_hcorr", "no2", "humidity", "temperature")


def value(station: str, quantity: str, day: int, hour: int) -> float:
    """PM2.5 rises by 2 µg/m³ a day from 8 (lens-01), so its daily mean is over the WHO
    15 µg/m³ from day 4 on; PM10 = 2 × PM2.5 + 5; NO2 = 15 + 2 × day; RH = 60 + 3 × day."""
    pm25 = 8 + 2 * day + OFFSET[station] + math.sin(hour / 24 * 2 * math.pi)
    return {
        "pm2_5": pm25,
        "pm2_5_hcorr": pm25 * 0.8,
        "pm10": 2 * pm25 + 5,
        "pm10_hcorr": (2 * pm25 + 5) * 0.85,
        "no2": 15 + 2 * day + OFFSET[station],
        "humidity": 60 + 3 * day + 5 * math.sin(hour / 24 * 2 * math.pi),
        "temperature": 10 + hour / 4,
    }[quantity]


def has_data(station: str, day: int, hour: int) -> bool:
    if station == "lens-02" and day == 3 and 10 <= hour < 16:
        return False  # a six-hour gap
    return not (station == "lille-01" and day >= 5)  # silent after five days


# every demo window is covered enough for the council panels (tests/dashboards/
# test_window_coverage.py writes windows under the threshold); one value an hour is flagged
COVERAGE = 0.9


def _fields(station: str, day: int, hour: int, count: float, coverage: bool = True) -> str:
    """The fields of one window; 1-minute windows carry no coverage (storage contract)."""
    parts = []
    for q in QUANTITIES:
        v = value(station, q, day, hour)
        parts.append(
            f"{q}_mean={v},{q}_min={v - 1},{q}_max={v + 1},{q}_count={count},{q}_flagged=1"
        )
        if coverage:
            parts.append(f"{q}_coverage={COVERAGE}")
    return ",".join(parts)


def demo_lines() -> tuple[bytes, bytes]:
    """(aggregate lines, raw lines)."""
    agg: list[str] = []
    for day in range(DAYS):
        midnight = DAY0 + timedelta(days=day)
        for st in STATIONS:
            hours = [h for h in range(24) if has_data(st, day, h)]
            for h in hours:
                t = int((midnight + timedelta(hours=h)).timestamp())
                fields = _fields(st, day, h, 25)
                agg.append(f"readings_1h,sensor=sds011,station={st} {fields} {t}000")
                if day == DAYS - 1:  # minute tier for the last day only
                    for m in range(0, 60, 10):
                        agg.append(
                            f"readings_1m,sensor=sds011,station={st} "
                            f"{_fields(st, day, h, 1, coverage=False)} {t + 60 * m}000"
                        )
            if hours:
                parts = []
                for q in QUANTITIES:
                    vs = [value(st, q, day, h) for h in hours]
                    mean = sum(vs) / len(vs)
                    parts.append(
                        f"{q}_mean={mean},{q}_min={min(vs)},{q}_max={max(vs)},"
                        f"{q}_count={25.0 * len(vs)},{q}_flagged={len(vs)},"
                        f"{q}_coverage={COVERAGE * len(vs) / 24}"
                    )
                agg.append(
                    f"readings_1d_paris,sensor=sds011,station={st} {','.join(parts)} "
                    f"{int(midnight.timestamp())}000"
                )
    raw = []
    for day in range(DAYS):
        t = int((DAY0 + timedelta(days=day, hours=12)).timestamp())
        for st in STATIONS:
            silent = st == "lille-01" and day >= 5
            age = 3600.0 * 24 * (day - 4) if silent else 60.0
            raw.append(
                f"{HEALTH_MEASUREMENT},station={st},worker=ingest-1 silent={str(silent).lower()},"
                f"last_seen_age_s={age},stuck={1 if st == 'lens-02' else 0}i,"
                f'stuck_list="{"sds011:pm10" if st == "lens-02" else ""}" {t}000'
            )
    # ingest counters: cumulative per worker, one point an hour over the last day
    last = DAY0 + timedelta(days=DAYS - 1)
    for h in range(24):
        t = int((last + timedelta(hours=h)).timestamp())
        fields = ",".join(
            f"{REJECTED_PREFIX}{r}={h * (1 if r == 'unknown_station' else 0)}i" for r in REASONS
        )
        raw.append(
            f"{INGEST_STATS_MEASUREMENT},worker=ingest-1 messages={h * 100}i,"
            f"readings={h * 98}i,stored={h * 98}i,{fields} {t}000"
        )
    return "\n".join(agg).encode(), "\n".join(raw).encode()


@pytest.fixture(scope="module")
def demo_db(influxd) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = "dashboards_demo"
    writer = InfluxWriter(influxd.url, name)
    writer.ensure_database()
    agg, raw = demo_lines()
    writer.write_lines(agg, rp=AGG_RP)
    writer.write_lines(raw, rp=RAW_RP)
    writer.close()
    yield name


def demo_territory() -> Territory:
    """As ``GET /v1/qpv`` would describe the demo stations around two Lens QPV."""
    return Territory.from_api(
        {
            "source": "qpv_hauts_de_france.geojson",
            "buffers_m": [300, 1000],
            "qpv": [
                {
                    "code": "QP062040",
                    "name": "Cité 12-14",
                    "communes": ["Lens"],
                    "departement": "62",
                    "station_ids": {
                        "qpv": ["lens-01"],
                        "buffer_300m": ["lens-02"],
                        "buffer_1000m": ["lens-02"],
                        "hors_qpv": ["lens-02", "lille-01"],
                    },
                },
                {
                    "code": "QP059001",
                    "name": "Sans station",
                    "communes": ["Lille"],
                    "departement": "59",
                    "station_ids": {"qpv": [], "buffer_300m": [], "hors_qpv": ["lille-01"]},
                },
            ],
        }
    )


@pytest.fixture
def qpv_api(tmp_path, registry, influxd, influx_db, monkeypatch):  # type: ignore[no-untyped-def]
    """The real API on a free port, serving the synthetic QPV of tests/qpv (QPTEST01 in Lens,
    QPTEST02), its stations, their hand-computed 48 hours of PM2.5 (tests/qpv/conftest.py) and
    a few hours of PM2.5 for in-1 up to now (so that the station layer has a class)."""
    import time

    from airq_core.storage import AGG_RP
    from api.settings import ApiSettings
    from tests.qpv.conftest import STATIONS_L93, latlon, line_protocol, write_qpv_file
    from tests.qpv.test_qpv_api import serve

    monkeypatch.setenv("AIRQ_QPV_FILE", str(write_qpv_file(tmp_path / "qpv_test.geojson")))
    for sid, xy in STATIONS_L93.items():
        registry.add(sid, *latlon(xy), name=sid.upper())
    hour = int(time.time()) // 3600 * 3600
    recent = "\n".join(
        f"readings_1h,sensor=sds011,station=in-1 pm2_5_mean=22.0,pm2_5_count=30 "
        f"{(hour - 3600 * i) * 1000}"
        for i in range(3)
    )
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(line_protocol("pm2_5"), rp=AGG_RP)
    writer.write_lines(recent.encode(), rp=AGG_RP)
    writer.close()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as client:
        yield client
