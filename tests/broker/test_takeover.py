"""A station cannot wipe the ingest's queue: with its own username and token it connects as
client id ``airq-ingest`` with a clean session, which on a broker without client-id binding
closes the ingest's connection and drops its persistent session with every queued reading.
The real ``airq ingest run``, the real broker and influxd."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airq.services import INGEST_USER, free_port
from tests.broker.test_broker_accounts import Session
from tests.helpers import wait_until
from tests.ingest.ingest_helpers import (
    StationPublisher,
    count_stored,
    fast_settings,
    settings_env,
    stream_payloads,
)

pytestmark = pytest.mark.services

STATION = "lens-01"
N = 1000


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


class Ingest:
    """``airq ingest run`` as the deployment runs it: client id ``airq-ingest``, a persistent
    session."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int) -> None:
        self.env, self.cwd, self.port = env, cwd, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.cwd / "ingest.log", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "airq", "ingest", "run"],
                env={**os.environ, **self.env},
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: self.alive() and "airq_ingest_mqtt_connected 1.0" in _metrics(self.port),
            what="the ingest connected",
        )

    def alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            log = (self.cwd / "ingest.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"the ingest exited with {self.proc.returncode}:\n{log}")
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.mark.parametrize("bound", [True, False], ids=["client-id-bound", "unbound-control"])
def test_a_station_cannot_take_over_the_ingest_session_and_its_queue_survives(
    tmp_path, registry, mosquitto, influxd, influx_db, bound: bool
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add(STATION, 50.43, 2.83)
    if not bound:  # the account as a plain password file made it: any client id
        mosquitto.accounts.client.run([{"command": "setClientId", "username": STATION}])
    port = free_port()
    settings = fast_settings(
        mosquitto,
        influxd.url,
        influx_db,
        str(registry.engine.url),
        tmp_path / "state",
        ingest_client_id=INGEST_USER,  # the deployment's (AIRQ_INGEST_CLIENT_ID default)
        ingest_metrics_port=port,
    )
    ingest = Ingest(settings_env(settings), tmp_path, port)
    ingest.start()
    pub = StationPublisher(mosquitto, STATION, token)
    try:
        start = time.time() - 3 * 3600
        # the ingest's subscription is in place: a first reading gets through
        pub.publish(stream_payloads([STATION], 1, start - 60, 1, 1)[STATION])
        wait_until(lambda: count_stored(influxd, influx_db) == 1, what="the first reading")
        ingest.stop()  # down (an InfluxDB outage, a deploy): the broker queues for it

        pub.publish(stream_payloads([STATION], N, start, 1, 1)[STATION])  # all PUBACKed

        thief = Session(mosquitto.port, STATION, token, INGEST_USER, clean=True)
        thief.close()
        if bound:
            assert thief.reason == "Not authorized"
        else:  # what main did before: the takeover is accepted
            assert thief.reason == "Success"

        ingest.start()
        if bound:
            wait_until(
                lambda: count_stored(influxd, influx_db) == 1 + N,
                timeout=60,
                what=f"the {N} queued readings stored",
            )
        else:
            time.sleep(3)  # what was queued would be stored by now
            assert count_stored(influxd, influx_db) == 1  # the queue is gone
    finally:
        pub.close()
        ingest.stop()
