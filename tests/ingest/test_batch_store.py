"""A batch stored, then acknowledged (ingest.batch_store), without the broker: the batch is
made of messages as paho hands them over, the store writes to a real influxd, and the ``ack``
given to the store records what it acknowledges and what InfluxDB and the journal hold at that
moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airq.services import InfluxDB, free_port
from airq_core import wire
from airq_core.readings import Reading
from airq_core.storage import RAW_MEASUREMENT, RAW_RP
from ingest.batch_store import BatchStore
from ingest.deadletter import DeadLetters
from ingest.health import HealthTracker
from ingest.influx import InfluxWriter
from ingest.mqtt_source import Message
from ingest.pipeline import MessageHandler
from ingest.qc import HumidityQC
from ingest.rollup import Roller
from ingest.windows import DirtyWindows
from tests.helpers import wait_until

pytestmark = pytest.mark.services

STATIONS = {"lens-01", "lens-02"}


def message(mid: int, station: str, value: float, retain: bool = False) -> Message:
    # relative to now: the readings are inside the accepted age whatever the date
    r = Reading(station, "sds011", time.time() - 120 + mid, {"pm2_5": value, "pm10": value + 1})
    return Message(mid, 1, wire.readings_topic(station), wire.encode_readings([r]), retain)


def stored_count(writer: InfluxWriter) -> int:
    res = writer.query(f'SELECT count("pm2_5") FROM "{RAW_RP}"."{RAW_MEASUREMENT}"')
    series = res[0].get("series", [])
    return int(series[0]["values"][0][1]) if series else 0


class Acks:
    """The store's ``ack``: what was acknowledged, and what was stored when it was."""

    def __init__(self, writer: InfluxWriter, journal: Path | None = None) -> None:
        self.writer = writer
        self.journal = journal
        self.batches: list[list[int]] = []
        self.stored_at_ack: list[int] = []
        self.journal_at_ack: list[str] = []

    def __call__(self, batch: list[Message]) -> None:
        self.batches.append([m.mid for m in batch])
        self.stored_at_ack.append(stored_count(self.writer))
        if self.journal is not None:
            self.journal_at_ack.append(self.journal.read_text())


def make_store(
    writer: InfluxWriter, ack: Any, roller: Roller | None = None, **kw: Any
) -> BatchStore:
    return BatchStore(
        kw.get("handler") or MessageHandler(STATIONS, time.time),
        HumidityQC(),
        writer,
        HealthTracker(3 * 3600, 1800, time.time()),
        DeadLetters(None, "test"),
        ack,
        time.time,
        roller,
    )


@pytest.fixture
def writer(influxd, influx_db) -> Iterator[InfluxWriter]:  # type: ignore[no-untyped-def]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    yield w
    w.close()


def test_a_batch_is_acknowledged_only_once_stored_and_its_windows_journaled(
    writer: InfluxWriter, tmp_path: Path
) -> None:
    state = tmp_path / "rollup-test.json"
    roller = Roller(writer, DirtyWindows(), state_path=state)
    acks = Acks(writer, state.with_suffix(".journal"))
    store = make_store(writer, acks, roller)
    batch = [message(1, "lens-01", 5.0), message(2, "lens-02", 6.0), message(3, "lens-01", 7.0)]
    store.flush(batch, threading.Event())
    assert acks.batches == [[1, 2, 3]]
    assert acks.stored_at_ack == [3]  # in InfluxDB before the ack
    assert "1m " in acks.journal_at_ack[0]  # the windows on disk before the ack
    assert store.stored == 3 and store.influx_up and store.write_failures == 0
    assert set(store.health.last_seen) == {"lens-01", "lens-02"}


def test_stopped_while_influxdb_is_down_nothing_is_acknowledged(influx_db: str) -> None:
    down = InfluxWriter(f"http://127.0.0.1:{free_port()}", influx_db)
    acked: list[list[Message]] = []
    store = make_store(down, acked.append)
    stop = threading.Event()
    stop.set()  # a SIGTERM during the outage: one attempt, no retry
    store.flush([message(1, "lens-01", 5.0)], stop)
    down.close()
    assert acked == []  # the broker redelivers after the restart
    assert store.stored == 0 and store.write_failures == 1 and store.influx_up is False


def test_influxdb_starting_during_the_retries_stores_then_acknowledges(
    tmp_path: Path, influx_db: str
) -> None:
    """The batch waits for InfluxDB (capped backoff) and is acked once written."""
    influx = InfluxDB(tmp_path / "influx", port=free_port())  # not started yet
    writer = InfluxWriter(influx.url, influx_db)
    acks = Acks(writer)
    store = make_store(writer, acks)
    done = threading.Event()

    def flush() -> None:
        store.flush([message(1, "lens-01", 5.0)], threading.Event())
        done.set()

    t = threading.Thread(target=flush)
    t.start()
    try:
        wait_until(lambda: store.write_failures >= 1, what="a failed write")
        assert not store.influx_up and acks.batches == []
        influx.start()
        writer.ensure_database()
        assert done.wait(30)
        t.join()
        assert acks.batches == [[1]] and acks.stored_at_ack == [1]
        assert store.influx_up and store.stored == 1
    finally:
        writer.close()
        influx.stop()


def test_retained_and_failing_messages_are_counted_acked_and_the_rest_stored(
    writer: InfluxWriter,
) -> None:
    class Failing(MessageHandler):
        """Our own code failing on one message (an input no check foresaw)."""

        def handle(self, topic: str, payload: bytes) -> list[Reading]:
            readings = super().handle(topic, payload)
            if b"66.6" in payload:
                raise ZeroDivisionError("boom")
            return readings

    handler = Failing(STATIONS, time.time)
    acks = Acks(writer)
    store = make_store(writer, acks, handler=handler)
    batch = [
        message(1, "lens-01", 5.0),
        message(2, "lens-01", 66.6),  # raises
        message(3, "lens-02", 9.0, retain=True),  # replayed by the broker
        message(4, "lens-02", 8.0),
    ]
    store.flush(batch, threading.Event())
    assert acks.batches == [[1, 2, 3, 4]] and acks.stored_at_ack == [2]
    assert handler.counters.rejected == {"internal": 1, "retained": 1}
    assert handler.counters.messages == 4
    (letter,) = store.dead_letters.letters()
    assert letter.payload == batch[1].payload and "ZeroDivisionError" in letter.error
