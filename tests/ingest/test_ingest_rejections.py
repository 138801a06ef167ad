"""Every rejection reason of the wire format, sent through a real broker to a running ingest:
counted by reason on /metrics, and the ingest keeps storing valid readings. Also: seq gaps,
and the humidity flag and correction stored beside the raw PM."""

from __future__ import annotations

import math
import time

import httpx
import orjson
import pytest

from airq.services import INGEST_USER
from airq_core import wire
from airq_core.readings import format_time
from airq_core.storage import INGEST_STATS_MEASUREMENT, RAW_RP, REJECTED_PREFIX
from api.registry import hash_token
from ingest.qc import hackair_correct
from ingest.service import IngestService
from tests.helpers import INGEST_PASSWORD, ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, fast_settings

pytestmark = pytest.mark.services


def obj(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ts": format_time(time.time() - 5),
        "sensor": "sds011",
        "values": {"pm2_5": 4.0},
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def js(x: object) -> bytes:
    return orjson.dumps(x)


# counted by the ingest itself, not by decoding (tests/ingest/test_hostile_messages.py)
INGEST_ONLY = {"retained", "internal"}
# reason -> (publishing user, payload)
MALFORMED: dict[str, tuple[str, bytes]] = {
    "bad_topic": ("Bad_Id", js(obj())),
    "payload_too_large": ("lens-01", js([obj()] * 40)[:600] + b" " * 5000),
    "not_json": ("lens-01", b"\xff{pm2_5: 3"),
    "bad_structure": ("lens-01", b'"just a string"'),
    "too_many_readings": ("lens-01", js([obj()] * 51)),
    "bad_ts": ("lens-01", js(obj(ts="yesterday"))),
    "ts_future": ("lens-01", js(obj(ts=format_time(time.time() + 7200)))),
    "ts_too_old": ("lens-01", js(obj(ts=format_time(time.time() - 500 * 86400)))),
    "unknown_sensor": ("lens-01", js(obj(sensor="sds999"))),
    "bad_values": ("lens-01", js(obj(values=[]))),
    "unknown_quantity": ("lens-01", js(obj(values={"pm3": 1.0}))),
    "not_number": ("lens-01", js(obj(values={"pm2_5": "12"}))),
    "out_of_range": ("lens-01", js(obj(values={"pm2_5": -5.0}))),
    "bad_seq": ("lens-01", js(obj(seq=-1))),
    "bad_flags": ("lens-01", js(obj(flags="warmup"))),
    "unknown_station": ("ghost-01", js(obj())),
}


def metrics_text(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def test_every_rejection_reason_is_counted_and_the_ingest_keeps_running(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    assert set(MALFORMED) == set(wire.REASONS) - INGEST_ONLY, "add a message for the new reason"
    token = registry.add("lens-01", 50.43, 2.83)
    users = {INGEST_USER: hash_token(INGEST_PASSWORD), **registry.mosquitto_users()}
    users["ghost-01"] = hash_token("ghost")  # a broker user the registry does not know
    users["Bad_Id"] = hash_token("bad")  # not a valid station id
    mosquitto.set_users(users)
    passwords = {"lens-01": token, "ghost-01": "ghost", "Bad_Id": "bad"}

    ingest = IngestService(
        fast_settings(
            mosquitto,
            influxd.url,
            influx_db,
            str(registry.engine.url),
            tmp_path / "state",
            ingest_max_payload_bytes=4096,
            ingest_max_readings=50,
            ingest_metrics_port=0,
            ingest_health_interval_s=0.2,
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    port = ingest.metrics_server.server_port
    publishers = {}
    wait_until(
        lambda: all(
            publishers.setdefault(u, StationPublisher(mosquitto, u, passwords[u]))
            for u in passwords
        ),
        what="publishers connected (broker reloaded its users)",
    )
    try:
        for reason, (user, payload) in MALFORMED.items():
            publishers[user].publish([payload])
            wait_until(
                lambda r=reason: ingest.handler.counters.rejected[r] >= 1,
                what=f"rejection {reason}",
            )
        assert dict(ingest.handler.counters.rejected) == dict.fromkeys(MALFORMED, 1)

        # still alive: valid readings after the garbage are stored, seq gaps are counted
        now = time.time()
        good = [obj(ts=format_time(now - 3 + i / 10), seq=s) for i, s in enumerate((1, 2, 5))]
        publishers["lens-01"].publish([js(o) for o in good])
        wait_until(lambda: ingest.stored >= 3, what="valid readings stored")
        assert runner.thread.is_alive()
        text = metrics_text(port)
        for reason in wire.REASONS:
            n = 0 if reason in INGEST_ONLY else 1
            assert f'airq_ingest_rejected_total{{reason="{reason}"}} {n}.0' in text
        assert 'airq_ingest_seq_gaps_total{station="lens-01"} 2.0' in text
        assert "airq_ingest_stored_readings_total 3.0" in text

        # the counters also reach InfluxDB, where the data-quality dashboard charts them
        def stats() -> dict | None:  # type: ignore[type-arg]
            res = influxd.query(
                f'SELECT last(*) FROM "{RAW_RP}"."{INGEST_STATS_MEASUREMENT}"', db=influx_db
            )["results"][0]
            if "series" not in res:
                return None
            series = res["series"][0]
            row = dict(zip(series["columns"], series["values"][0], strict=True))
            return row if row.get("last_stored") == 3 else None

        row = wait_until(stats, what="ingest_stats point")
        for reason in wire.REASONS:
            assert row[f"last_{REJECTED_PREFIX}{reason}"] == (0 if reason in INGEST_ONLY else 1)
    finally:
        for p in publishers.values():
            p.close()
        runner.stop()


def test_humid_pm_is_flagged_and_corrected_beside_the_raw_value(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.43, 2.83)
    mosquitto.sync()
    ingest = IngestService(
        fast_settings(
            mosquitto,
            influxd.url,
            influx_db,
            str(registry.engine.url),
            tmp_path / "state",
            ingest_health_interval_s=0.1,
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    pub = StationPublisher(mosquitto, "lens-01", token)
    t = time.time() - 1200
    try:
        pub.publish(
            [
                js(obj(ts=format_time(t), sensor="bme280", values={"humidity": 90.0})),
                js(obj(ts=format_time(t + 10), values={"pm2_5": 40.0, "pm10": 60.0})),
                js(obj(ts=format_time(t + 20), sensor="bme280", values={"humidity": 50.0})),
                js(obj(ts=format_time(t + 21), values={"pm2_5": 10.0})),
                js(obj(ts=format_time(t + 900), values={"pm2_5": 12.0})),  # RH too old
            ]
        )
        wait_until(lambda: ingest.stored >= 5, what="readings stored")

        def health() -> list[object]:
            res = influxd.query(
                'SELECT "silent", "stuck", "last_seen_age_s" FROM "station_health" '
                "WHERE station = 'lens-01' AND worker = 'ingest-test'",
                db=influx_db,
            )
            series = res["results"][0].get("series", [])  # type: ignore[index]
            return [row for s in series for row in s["values"] if row[3] is not None]

        rows = wait_until(health, what="a station_health point after the readings")
        assert rows[-1][1:3] == [False, 0]  # type: ignore[index]
    finally:
        pub.close()
        runner.stop()
    res = influxd.query(
        'SELECT "pm2_5", "pm2_5_hcorr", "pm10_hcorr", "qc_rh", "flags" FROM "raw"."readings" '
        "WHERE sensor = 'sds011'",
        db=influx_db,
    )
    rows = [r[1:] for r in res["results"][0]["series"][0]["values"]]  # type: ignore[index]
    (humid, dry, unmatched) = rows
    assert humid[0] == 40.0 and humid[3] == 90.0 and humid[4] == "humid"
    assert math.isclose(humid[1], hackair_correct("pm2_5", 40.0, 90.0), abs_tol=1e-3)
    assert math.isclose(humid[2], hackair_correct("pm10", 60.0, 90.0), abs_tol=1e-3)
    assert humid[1] < 40.0
    assert dry[0] == 10.0 and dry[3] == 50.0 and dry[4] is None and dry[1] < 10.0
    assert unmatched == [12.0, None, None, None, None]
    assert ingest.qc.flagged == 1
