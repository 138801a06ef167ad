"""Two workers on a shared subscription (``$share/<group>/…``): every reading stored once, and
every aggregate tier identical to what one worker computes from the same messages. Also pins
down how Mosquitto 2.0.11 treats an offline member with a persistent session: it keeps its
share of the messages until it comes back (docs/ingest.md)."""

from __future__ import annotations

import time

import pytest

from airq_core.readings import Reading
from airq_core.storage import TIERS
from airq_core.wire import encode_readings
from ingest.influx import InfluxWriter
from ingest.service import IngestService
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, count_stored, fast_settings
from tests.ingest.test_ingest_rollups import assert_same, fetch, fetch_packed

pytestmark = pytest.mark.services

STATIONS = ["share-01", "share-02", "share-03"]


def payloads(start: float, n: int) -> dict[str, list[bytes]]:
    """PM and humidity of a station in the same message (so the humidity correction does not
    depend on which worker gets which message)."""
    out: dict[str, list[bytes]] = {}
    for k, st in enumerate(STATIONS):
        msgs = []
        for i in range(n):
            t = round(start + i * 7.3 + k, 3)
            pm = round((i * 37 + k * 11) % 500 / 10, 1)
            rh = float((i * 13 + k) % 60 + 40)
            msgs.append(
                encode_readings(
                    [
                        Reading(st, "sds011", t, {"pm2_5": pm, "pm10": pm * 2}),
                        Reading(st, "bme280", t, {"humidity": rh, "temperature": 10.5}),
                    ]
                )
            )
        out[st] = msgs
    return out


def all_aggregates(url: str, db: str) -> dict[str, dict]:  # type: ignore[type-arg]
    w = InfluxWriter(url, db)
    try:
        return {**{tier: fetch(w, tier) for tier in TIERS}, "1h_by_day": fetch_packed(w)}
    finally:
        w.close()


def settled(ingests: list[IngestService]) -> bool:
    return all(i.roller is not None and len(i.roller.dirty) == 0 for i in ingests)


def test_two_workers_store_once_and_aggregate_like_one(
    tmp_path, registry, mosquitto, influxd
) -> None:  # type: ignore[no-untyped-def]
    tokens = {st: registry.add(st, 50.4, 2.8) for st in STATIONS}
    mosquitto.sync()
    reg_url = str(registry.engine.url)
    data = payloads(time.time() - 2 * 86400, 600)  # ~73 min per station, windows all closed
    n_readings = 2 * 600 * len(STATIONS)
    pubs = {st: StationPublisher(mosquitto, st, tokens[st]) for st in STATIONS}

    def publish_all() -> None:
        for st, ps in data.items():
            pubs[st].publish(ps)

    def run_workers(db: str, ids: list[str], group: str | None) -> list[IngestService]:
        ingests = [
            IngestService(
                fast_settings(
                    mosquitto,
                    influxd.url,
                    db,
                    reg_url,
                    tmp_path / "state",
                    ingest_client_id=cid,
                    ingest_shared_group=group,
                )
            )
            for cid in ids
        ]
        runners = [ThreadRunner(i.run, i.settings.ingest_client_id) for i in ingests]
        try:
            for i in ingests:
                wait_until(i.subscribed.is_set, what="subscription")
            publish_all()
            wait_until(lambda: sum(i.stored for i in ingests) >= n_readings, what="all stored")
            wait_until(lambda: settled(ingests), what="rollups done")
        finally:
            for r in runners:
                r.stop()
        return ingests

    try:
        pair = run_workers("shared_two", ["worker-a", "worker-b"], "airq")
        assert all(i.stored > 0 for i in pair), [i.stored for i in pair]
        solo = run_workers("shared_one", ["worker-solo"], None)
        assert count_stored(influxd, "shared_two") == count_stored(influxd, "shared_one")
        assert count_stored(influxd, "shared_one") == n_readings // 2  # pm2_5 points
        two = all_aggregates(influxd.url, "shared_two")
        one = all_aggregates(influxd.url, "shared_one")
        for tier in [*TIERS, "1h_by_day"]:
            assert one[tier], tier
            assert_same(two[tier], one[tier])
        # the packed days hold the hourly tier (its statistics; the interval is not packed)
        hourly = {
            k: {f: v for f, v in w.items() if f != "interval_s"} for k, w in one["1h"].items()
        }
        assert_same(one["1h_by_day"], hourly)
        assert any("pm2_5_hcorr_mean" in f for f in one["1h"].values())
        assert solo[0].stored == n_readings
    finally:
        for p in pubs.values():
            p.close()


def test_offline_member_of_a_shared_group_keeps_its_share_until_it_returns(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add("share-01", 50.4, 2.8)
    mosquitto.sync()
    reg_url = str(registry.engine.url)

    def worker(cid: str) -> tuple[IngestService, ThreadRunner]:
        s = fast_settings(
            mosquitto,
            influxd.url,
            influx_db,
            reg_url,
            tmp_path / "state",
            ingest_client_id=cid,
            ingest_shared_group="airq",
        )
        i = IngestService(s)
        r = ThreadRunner(i.run, cid)
        wait_until(i.subscribed.is_set, what=f"{cid} subscribed")
        return i, r

    a, ra = worker("member-a")
    _b, rb = worker("member-b")
    pub = StationPublisher(mosquitto, "share-01", token)
    t0 = time.time() - 3600
    msgs = [
        encode_readings([Reading("share-01", "sds011", t0 + i, {"pm2_5": float(i)})])
        for i in range(40)
    ]
    try:
        rb.stop()  # member-b goes away; its persistent session stays with the broker
        pub.publish(msgs)
        wait_until(lambda: a.stored >= 20, what="member-a's share")
        # Mosquitto 2.0.11 still hands member-b its turn: those readings wait for it
        assert count_stored(influxd, influx_db) < 40
        b2, rb2 = worker("member-b")
        wait_until(lambda: count_stored(influxd, influx_db) >= 40, what="member-b's share")
        assert a.stored + b2.stored == 40
        rb2.stop()
    finally:
        pub.close()
        ra.stop()
