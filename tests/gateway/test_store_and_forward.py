"""The gateway loses nothing: broker outages, SIGKILL, unplugged sensors, a full disk.
Real Mosquitto processes, real ptys, the gateway as a real process where it gets killed."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from airq.services import INGEST_USER
from gateway.config import load_config
from gateway.service import Gateway
from tests.gateway.conftest import start_gateway_process, write_config
from tests.helpers import INGEST_PASSWORD, MqttCollector, ThreadRunner, wait_until

pytestmark = pytest.mark.services


def _start_gateway(tmp_path, plug, mosquitto, token, **options):  # type: ignore[no-untyped-def]
    """A gateway for station lens-01 with one SDS011 behind ``plug``, running in a thread."""
    cfg = load_config(
        write_config(
            tmp_path / "gw.toml",
            "lens-01",
            mosquitto.url("lens-01", token),
            plug.path,
            tmp_path / "state",
            **options,
        )
    )
    gw = Gateway(cfg)
    return gw, ThreadRunner(gw.run, "gateway")


def _is_subsequence(values: list, of: list) -> bool:
    it = iter(of)
    return all(any(v == w for w in it) for v in values)


def _status(state_dir: Path) -> dict:
    try:
        return json.loads((state_dir / "status.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


@pytest.fixture
def station(registry, mosquitto):
    token = registry.add("lens-01", 50.449, 2.839)
    mosquitto.sync()
    return token


def test_broker_outage_every_reading_arrives_in_order(tmp_path, plug, mosquitto, station):
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    gw, runner = _start_gateway(tmp_path, plug, mosquitto, station)
    wait_until(lambda: len(collector.seqs()) >= 5, what="first readings")

    mosquitto.stop()
    produced_during = len(plug.emitted)
    wait_until(lambda: len(plug.emitted) >= produced_during + 15, what="readings during outage")
    assert gw.store.depth >= 10  # held on disk
    mosquitto.start()

    wait_until(
        lambda: gw.store.depth == 0 and gw.publisher.inflight == 0,
        timeout=30,
        what="backlog flushed",
    )
    runner.stop()
    recorded = gw.store.last_seq
    assert recorded >= 20
    wait_until(lambda: len(collector.seqs()) >= recorded, what="all readings received")
    collector.close()
    seqs = collector.seqs()
    assert seqs == list(range(1, recorded + 1))  # complete and in order
    values = {r["seq"]: r["values"]["pm2_5"] for r in collector.readings()}
    # what arrived is what the sensor sent, in order (a reply lost on a loaded machine may
    # make the sensor's list longer than the gateway's, never different)
    assert _is_subsequence([values[s] for s in seqs], [s.values["pm2_5"] for _, s in plug.emitted])
    # the outage backlog went out in batches (arrays)
    assert any(p.startswith(b"[") for _, p in collector.messages)
    assert gw.store.dropped == 0


def test_sigkill_during_outage_loses_nothing(tmp_path, plug, mosquitto, station):
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    state = tmp_path / "state"
    config = write_config(
        tmp_path / "gw.toml", "lens-01", mosquitto.url("lens-01", station), plug.path, state
    )
    proc = start_gateway_process(config, tmp_path / "gw1.log")
    try:
        wait_until(lambda: len(collector.seqs()) >= 3, what="first readings")
        mosquitto.stop()
        n = len(plug.emitted)
        wait_until(lambda: len(plug.emitted) >= n + 10, what="readings during the outage")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        with sqlite3.connect(state / "queue.sqlite") as db:  # what was stored before the kill
            produced = db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
        assert produced >= 10
        mosquitto.start()
        proc = start_gateway_process(config, tmp_path / "gw2.log")
        wait_until(
            lambda: set(range(1, produced + 1)) <= set(collector.seqs()),
            timeout=30,
            what="every reading produced before the kill",
        )
    finally:
        proc.terminate()
        proc.wait(10)
    collector.close()
    seqs = collector.seqs()
    assert seqs[:produced] == list(range(1, produced + 1))
    assert (state / "queue.sqlite").exists()


def test_unplugged_sensor_is_reported_and_recovered(tmp_path, plug, mosquitto, station):
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    gw, runner = _start_gateway(tmp_path, plug, mosquitto, station)
    wait_until(lambda: len(collector.seqs()) >= 3, what="first readings")
    plug.unplug()
    wait_until(lambda: gw.runners[0].state in ("lost", "missing", "silent"), what="loss noticed")
    status_states = {gw.runners[0].state}
    plug.plug()
    before = len(plug.emitted)
    wait_until(
        lambda: len(plug.emitted) >= before + 5 and gw.runners[0].state == "ok",
        timeout=40,
        what="recovery after re-plug",
    )
    wait_until(lambda: len(collector.seqs()) >= len(plug.emitted) - 2, what="readings after")
    runner.stop()
    collector.close()
    assert status_states & {"lost", "missing", "silent"}
    assert _status(tmp_path / "state")["sensors"][0]["state"] == "ok"


def test_garbage_on_the_line_never_stops_the_gateway(tmp_path, plug, mosquitto, station):
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    gw, runner = _start_gateway(tmp_path, plug, mosquitto, station)
    wait_until(lambda: len(collector.seqs()) >= 2, what="first readings")
    for _ in range(10):
        plug.pty.inject(b"\xaa\xc0\x01\x02\x03\xff\x00garbage\xab" * 3)
    n = len(collector.seqs())
    wait_until(lambda: len(collector.seqs()) >= n + 5, what="readings after the garbage")
    runner.stop()
    collector.close()
    assert gw.runners[0].link.stream.skipped_bytes > 0


def test_disk_cap_drops_oldest_and_counts(tmp_path, plug, mosquitto, station):
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    mosquitto.stop()  # an outage from the start: everything queues
    gw, runner = _start_gateway(
        tmp_path, plug, mosquitto, station, interval=0.05, max_disk_mb=0.004
    )
    wait_until(lambda: gw.store.dropped > 0, timeout=30, what="the disk cap")
    assert gw.store.size_bytes <= 4000
    assert runner.thread.is_alive()
    dropped_then = gw.store.dropped
    wait_until(lambda: gw.store.dropped > dropped_then, what="the gateway to keep reading")
    mosquitto.start()
    wait_until(lambda: gw.store.depth == 0 and gw.publisher.inflight == 0, timeout=30, what="flush")
    runner.stop()
    wait_until(
        lambda: collector.seqs() and max(collector.seqs()) == len(plug.emitted),
        what="newest readings delivered",
    )
    collector.close()
    seqs = collector.seqs()
    # the oldest were dropped, what is delivered is contiguous up to the newest
    assert seqs[0] > 1
    assert seqs == list(range(seqs[0], len(plug.emitted) + 1))
    assert _status(tmp_path / "state")["queue"]["dropped"] == gw.store.dropped


def test_refused_credentials_stop_retries_and_keep_readings(tmp_path, plug, mosquitto, station):
    gw, runner = _start_gateway(tmp_path, plug, mosquitto, "wrong-token")
    wait_until(lambda: gw.publisher.state == "refused", what="refusal")
    wait_until(lambda: gw.store.depth >= 5, what="readings kept on disk")
    runner.stop()
    assert "refused" in _status(tmp_path / "state")["broker"]["state"]


def test_stopping_the_gateway_puts_the_pm_sensor_to_sleep(tmp_path, plug, mosquitto, station):
    gw, runner = _start_gateway(tmp_path, plug, mosquitto, station)
    wait_until(lambda: gw.store.last_seq >= 3, what="readings")
    assert plug.pty.emulator.working
    runner.stop()
    assert not plug.pty.emulator.working  # the laser and the fan rest
    assert _status(tmp_path / "state")["sensors"][0]["withheld"] == 0
