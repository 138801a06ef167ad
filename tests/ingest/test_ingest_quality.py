"""Quality control, station health and seq gaps (pure, injected clocks)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import orjson
import pytest

from airq_core import wire
from airq_core.readings import Reading
from ingest.health import HealthTracker
from ingest.importer import quality_control
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


def rh_of(t: float) -> float:
    return round(40.0 + (t % 5000) / 100, 2)


def backlog(hours: float, step: int, station: str = "a-01") -> list[Reading]:
    """A station's readings in time order, as a gateway flushes its store: humidity every
    ``step`` seconds, a PM reading 1 s after each (its match is the humidity just before)."""
    out = []
    for t in range(0, round(hours * 3600), step):
        out.append(Reading(station, "bme280", float(t), {"humidity": rh_of(t)}))
        out.append(Reading(station, "sds011", t + 1.0, {"pm2_5": 5.0, "pm10": 8.0}))
    return out


@pytest.mark.parametrize("step", [145, 5])  # 249 PM readings; 7200, beyond the count bound
def test_a_ten_hour_backlog_in_one_batch_is_matched_reading_by_reading(step: int) -> None:
    qc = HumidityQC(threshold=75, max_age_s=300)
    out = qc.apply(backlog(10, step))
    pms = [r for r in out if r.sensor == "sds011"]
    assert len(pms) == len(range(0, 36000, step))
    assert [r.values.get("qc_rh") for r in pms] == [rh_of(r.ts - 1) for r in pms]
    assert qc.corrected == len(pms)
    assert qc.held("a-01") <= qc.max_held  # memory per station stays bounded
    assert qc.held("b-01") == 0


def test_a_later_humidity_is_never_taken_even_in_the_same_batch() -> None:
    pm = Reading("a-01", "sds011", 1000.0, {"pm2_5": 5.0})
    later = Reading("a-01", "bme280", 1060.0, {"humidity": 90.0})
    too_old = Reading("a-01", "bme280", 600.0, {"humidity": 50.0})
    assert HumidityQC().apply([too_old, pm, later])[1] == pm
    same = Reading("a-01", "bme280", 1000.0, {"humidity": 90.0})
    # the same instant counts whichever comes first in the batch
    assert HumidityQC().apply([pm, later, same])[0].values["qc_rh"] == 90.0


def stream(seed: int) -> list[Reading]:
    """Two stations in time order, as the live ingest receives them: humidity missing at
    times, PM and humidity sometimes at the same instant (either first), gaps and outages."""
    rng = random.Random(seed)
    out = []
    for station in ("a-01", "b-02"):
        t = 0.0
        while t < 12 * 3600:
            pm = Reading(station, "sds011", t, {"pm2_5": round(rng.uniform(0, 80), 1)})
            at = round(t - rng.choice([0.0, 0.0, 30.0, 200.0, 400.0]), 3)
            hum = Reading(station, "bme280", at, {"humidity": round(rng.uniform(30, 99), 1)})
            if rng.random() < 0.2:
                pass  # no humidity this time
            elif at == t and rng.random() < 0.5:
                out += [pm, hum]
            else:
                out += [hum, pm]
            t += rng.choice([60.0, 145.0, 145.0, 900.0, 3 * 3600.0 if rng.random() < 0.05 else 1])
    out.sort(key=lambda r: r.ts)  # stable: a station's instant keeps its order
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_result_does_not_depend_on_batching(seed: int) -> None:
    readings = stream(seed)
    whole = HumidityQC().apply(readings)
    assert 0 < sum("qc_rh" in r.values for r in whole) < sum(r.sensor == "sds011" for r in whole)
    instants = [list(g) for _, g in itertools.groupby(readings, key=lambda r: r.ts)]
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(instants)), 40))
    qc = HumidityQC()
    batched = []
    for a, b in itertools.pairwise([0, *cuts, len(instants)]):
        batched += qc.apply([r for instant in instants[a:b] for r in instant])
    assert batched == whole
    # the importer: one instant per batch
    assert list(quality_control(readings, HumidityQC(), Counter())) == whole


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
