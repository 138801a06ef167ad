"""The ingest's /livez and /readyz beside /metrics, against a real broker and influxd: ready
once subscribed; not ready while the broker is down or while InfluxDB refuses writes; ready
again when each comes back."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from airq.services import InfluxDB
from airq_core import wire
from airq_core.readings import Reading
from ingest.service import IngestService
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, count_stored, fast_settings

pytestmark = pytest.mark.services


def get(port: int, path: str) -> tuple[int, Any]:
    r = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    return r.status_code, (r.json() if path != "/metrics" else r.text)


def readyz(port: int) -> dict[str, Any]:
    status, body = get(port, "/readyz")
    assert status == (200 if body["ready"] else 503), (status, body)
    return body  # type: ignore[no-any-return]


def test_readyz_follows_the_broker_and_influxdb(tmp_path, registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    influx = InfluxDB(tmp_path / "influx").start()
    token = registry.add("health-01", 50.4, 2.8)
    mosquitto.sync()
    settings = fast_settings(
        mosquitto,
        influx.url,
        "healthz",
        str(registry.engine.url),
        tmp_path / "state",
        ingest_metrics_port=0,
    )
    ingest = IngestService(settings)
    runner = ThreadRunner(ingest.run, "ingest")
    pub = None
    n = 0

    def send() -> None:
        nonlocal n
        n += 1
        r = Reading("health-01", "sds011", time.time() - 60 + n * 0.01, {"pm2_5": float(n)}, n)
        assert pub is not None
        pub.publish([wire.encode_readings([r])])

    try:
        wait_until(lambda: ingest.metrics_server is not None, what="the metrics server")
        port = ingest.metrics_server.server_port  # type: ignore[union-attr]
        wait_until(ingest.subscribed.is_set, what="ingest subscription")
        assert get(port, "/livez") == (200, {"live": True})
        assert readyz(port) == {
            "ready": True,
            "mqtt_connected": True,
            "subscribed": True,
            "influx_write_ok": True,  # no write needed yet
        }
        assert "airq_ingest_mqtt_connected 1.0" in get(port, "/metrics")[1]

        pub = StationPublisher(mosquitto, "health-01", token)
        send()
        wait_until(lambda: count_stored(influx, "healthz") == 1, what="first reading stored")
        assert readyz(port)["ready"]

        # InfluxDB down: the next write fails, not ready (still live)
        influx.stop()
        send()
        wait_until(lambda: not readyz(port)["influx_write_ok"], what="/readyz to see InfluxDB")
        assert readyz(port)["ready"] is False and readyz(port)["mqtt_connected"] is True
        assert get(port, "/livez")[0] == 200
        influx = InfluxDB(tmp_path / "influx", port=influx.port).start()
        wait_until(lambda: readyz(port)["ready"], timeout=45, what="ready after InfluxDB")
        wait_until(lambda: count_stored(influx, "healthz") == 2, what="the held reading stored")

        # broker down: not ready until the ingest is connected again
        pub.close()
        pub = None
        mosquitto.stop()
        wait_until(lambda: not readyz(port)["mqtt_connected"], what="/readyz to see the broker")
        assert readyz(port)["ready"] is False
        mosquitto.start()
        wait_until(lambda: readyz(port)["ready"], timeout=45, what="ready after the broker")
        pub = StationPublisher(mosquitto, "health-01", token)
        send()
        wait_until(lambda: count_stored(influx, "healthz") == 3, what="a reading after it")
    finally:
        if pub is not None:
            pub.close()
        runner.stop(timeout=30)
        influx.stop()
    # the server stops with the service
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)


def test_the_health_server_keeps_serving_metrics(tmp_path, registry, mosquitto, influxd) -> None:  # type: ignore[no-untyped-def]
    """/metrics (any other path too, as before) still answers the Prometheus text format."""
    settings = fast_settings(
        mosquitto,
        influxd.url,
        "healthm",
        str(registry.engine.url),
        tmp_path / "state",
        ingest_metrics_port=0,
    )
    ingest = IngestService(settings)
    runner = ThreadRunner(ingest.run, "ingest")
    try:
        wait_until(ingest.subscribed.is_set, what="ingest subscription")
        port = ingest.metrics_server.server_port  # type: ignore[union-attr]
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "airq_ingest_messages_total 0.0" in r.text
        assert httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 405
    finally:
        runner.stop()
