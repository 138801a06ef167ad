"""InfluxDB stopped and restarted (same port, same data) in the middle of a stream: nothing is
lost, the ingest holds at most the broker's in-flight window meanwhile, the backlog drains, and
the aggregates catch up."""

from __future__ import annotations

import time

import pytest

from airq.services import InfluxDB
from ingest.service import IngestService
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import (
    RatedPublisher,
    StationPublisher,
    count_stored,
    expected_pm,
    fast_settings,
    stored_values,
    stream_payloads,
)
from tests.ingest.test_ingest_crash import _readings, same_pm_1m

pytestmark = pytest.mark.services

STATIONS = ["down-01", "down-02"]


def test_influxdb_outage_loses_nothing_and_memory_stays_bounded(
    tmp_path, registry, mosquitto
) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxDB(tmp_path / "influx").start()
    tokens = {st: registry.add(st, 50.4, 2.8) for st in STATIONS}
    mosquitto.sync()
    settings = fast_settings(
        mosquitto, influx.url, "outage", str(registry.engine.url), tmp_path / "state"
    )
    ingest = IngestService(settings)
    runner = ThreadRunner(ingest.run, "ingest")
    pubs: dict[str, StationPublisher] = {}
    try:
        wait_until(ingest.subscribed.is_set, what="ingest subscription")
        pubs.update({st: StationPublisher(mosquitto, st, tokens[st]) for st in STATIONS})
        # one reading per message: 2 × 2500 messages
        payloads = stream_payloads(STATIONS, 2500, time.time() - 3000, 1.0, 1)
        want = expected_pm(payloads)
        stream = RatedPublisher(pubs, payloads, rate=600)
        wait_until(lambda: count_stored(influx, "outage") >= 600, what="first readings stored")
        influx.stop()
        wait_until(lambda: not ingest.influx_up, what="the ingest to see the outage")
        stored_before = ingest.stored
        sent_at_outage = stream.sent
        peak = 0

        def backlog_grows() -> bool:
            nonlocal peak
            peak = max(peak, ingest.unacked)
            return stream.sent >= sent_at_outage + 1500 and peak >= 1000

        wait_until(backlog_grows, interval=0.01, what="1500 messages published during the outage")
        assert ingest.stored == stored_before  # nothing acknowledged while InfluxDB is down
        # bounded: the broker sends at most max_inflight_messages (1000) unacknowledged
        assert peak == 1000, peak
        assert ingest.source.inbox.qsize() <= 1000

        influx = InfluxDB(tmp_path / "influx", port=influx.port).start()
        stream.join()
        wait_until(
            lambda: count_stored(influx, "outage") >= len(want), timeout=40, what="backlog drained"
        )
        assert stored_values(influx, "outage") == want
        wait_until(
            lambda: same_pm_1m(settings, _readings(want)),
            timeout=30,
            what="aggregates recomputed after the outage",
        )
        assert ingest.write_failures > 0
    finally:
        for p in pubs.values():
            p.close()
        runner.stop(timeout=30)
        influx.stop()
