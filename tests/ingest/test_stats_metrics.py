"""The metrics and the ingest_stats point read a stats snapshot (ingest.stats), not the
service: tested here from snapshots built by hand, with no broker, no InfluxDB, no service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from airq_core.wire import REASONS
from ingest.health import StationHealth
from ingest.metrics import IngestCollector, read_readiness
from ingest.stats import IngestStats, RollupStats, health_lines, stats_line

ROOT = Path(__file__).resolve().parents[2]


def scrape(stats: IngestStats) -> str:
    registry = CollectorRegistry()
    registry.register(IngestCollector(lambda: stats))
    return generate_latest(registry).decode()


def test_every_metric_comes_from_the_snapshot() -> None:
    stats = IngestStats(
        messages=12,
        readings=30,
        stored=29,
        rejected={"bad_ts": 2, "internal": 1},
        seq_gaps={"lens-01": 4},
        write_failures=3,
        influx_up=False,
        mqtt_connected=True,
        subscribed=True,
        unacked=7,
        qc_flagged=5,
        qc_corrected=6,
        rollups=RollupStats({"1m": 8, "1h": 2}, points=40, pending=9),
        health=(StationHealth("lens-01", True, 3600.0, (("sds011", "pm2_5"),)),),
    )
    text = scrape(stats)
    for line in [
        "airq_ingest_messages_total 12.0",
        "airq_ingest_readings_total 30.0",
        "airq_ingest_stored_readings_total 29.0",
        'airq_ingest_rejected_total{reason="bad_ts"} 2.0',
        'airq_ingest_rejected_total{reason="internal"} 1.0',
        'airq_ingest_rejected_total{reason="not_json"} 0.0',
        'airq_ingest_seq_gaps_total{station="lens-01"} 4.0',
        "airq_ingest_write_failures_total 3.0",
        "airq_ingest_influx_up 0.0",
        "airq_ingest_mqtt_connected 1.0",
        "airq_ingest_unacked_messages 7.0",
        "airq_ingest_qc_humid_flagged_total 5.0",
        "airq_ingest_qc_hcorr_total 6.0",
        'airq_ingest_rollup_windows_total{tier="1m"} 8.0',
        "airq_ingest_rollup_points_total 40.0",
        "airq_ingest_rollup_pending 9.0",
        'airq_ingest_station_silent{station="lens-01"} 1.0',
        'airq_ingest_station_stuck{station="lens-01"} 1.0',
    ]:
        assert line in text.splitlines(), line
    assert text.count("airq_ingest_rejected_total{") == len(REASONS)


def test_without_rollups_their_metrics_are_absent() -> None:
    text = scrape(IngestStats())
    assert "airq_ingest_messages_total 0.0" in text
    assert "airq_ingest_rollup" not in text


def test_readiness_needs_the_broker_the_subscription_and_influxdb() -> None:
    assert read_readiness(IngestStats(mqtt_connected=True, subscribed=True)).ready
    assert not read_readiness(IngestStats(mqtt_connected=False, subscribed=True)).ready
    assert not read_readiness(IngestStats(mqtt_connected=True, subscribed=False)).ready
    r = read_readiness(IngestStats(mqtt_connected=True, subscribed=True, influx_up=False))
    assert not r.ready and r.influx_write_ok is False


def test_the_stats_point_has_every_reason_and_the_health_points_their_fields() -> None:
    line = stats_line(
        IngestStats(messages=3, readings=2, stored=2, rejected={"bad_ts": 1}), "w1", 5
    )
    head, fields, ts = line.split(" ")
    assert head == "ingest_stats,worker=w1" and ts == "5"
    values = dict(f.split("=") for f in fields.split(","))
    assert values["messages"] == "3i" and values["stored"] == "2i"
    assert values["rejected_bad_ts"] == "1i" and values["rejected_not_json"] == "0i"
    assert len([k for k in values if k.startswith("rejected_")]) == len(REASONS)
    lines = health_lines(
        [
            StationHealth("a", False, 1.5, ()),
            StationHealth("b", True, None, (("sds011", "pm2_5"), ("bme280", "rh"))),
        ],
        "w1",
        5,
    ).split("\n")
    assert lines == [
        "station_health,station=a,worker=w1 silent=false,stuck=0i,last_seen_age_s=1.5 5",
        "station_health,station=b,worker=w1 silent=true,stuck=2i,"
        'stuck_list="sds011:pm2_5,bme280:rh" 5',
    ]


def test_metrics_and_stats_do_not_import_the_service() -> None:
    code = (
        "import sys, ingest.metrics, ingest.stats, ingest.report;"
        "print(sorted(m for m in sys.modules if m in ('ingest.service', 'paho', 'ingest.rollup')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
