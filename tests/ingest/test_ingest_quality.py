"""Quality control, station health and seq gaps (pure, injected clocks)."""

from __future__ import annotations

import orjson
import pytest

from airq_core import wire
from airq_core.readings import Reading
from ingest.health import HealthTracker
from ingest.pipeline import MessageHandler
from ingest.qc import HumidityQC, hackair_correct


def test_hackair_correction_matches_the_published_formula() -> None:
    assert hackair_correct("pm10", 50.0, 90.0) == pytest.approx(50.0 / (1 + 0.81559 * 0.9**5.83411))
    assert hackair_correct("pm2_5", 30.0, 80.0) == pytest.approx(
        30.0 / (1 + 0.48756 * 0.8**8.60068)
    )
    assert hackair_correct("pm2_5", 30.0, 0.0) == 30.0  # dry air: unchanged
    assert hackair_correct("pm2_5", 30.0, 140.0) == hackair_correct("pm2_5", 30.0, 100.0)


def test_humidity_from_another_sensor_of_the_station_flags_and_corrects() -> None:
    qc = HumidityQC(threshold=75, max_age_s=300)
    out = qc.apply(
        [
            Reading("a-01", "bme280", 1000.0, {"humidity": 80.0}),
            Reading("a-01", "sds011", 1100.0, {"pm2_5": 20.0, "pm10": 30.0}, flags=("warmup",)),
            Reading("b-01", "sds011", 1100.0, {"pm2_5": 20.0}),  # no humidity at b-01
        ]
    )
    pm = out[1]
    assert pm.values["pm2_5"] == 20.0 and pm.values["pm10"] == 30.0  # raw kept
    assert pm.values["pm2_5_hcorr"] == round(hackair_correct("pm2_5", 20.0, 80.0), 3)
    assert pm.values["qc_rh"] == 80.0
    assert pm.flags == ("warmup", "humid")
    assert out[2] == Reading("b-01", "sds011", 1100.0, {"pm2_5": 20.0})


def test_backlog_pm_gets_the_humidity_of_its_own_time() -> None:
    qc = HumidityQC(threshold=75, max_age_s=300)
    hums = [Reading("a-01", "bme280", t, {"humidity": 40.0 + t / 100}) for t in range(0, 3600, 145)]
    pms = [Reading("a-01", "sds011", t + 10.0, {"pm2_5": 5.0}) for t in range(0, 3600, 145)]
    out = qc.apply([*pms, *hums])
    for r in out[: len(pms)]:
        assert r.values["qc_rh"] == 40.0 + (r.ts - 10) / 100
    late = qc.apply([Reading("a-01", "sds011", 3600 + 1000.0, {"pm2_5": 5.0})])[0]
    assert "qc_rh" not in late.values  # the latest humidity is too old


def test_stuck_sensor_and_silent_station_are_detected() -> None:
    h = HealthTracker(stuck_s=3 * 3600, silent_s=1800, started_at=0.0)
    for i in range(200):
        t = i * 60.0
        h.observe(
            [
                Reading("a-01", "dht22", t, {"humidity": 99.9, "temperature": 10 + i % 7}),
                Reading("a-01", "ccs", t, {"voc_grade": 1.0}),  # coarse scale: not checked
            ],
            now=t,
        )
    (a, b) = h.check(["a-01", "b-01"], now=199 * 60.0)
    assert a.station == "a-01" and not a.silent and a.stuck == (("dht22", "humidity"),)
    assert b.station == "b-01" and b.silent and b.last_seen_age_s is None
    (a_later,) = [s for s in h.check(["a-01"], now=199 * 60.0 + 1800) if s.station == "a-01"]
    assert a_later.silent


def test_stuck_needs_hours_of_identical_values() -> None:
    h2 = HealthTracker(stuck_s=3 * 3600, silent_s=1800, started_at=0.0)
    h2.observe([Reading("a-01", "sds011", 0.0, {"pm2_5": 3.0})], now=0)
    h2.observe([Reading("a-01", "sds011", 3 * 3600 - 1.0, {"pm2_5": 3.0})], now=1)
    assert h2.stuck() == {}
    h2.observe([Reading("a-01", "sds011", 3 * 3600.0, {"pm2_5": 3.0})], now=2)
    assert h2.stuck() == {"a-01": [("sds011", "pm2_5")]}


def send(h: MessageHandler, *seqs: int) -> None:
    objs = [{"ts": 9000 + s, "sensor": "sds011", "values": {"pm2_5": 1.0}, "seq": s} for s in seqs]
    h.handle(wire.readings_topic("a-01"), orjson.dumps(objs))


def test_seq_gaps_are_counted_per_station_and_redeliveries_are_not() -> None:
    h = MessageHandler({"a-01"}, clock=lambda: 10_000.0)
    send(h, 1, 2, 3)
    send(h, 6)  # 4 and 5 lost
    send(h, 2, 3)  # a redelivery
    send(h, 7, 9)  # 8 lost, inside one array
    send(h, 1)  # the gateway's store was reset
    send(h, 2)
    assert h.counters.seq_gaps == {"a-01": 3}

    shared = MessageHandler({"a-01"}, clock=lambda: 10_000.0, track_seq_across_messages=False)
    send(shared, 1, 2)
    send(shared, 5)  # another worker may have had 3 and 4
    send(shared, 6, 8)
    assert shared.counters.seq_gaps == {"a-01": 1}
