"""MQTT publisher of the API: readings received over HTTP (boards that cannot speak MQTT,
sensor.community firmware) join the same pipeline as MQTT readings. A request is answered
only after the broker acknowledged the readings (QoS 1 PUBACK)."""

from __future__ import annotations

import logging
import os
import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from airq_core import wire
from airq_core.readings import Reading
from airq_core.urls import parse_mqtt_url

log = logging.getLogger(__name__)

CHUNK = 500  # readings per MQTT message, well under the ingest's array limit


class PublishError(RuntimeError):
    """The broker is unreachable or did not acknowledge in time: the client should retry."""


class ReadingPublisher:
    def __init__(self, mqtt_url: str, ca_file: str | None = None, timeout: float = 10) -> None:
        self.target = parse_mqtt_url(mqtt_url)
        self.timeout = timeout
        self.connected = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"airq-api-{os.getpid()}",
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if self.target.username:
            self._client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls or ca_file:
            self._client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error(
                "broker %s refused the API: %s (check AIRQ_MQTT_URL)",
                self.target.redacted(),
                reason_code,
            )
            return
        log.info("API publisher connected to %s", self.target.redacted())
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if self.connected.is_set():
            log.warning("API publisher lost the broker (%s)", reason_code)
        self.connected.clear()

    def start(self) -> None:
        self._client.connect_async(self.target.host, self.target.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, station: str, readings: list[Reading]) -> None:
        """Blocking: returns once the broker acknowledged every chunk (call from a thread)."""
        if not self.connected.wait(min(self.timeout, 5)):
            raise PublishError("the message broker is unreachable; retry later")
        topic = wire.readings_topic(station)
        infos = []
        for i in range(0, len(readings), CHUNK):
            payload = wire.encode_readings(readings[i : i + CHUNK])
            infos.append(self._client.publish(topic, payload, qos=1))
        for info in infos:
            try:
                info.wait_for_publish(self.timeout)
            except (RuntimeError, ValueError) as exc:
                raise PublishError(f"publish failed: {exc}") from exc
            if not info.is_published():
                raise PublishError("the message broker did not acknowledge in time; retry")
