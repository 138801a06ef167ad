"""The index endpoints (overall daily ATMO index, annual means) on a real influxd holding hourly
aggregates written per the storage contract, with days and a year relative to now. Expected
classes and means are worked out by hand from the values written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from airq_core.storage import AGG_RP
from api.settings import ApiSettings
from ingest.influx import InfluxWriter
from tests.qpv.conftest import INDOOR, PARIS, QPV1, STATIONS_L93, latlon
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services

TODAY = datetime.now(PARIS).date()
DAY_PM10 = TODAY - timedelta(days=3)  # PM10 drives (mauvais)
DAY_NO2 = TODAY - timedelta(days=2)  # an NO2 hourly peak drives (mauvais)
YEAR = TODAY.year - 1


def paris_hours(day: date) -> list[int]:
    """Unix starts of the hours of a Paris civil day (23, 24 or 25)."""
    t0 = int(datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp())
    nxt = day + timedelta(days=1)
    t1 = int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=PARIS).timestamp())
    return list(range(t0, t1, 3600))


def line(station: str, t: int, **values: float) -> str:
    fields = ",".join(f"{q}_mean={v},{q}_count=20.0" for q, v in values.items())
    return f"readings_1h,sensor=sds011,station={station} {fields} {t}000"


def day_lines() -> list[str]:
    out = []
    for i, t in enumerate(paris_hours(DAY_PM10)):
        # in-1: PM2.5 12 (moyen), PM10 55 (mauvais), NO2 20 with a 60 peak (moyen)
        out.append(line("in-1", t, pm2_5=12.0, pm10=55.0, no2=60.0 if i == 8 else 20.0))
        # in-1b, inside too: PM10 45 (dégradé), NO2 peak 100 (dégradé): the QPV takes in-1's
        # PM10 (55) and in-1b's NO2 (100)
        out.append(line("in-1b", t, pm10=45.0, no2=100.0 if i == 9 else 30.0))
    for i, t in enumerate(paris_hours(DAY_NO2)):
        # in-1: particles bon, NO2 mean 30 but one hour at 125 (mauvais)
        out.append(line("in-1", t, pm2_5=8.0, pm10=15.0, no2=125.0 if i == 18 else 30.0))
        if i < 10:  # in-1b: 10 hours only, an incomplete day, a worse PM10 ignored
            out.append(line("in-1b", t, pm10=300.0))
    return out


def year_lines() -> list[str]:
    """in-1 over YEAR: PM2.5 12 on 340 days (sufficient), PM10 30 on the first 100 days
    (indicative), NO2 35 on the first 30 days (insufficient)."""
    out = []
    d = date(YEAR, 1, 1)
    for n in range(340):
        for t in paris_hours(d + timedelta(days=n)):
            vals = {"pm2_5": 12.0}
            if n < 100:
                vals["pm10"] = 30.0
            if n < 30:
                vals["no2"] = 35.0
            out.append(line("in-1", t, **vals))
    return out


@pytest.fixture(scope="module")
def lines() -> bytes:
    return "\n".join(day_lines() + year_lines()).encode()


@pytest.fixture
def client(
    qpv_file: Path, registry, influxd, influx_db, lines: bytes, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    for sid, xy in STATIONS_L93.items():
        registry.add(sid, *latlon(xy), name=sid.upper())
    registry.add("in-1b", *latlon((QPV1[0] + 50, QPV1[1] + 50)), name="IN-1B")
    registry.add("indoor-1", *latlon(INDOOR["indoor-1"]), name="salle", indoor=True)
    writer = InfluxWriter(influxd.url, influx_db)
    writer.ensure_database()
    writer.write_lines(lines, rp=AGG_RP)
    writer.close()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as c:
        yield c


def _subs(index: dict) -> dict[str, tuple[float, str]]:
    return {s["quantity"]: (s["value"], s["atmo_class"]) for s in index["sub_indices"]}


def test_a_day_where_pm10_drives_the_station_index(client: httpx.Client) -> None:
    r = client.get("/v1/indices/atmo/stations/in-1", params={"day": DAY_PM10.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indicatif"]["fr"].startswith("indicatif")
    assert body["indicatif"]["en"].startswith("indicative")
    idx = body["index"]
    assert idx["atmo_class"] == "mauvais" and idx["label"] == {"fr": "Mauvais", "en": "Poor"}
    assert idx["drivers"] == ["pm10"]
    assert _subs(idx) == {
        "pm2_5": (12.0, "moyen"),
        "pm10": (55.0, "mauvais"),
        "no2": (60.0, "moyen"),  # the maximum hourly mean, not the daily mean (21.7)
    }
    assert idx["missing"] == ["o3", "so2"] and idx["incomplete"] == []


def test_a_day_where_no2_drives_the_station_index(client: httpx.Client) -> None:
    r = client.get("/v1/indices/atmo/stations/in-1", params={"day": DAY_NO2.isoformat()})
    idx = r.json()["index"]
    assert idx["atmo_class"] == "mauvais" and idx["drivers"] == ["no2"]
    assert _subs(idx)["no2"] == (125.0, "mauvais") and _subs(idx)["pm10"] == (15.0, "bon")


def test_qpv_index_takes_the_worst_station_per_pollutant(client: httpx.Client) -> None:
    r = client.get("/v1/indices/atmo/qpv/qptest01", params={"day": DAY_PM10.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["qpv"] == "QPTEST01" and body["stations"] == ["in-1", "in-1b"]
    idx = body["index"]
    assert idx["atmo_class"] == "mauvais" and idx["drivers"] == ["pm10"]
    subs = {s["quantity"]: (s["value"], s["station"]) for s in idx["sub_indices"]}
    assert subs["pm10"] == (55.0, "in-1") and subs["no2"] == (100.0, "in-1b")
    assert [s["atmo_class"] for s in body["per_station"]] == ["mauvais", "degrade"]
    # the next day in-1b has 10 hours: its PM10 of 300 is incomplete, not the index
    nxt = client.get("/v1/indices/atmo/qpv/QPTEST01", params={"day": DAY_NO2.isoformat()})
    idx2 = nxt.json()["index"]
    assert idx2["drivers"] == ["no2"] and _subs(idx2)["pm10"] == (15.0, "bon")
    assert nxt.json()["per_station"][1]["incomplete"] == ["pm10"]


def test_a_day_without_data_has_no_index(client: httpx.Client) -> None:
    r = client.get("/v1/indices/atmo/stations/buf-1", params={"day": DAY_PM10.isoformat()})
    idx = r.json()["index"]
    assert idx["atmo_class"] is None and idx["sub_indices"] == [] and idx["drivers"] == []


def test_annual_means_with_coverage_and_references(client: httpx.Client) -> None:
    r = client.get("/v1/indices/annual/stations/in-1", params={"year": YEAR})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == YEAR and body["year_complete"] is True
    by_q = {q["quantity"]: q for q in body["quantities"]}
    days = (date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days
    pm25 = by_q["pm2_5"]
    assert pm25["mean"] == 12.0 and pm25["days_valid"] == 340 and pm25["days_in_year"] == days
    assert pm25["coverage_status"] == "sufficient"
    assert {c["reference"]: (c["value"], c["exceeded"]) for c in pm25["comparisons"]} == {
        "who_2021": (5.0, True),
        "eu_2030": (10.0, True),
        "eu_2008": (25.0, False),
    }
    pm10 = by_q["pm10"]
    assert pm10["coverage_status"] == "indicative" and pm10["days_valid"] == 100
    assert {c["reference"]: c["exceeded"] for c in pm10["comparisons"]} == {
        "who_2021": True,
        "eu_2030": True,
        "eu_2008": False,
    }
    # 30 days: insufficient coverage, the mean is given but never judged compliant
    no2 = by_q["no2"]
    assert no2["mean"] == 35.0 and no2["coverage_status"] == "insufficient"
    assert [c["exceeded"] for c in no2["comparisons"]] == [None, None, None]
    assert no2["coverage_label"]["fr"].startswith("couverture insuffisante")


def test_annual_means_of_a_qpv(client: httpx.Client) -> None:
    r = client.get("/v1/indices/annual/qpv/QPTEST01", params={"year": YEAR})
    by_q = {q["quantity"]: q for q in r.json()["quantities"]}
    assert by_q["pm2_5"]["mean"] == 12.0 and by_q["pm2_5"]["coverage_status"] == "sufficient"


def test_unknown_station_or_qpv_and_bad_parameters(client: httpx.Client) -> None:
    r = client.get("/v1/indices/atmo/stations/nope-01")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/indices/annual/qpv/QPNOPE").status_code == 404
    bad = client.get("/v1/indices/annual/stations/in-1", params={"year": 1900})
    assert bad.status_code == 422 and bad.json()["detail"]
    assert client.get("/v1/indices/atmo/stations/in-1", params={"day": "2025-02-30"}).is_error
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/v1/indices/atmo/qpv/{code}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/AtmoAnswer")
