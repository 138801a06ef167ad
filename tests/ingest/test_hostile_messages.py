"""Issue 20: no message can stop the ingest. Poisoned payloads from a station account go
through the real broker to a running ingest writing to influxd: each is counted under its
reason, the ingest keeps running, the valid readings of the same message and of the same batch
are stored, and so are later ones. The broker refuses retained messages, so none is replayed
as a new reading; a message the ingest's own code fails on becomes a dead letter, is acknowledged,
and never comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq_core import wire
from airq_core.readings import format_time
from ingest.deadletter import read_dead_letters
from ingest.service import IngestService
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, fast_settings, stored_values

pytestmark = pytest.mark.services

STATION = "lens-01"
T0 = time.time() - 3600  # every valid reading of this module lies in the last hour
_k = iter(range(10**6))


def good(pm: float) -> dict[str, object]:
    """A valid reading with a time of its own (so that each one is a distinct stored point)."""
    return {"ts": format_time(T0 + next(_k)), "sensor": "sds011", "values": {"pm2_5": pm}}


def poisoned(ts: object) -> dict[str, object]:
    return {"ts": ts, "sensor": "sds011", "values": {"pm2_5": 5}}


def js(x: object) -> bytes:
    return json.dumps(x).encode()


def nested(depth: int) -> bytes:
    return b'{"ts": ' + b"[" * depth + b"]" * depth + b', "sensor": "sds011", "values": {}}'


def padded(size: int) -> bytes:
    body = js([good(1.0)])
    return body[:-1] + b" " * (size - len(body)) + b"]"


A, B, C = good(11.0), good(12.0), good(13.0)
SEQ_OK = good(22.0)
PM10_ONLY = {**good(31.0), "values": {"pm2_5": 2**64 - 1, "pm10": 3.0}}
JUNK_OK = [{**good(43.0), "values": {"pm2_5\u0000": 1, "pm10": 2.0}}, good(44.0)]
# name -> (payload, valid readings inside it, rejections it must count)
CASES: dict[str, tuple[bytes, list[dict[str, object]], dict[str, int]]] = {
    "ts_1e20": (js(poisoned(1e20)), [], {"bad_ts": 1}),
    "ts_minus_1e20": (js(poisoned(-1e20)), [], {"bad_ts": 1}),
    "ts_1e300": (js(poisoned(1e300)), [], {"bad_ts": 1}),
    "ts_year_10000": (js(poisoned(253402300800)), [], {"bad_ts": 1}),
    "ts_text_year_9999": (js(poisoned("9999-12-31T23:59:59Z")), [], {"bad_ts": 1}),
    "ts_huge_int": (b'{"ts": 1' + b"0" * 400 + b', "sensor": "x"}', [], {"not_json": 1}),
    "mixed_array": (
        js([A, poisoned(253402300800), B, poisoned(1e20), C, poisoned(-1e20)]),
        [A, B, C],
        {"bad_ts": 3},
    ),
    "nan_value": (b'{"ts": 1795292100, "values": {"pm2_5": NaN}}', [], {"not_json": 1}),
    "inf_value": (b'{"ts": 1795292100, "values": {"pm2_5": 1e999}}', [], {"not_json": 1}),
    "deep_json": (nested(100_000), [], {"not_json": 1}),
    "nested_value": (nested(500), [], {"bad_ts": 1}),
    "one_megabyte": (padded(1_000_000), [], {"payload_too_large": 1}),
    "huge_seq": (js([{**good(21.0), "seq": 2**64 - 1}, SEQ_OK]), [SEQ_OK], {"bad_seq": 1}),
    "huge_value": (js([PM10_ONLY]), [PM10_ONLY], {"out_of_range": 1}),
    "unicode_bytes": (b"\xff\xfe\x00{\xed\xa0\x80}", [], {"not_json": 1}),
    "lone_surrogate": (b'{"ts": 1795292100, "sensor": "\\ud800"}', [], {"not_json": 1}),
    "unicode_junk": (
        js(
            [
                {**good(41.0), "flags": ["\u202e\u0000", 'a"b\\c\nd']},
                {**good(42.0), "sensor": "\U0001f4a9" * 1000},
                {"ts": "\u2028\ufeff2026", "sensor": "sds011", "values": {"pm2_5": 1}},
                *JUNK_OK,
            ]
        ),
        JUNK_OK,
        {"bad_flags": 1, "unknown_sensor": 1, "bad_ts": 1, "unknown_quantity": 1},
    ),
}


def ms(obj: dict[str, object]) -> int:
    from airq_core.readings import parse_time

    return round(parse_time(obj["ts"]) * 1000)  # type: ignore[arg-type]


def start(tmp_path: Path, registry, mosquitto, influxd, influx_db, **kw):  # type: ignore[no-untyped-def]
    ingest = IngestService(
        fast_settings(
            mosquitto, influxd.url, influx_db, str(registry.engine.url), tmp_path / "state", **kw
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    return ingest, runner


def test_no_poisoned_message_stops_the_ingest(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add(STATION, 50.43, 2.83)
    mosquitto.sync()
    ingest, runner = start(tmp_path, registry, mosquitto, influxd, influx_db)
    pub = StationPublisher(mosquitto, STATION, token)
    expected: dict[int, float | None] = {}
    try:
        for name, (payload, valid, rejected) in CASES.items():
            before = Counter(ingest.handler.counters.rejected)
            # the poisoned message and a valid one right behind it, in the same batch
            after = good(99.0)
            pub.publish([payload, js(after)])
            for o in [*valid, after]:
                pm = o["values"].get("pm2_5")  # type: ignore[union-attr]
                expected[ms(o)] = pm if isinstance(pm, float) else None  # None: pm10 only
            at = ms(after)
            wait_until(
                lambda at=at: at in {t for _, t in stored_values(influxd, influx_db)},
                what=f"the reading published after {name}",
            )
            assert runner.thread.is_alive(), name
            delta = Counter(ingest.handler.counters.rejected)
            delta.subtract(before)
            assert +delta == Counter(rejected), name
        assert ingest.handler.counters.rejected["internal"] == 0  # all caught by validation
        # exactly the valid readings, nothing of the poisoned ones
        pm2_5 = {t: v for (_, t), v in stored_values(influxd, influx_db).items()}
        assert pm2_5 == {t: v for t, v in expected.items() if v is not None}
        pm10 = {t for (_, t) in stored_values(influxd, influx_db, "pm10")}
        assert pm10 == {t for t, v in expected.items() if v is None} and len(pm10) == 2
    finally:
        pub.close()
        runner.stop()
    assert ingest.unacked == 0  # every message acknowledged: none is redelivered on restart


def _station_client(
    token: str, events: dict[str, threading.Event], retained_will: bool = False
) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=STATION)  # bound to its id
    c.username_pw_set(STATION, token)
    if retained_will:
        c.will_set(wire.status_topic(STATION), wire.STATUS_OFFLINE, qos=1, retain=True)

    def on_connect(cl, u, flags, rc, props):  # type: ignore[no-untyped-def]
        if not rc.is_failure:
            events["connected"].set()

    c.on_connect = on_connect
    c.on_disconnect = lambda *a: events["disconnected"].set()
    return c


def test_the_broker_refuses_retained_messages_and_nothing_is_replayed(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    """The deployed broker (retain_available false) disconnects a station that publishes a
    reading retained and drops it, and refuses a connection with a retained last will: an
    ingest subscribing later gets no replay, and the station's next plain reading is stored."""
    token = registry.add(STATION, 50.43, 2.83)
    mosquitto.sync()
    events = {"connected": threading.Event(), "disconnected": threading.Event()}
    c = _station_client(token, events)
    c.connect("127.0.0.1", mosquitto.port)
    c.loop_start()
    try:
        assert events["connected"].wait(10)
        info = c.publish(wire.readings_topic(STATION), js(good(55.0)), qos=1, retain=True)
        assert events["disconnected"].wait(10), "a retained publish must cost the connection"
        assert not info.is_published()  # never acknowledged by the broker
    finally:
        c.disconnect()
        c.loop_stop()
    will = {"connected": threading.Event(), "disconnected": threading.Event()}
    c = _station_client(token, will, retained_will=True)
    c.connect("127.0.0.1", mosquitto.port)
    c.loop_start()
    try:
        assert will["disconnected"].wait(10)
        assert not will["connected"].is_set(), "a retained last will must be refused"
    finally:
        c.disconnect()
        c.loop_stop()
    ingest, runner = start(tmp_path, registry, mosquitto, influxd, influx_db)
    pub = StationPublisher(mosquitto, STATION, token)
    try:
        pub.publish([js(good(56.0))])
        wait_until(lambda: ingest.stored >= 1, what="the live reading stored")
        assert set(stored_values(influxd, influx_db).values()) == {56.0}
        assert ingest.handler.counters.messages == 1  # no replay of the refused reading
        assert ingest.handler.counters.rejected["retained"] == 0
    finally:
        pub.close()
        runner.stop()


def test_a_message_the_ingest_fails_on_is_a_dead_letter_and_the_batch_is_stored(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    """A bug on one message (here: injected into the real handler for one payload) must not
    stop the ingest nor hold back the other messages of its batch; the message is kept with its
    topic and bytes, acknowledged, and does not come back after a restart."""
    token = registry.add(STATION, 50.43, 2.83)
    mosquitto.sync()
    state = tmp_path / "state"
    ingest, runner = start(tmp_path, registry, mosquitto, influxd, influx_db)
    real_handle = ingest.handler.handle
    poison = js([good(66.0), {**good(67.0), "bug": True}])

    def handle(topic: str, payload: bytes):  # type: ignore[no-untyped-def]
        if b'"bug"' in payload:
            raise RuntimeError("a bug no check foresaw")
        return real_handle(topic, payload)

    ingest.handler.handle = handle  # type: ignore[method-assign]
    pub = StationPublisher(mosquitto, STATION, token)
    before, after = good(65.0), good(68.0)
    try:
        pub.publish([js(before), poison, js(after)])
        wait_until(lambda: ingest.stored >= 2, what="the other messages of the batch stored")
        assert runner.thread.is_alive()
        assert ingest.handler.counters.rejected["internal"] == 1
        assert set(stored_values(influxd, influx_db).values()) == {65.0, 68.0}
        wait_until(lambda: ingest.unacked == 0, what="every message acknowledged")
    finally:
        pub.close()
        runner.stop()
    (letter,) = read_dead_letters(state / "dead-letters")
    assert letter.topic == wire.readings_topic(STATION) and letter.payload == poison
    assert "RuntimeError: a bug no check foresaw" in letter.error
    assert "a bug no check foresaw" in letter.traceback

    # after a restart (same persistent session) the dead letter is not redelivered
    ingest2, runner2 = start(tmp_path, registry, mosquitto, influxd, influx_db)
    pub = StationPublisher(mosquitto, STATION, token)
    try:
        pub.publish([js(good(69.0))])
        wait_until(lambda: ingest2.stored >= 1, what="a reading after the restart")
        assert ingest2.handler.counters.messages == 1
        assert ingest2.handler.counters.rejected["internal"] == 0
    finally:
        pub.close()
        runner2.stop()

    # inspectable from the command line
    cmd = [sys.executable, "-m", "airq", "ingest", "dead-letters", "--state-dir", str(state)]
    out = subprocess.run(
        [*cmd, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    (obj,) = json.loads(out.stdout)
    assert obj["topic"] == letter.topic and obj["payload_bytes"] == len(poison)
    text = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"AIRQ_LANG": "fr", "PATH": "/usr/bin:/bin"},
    )
    assert text.returncode == 0, text.stderr
    assert "1 lettre(s) morte(s)" in text.stdout and "RuntimeError" in text.stdout


def test_a_failure_after_decoding_isolates_the_message_it_fails_on(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    """Quality control runs on the whole batch; when it raises (a bug injected into the real
    QC for one reading), the batch is redone message by message and only that message becomes
    a dead letter."""
    token = registry.add(STATION, 50.43, 2.83)
    mosquitto.sync()
    ingest, runner = start(tmp_path, registry, mosquitto, influxd, influx_db)
    real_apply = ingest.qc.apply

    def apply(readings):  # type: ignore[no-untyped-def]
        readings = list(readings)
        if any(r.values.get("pm2_5") == 77.0 for r in readings):
            raise ZeroDivisionError("a QC bug")
        return real_apply(readings)

    ingest.qc.apply = apply  # type: ignore[method-assign]
    pub = StationPublisher(mosquitto, STATION, token)
    poison = js(good(77.0))
    try:
        pub.publish([js(good(75.0)), poison, js(good(78.0))])
        wait_until(lambda: ingest.stored >= 2, what="the other messages stored")
        wait_until(lambda: ingest.unacked == 0, what="every message acknowledged")
        assert set(stored_values(influxd, influx_db).values()) == {75.0, 78.0}
        assert ingest.handler.counters.rejected["internal"] == 1
        (letter,) = ingest.dead_letters.letters()
        assert letter.payload == poison and "ZeroDivisionError" in letter.error
        assert runner.thread.is_alive()
    finally:
        pub.close()
        runner.stop()
