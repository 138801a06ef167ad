"""Test helpers shared by the test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

INGEST_PASSWORD = "ingest-secret"


def wait_until(
    pred: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> object:
    """Poll ``pred`` until it returns a truthy value; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ThreadRunner:
    """Runs ``target(stop_event)`` in a thread; ``stop()`` sets the event and joins."""

    def __init__(self, target: Callable[[threading.Event], None], name: str) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

        def main() -> None:
            try:
                target(self.stop_event)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=main, name=name, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 15) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.thread.name} did not stop"
        if self.error:
            raise self.error


class MqttCollector:
    """A real paho subscriber with a persistent session that records every message, so that
    messages published while it reconnects (broker restart) are not missed."""

    def __init__(
        self, url: str, topic: str = "airq/v1/+/readings", client_id: str = "test-collector"
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from airq_core.urls import parse_mqtt_url

        target = parse_mqtt_url(url)
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(target.username, target.password)
        self.client.reconnect_delay_set(0.2, 1)

        def on_connect(client, userdata, flags, rc, props):  # type: ignore[no-untyped-def]
            if not rc.is_failure:
                client.subscribe(topic, qos=1)

        def on_subscribe(client, userdata, mid, rcs, props):  # type: ignore[no-untyped-def]
            self.subscribed.set()

        def on_message(client, userdata, msg):  # type: ignore[no-untyped-def]
            with self._lock:
                self.messages.append((msg.topic, msg.payload))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(target.host, target.port, keepalive=5)
        self.client.loop_start()
        wait_until(self.subscribed.is_set, what="collector subscription")

    def readings(self) -> list[dict]:  # type: ignore[type-arg]
        import json

        out = []
        with self._lock:
            msgs = list(self.messages)
        for _, payload in msgs:
            obj = json.loads(payload)
            out.extend(obj if isinstance(obj, list) else [obj])
        return out

    def seqs(self) -> list[int]:
        """Distinct seq numbers in order of first arrival (retries may repeat a reading)."""
        seen: dict[int, None] = {}
        for r in self.readings():
            seen.setdefault(r["seq"], None)
        return list(seen)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_ingest(tmp_path, mosquitto, influxd, influx_db: str, database_url: str, client_id: str):  # type: ignore[no-untyped-def]
    """A real IngestService in a thread, subscribed, writing to ``influx_db``; returns
    (service, runner). Its rollup state stays in ``tmp_path``."""
    from airq.services import INGEST_USER
    from ingest.service import IngestService
    from ingest.settings import IngestSettings

    ingest = IngestService(
        IngestSettings(
            mqtt_url=mosquitto.url(INGEST_USER, INGEST_PASSWORD),
            influx_url=influxd.url,
            influx_db=influx_db,
            database_url=database_url,
            ingest_client_id=client_id,
            ingest_state_dir=str(tmp_path / "ingest-state"),
            ingest_flush_interval=0.1,
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    return ingest, runner
