"""The periodic reports on their own (ingest.report): injected clocks, a snapshot given by
hand, a real influxd to receive the points."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airq.services import free_port
from airq_core.readings import Reading
from ingest.health import HealthTracker
from ingest.influx import InfluxWriter
from ingest.report import PeriodicReports
from ingest.stats import IngestStats

pytestmark = pytest.mark.services

NOW = 1_774_656_000.0  # the injected wall clock: the points' time, unrelated to today


class Mono:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def writer(influxd, influx_db) -> Iterator[InfluxWriter]:  # type: ignore[no-untyped-def]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    yield w
    w.close()


def points(writer: InfluxWriter, measurement: str) -> list[dict[str, object]]:
    res = writer.query(f'SELECT * FROM "{measurement}"')
    out = []
    for series in res[0].get("series", []):
        out += [dict(zip(series["columns"], row, strict=True)) for row in series["values"]]
    return out


def reports(writer: InfluxWriter, mono: Mono, stats: IngestStats) -> PeriodicReports:
    health = HealthTracker(stuck_s=3600, silent_s=600, started_at=NOW - 60)
    health.observe([Reading("lens-01", "sds011", NOW - 30, {"pm2_5": 3.0})], NOW - 30)
    return PeriodicReports(
        health, lambda: ["lens-01", "lens-02"], writer, "w1", lambda: stats, 60.0, lambda: NOW, mono
    )


def test_health_and_counters_are_written_once_the_interval_has_passed(
    writer: InfluxWriter,
) -> None:
    mono = Mono()
    r = reports(writer, mono, IngestStats(messages=4, readings=3, stored=3, rejected={"bad_ts": 1}))
    mono.now += 59.9
    r.tick()
    assert r.last_health == [] and points(writer, "ingest_stats") == []
    mono.now += 0.1
    r.tick()
    assert [h.station for h in r.last_health] == ["lens-01", "lens-02"]
    (row,) = points(writer, "ingest_stats")
    assert row["time"] == NOW * 1000 and row["worker"] == "w1"
    assert (row["messages"], row["stored"], row["rejected_bad_ts"], row["rejected_not_json"]) == (
        4,
        3,
        1,
        0,
    )
    health = {p["station"]: p for p in points(writer, "station_health")}
    assert health["lens-01"]["silent"] is False and health["lens-01"]["last_seen_age_s"] == 30.0
    assert health["lens-02"]["silent"] is False  # started 60 s ago, silent after 600 s


def test_influxdb_down_skips_the_report_without_raising(influx_db: str) -> None:
    down = InfluxWriter(f"http://127.0.0.1:{free_port()}", influx_db)
    mono = Mono()
    r = reports(down, mono, IngestStats())
    mono.now += 61
    r.tick()  # logged at debug, the loop goes on
    assert len(r.last_health) == 2
    down.close()
