"""SIGKILL of the ingest *process* in the middle of a stream, then a restart: every published
reading is stored exactly once with its value, and the aggregates pending at the kill are
recomputed (the state file)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airq.services import free_port
from tests.helpers import wait_until
from tests.ingest.ingest_helpers import (
    RatedPublisher,
    StationPublisher,
    count_stored,
    expected_pm,
    fast_settings,
    settings_env,
    stored_values,
    stream_payloads,
)
from tests.ingest.test_ingest_rollups import expected, fetch

pytestmark = pytest.mark.services

STATIONS = ["crash-01", "crash-02", "crash-03", "crash-04"]


def start_ingest(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "airq", "ingest", "run"],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def scrape(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


def test_sigkill_mid_stream_then_restart_stores_every_reading_once(
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    tokens = {st: registry.add(st, 50.4, 2.8) for st in STATIONS}
    mosquitto.sync()
    port = free_port()
    settings = fast_settings(
        mosquitto,
        influxd.url,
        influx_db,
        str(registry.engine.url),
        tmp_path / "state",
        ingest_client_id="ingest-crash",
        ingest_metrics_port=port,
    )
    env = settings_env(settings)
    log = tmp_path / "ingest.log"
    proc = start_ingest(env, tmp_path, log)
    pubs: dict[str, StationPublisher] = {}
    try:
        wait_until(
            lambda: "airq_ingest_mqtt_connected 1.0" in scrape(port), what="ingest connected"
        )
        pubs.update({st: StationPublisher(mosquitto, st, tokens[st]) for st in STATIONS})
        # the subscription follows the connection: wait until a first reading gets through
        probe = stream_payloads(STATIONS[:1], 1, time.time() - 3600, 1, 1)
        wait_until(
            lambda: (
                pubs[STATIONS[0]].publish(probe[STATIONS[0]])
                or count_stored(influxd, influx_db) >= 1
            ),
            interval=0.3,
            what="ingest subscribed",
        )
        # 4 stations × 3000 readings in arrays of 5, over ~40 minutes of reading time
        payloads = stream_payloads(STATIONS, 3000, time.time() - 3000, 0.8, 5)
        want = expected_pm(payloads) | expected_pm(probe)
        stream = RatedPublisher(pubs, payloads, rate=400)
        wait_until(lambda: count_stored(influxd, influx_db) >= 2500, what="a quarter stored")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        at_kill = count_stored(influxd, influx_db)
        assert at_kill < len(want)  # killed mid-stream
        proc = start_ingest(env, tmp_path, log)
        stream.join()
        wait_until(
            lambda: count_stored(influxd, influx_db) >= len(want), timeout=30, what="all stored"
        )
        assert stored_values(influxd, influx_db) == want
        # aggregates: every 1-minute window recomputed, those pending at the kill included
        readings_want = _readings(want)
        wait_until(
            lambda: same_pm_1m(settings, readings_want),
            timeout=30,
            what="1-minute aggregates of every reading",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        for p in pubs.values():
            p.close()
    text = log.read_text()
    assert "Traceback" not in text, text[-2000:]


def _readings(want: dict[tuple[str, int], float]):  # type: ignore[no-untyped-def]
    from airq_core.readings import Reading

    return [Reading(st, "sds011", t / 1000, {"pm2_5": v}) for (st, t), v in want.items()]


def same_pm_1m(settings, readings) -> bool:  # type: ignore[no-untyped-def]
    from ingest.influx import InfluxWriter

    w = InfluxWriter(settings.influx_url, settings.influx_db)
    try:
        got = fetch(w, "1m")
    finally:
        w.close()
    want = expected(readings, "1m")
    if got.keys() != want.keys():
        return False
    return all(
        math.isclose(got[k].get(f, math.nan), v, rel_tol=1e-9)
        for k, fields in want.items()
        for f, v in fields.items()
    )
