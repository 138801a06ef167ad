"""The ingest process: a paho-mqtt subscriber (persistent session, manual acks) feeding a
writer loop that stores batches in InfluxDB and only then acknowledges the messages.

Threads: paho's network loop only enqueues (never blocks on storage); the writer loop (the
caller of ``run``) validates, batches, writes, acks. Unacknowledged messages stay with the
broker, whose in-flight window bounds our memory; a crash or an InfluxDB outage loses nothing.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from airq_core import wire
from airq_core.urls import parse_mqtt_url
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.lineproto import encode_lines
from ingest.pipeline import MessageHandler
from ingest.settings import IngestSettings
from ingest.stations import KnownStations

log = logging.getLogger(__name__)


class IngestConfigError(RuntimeError):
    """The broker refused our credentials or the settings are wrong: fix them and restart."""


@dataclass(slots=True)
class _Msg:
    mid: int
    qos: int
    topic: str
    payload: bytes


class IngestService:
    def __init__(self, settings: IngestSettings, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self._clock = clock
        self._inbox: queue.SimpleQueue[_Msg] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._fatal: str | None = None
        self._closing = False
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.stations = KnownStations(settings.database_url, settings.ingest_station_refresh_s)
        limits = wire.Limits(
            max_future_s=settings.ingest_max_future_s,
            max_age_s=settings.ingest_max_age_days * 86400,
        )
        self.handler = MessageHandler(self.stations, clock, limits)
        self.writer = InfluxWriter(
            settings.influx_url,
            settings.influx_db,
            settings.influx_username,
            settings.influx_password,
        )
        self.stored = 0
        self.write_failures = 0
        self._client = self._make_client()

    # -- MQTT -------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        target = parse_mqtt_url(self.settings.mqtt_url)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.ingest_client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls or self.settings.mqtt_ca_file:
            client.tls_set(ca_certs=self.settings.mqtt_ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(1, 30)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._target = target
        return client

    @property
    def topic_filter(self) -> str:
        group = self.settings.ingest_shared_group
        return f"$share/{group}/{wire.READINGS_FILTER}" if group else wire.READINGS_FILTER

    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            msg = f"broker {self._target.redacted()} refused the connection: {reason_code}"
            if reason_code.value in (4, 5, 134, 135):  # bad credentials / not authorised
                self._fatal = msg + " (check AIRQ_MQTT_URL user and password)"
                self._stop.set()
            log.error(msg)
            return
        log.info(
            "connected to %s (session present: %s)", self._target.redacted(), flags.session_present
        )
        self.connected.set()
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):  # type: ignore[no-untyped-def]
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if self.connected.is_set() and not self._closing:
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self.connected.clear()

    def _on_message(self, client, userdata, msg):  # type: ignore[no-untyped-def]
        self._inbox.put(_Msg(msg.mid, msg.qos, msg.topic, msg.payload))

    # -- writer loop ------------------------------------------------------------------------
    def _ack(self, batch: list[_Msg]) -> None:
        for m in batch:
            if m.qos > 0:
                self._client.ack(m.mid, m.qos)

    def _write_with_retry(self, body: bytes) -> bool:
        delay = 0.5
        failing = False
        while True:
            try:
                self.writer.write_lines(body)
                if failing:
                    log.info("InfluxDB writes work again")
                return True
            except InfluxWriteError as exc:
                self.write_failures += 1
                if not exc.retry:
                    log.error("InfluxDB rejected a batch, dropping it: %s", exc)
                    return False
                if not failing:
                    log.warning("%s; holding readings and retrying", exc)
                    failing = True
            if self._stop.wait(delay):
                return False
            delay = min(delay * 2, 30)

    def _flush(self, batch: list[_Msg]) -> None:
        readings = []
        for m in batch:
            readings.extend(self.handler.handle(m.topic, m.payload))
        if readings:
            if not self._write_with_retry(encode_lines(readings)):
                if self._stop.is_set():
                    return  # not acked: the broker redelivers after restart
            else:
                self.stored += len(readings)
        self._ack(batch)

    def start(self) -> None:
        self._influx_reachable()
        self._client.connect_async(self._target.host, self._target.port, keepalive=30)
        self._client.loop_start()

    def _influx_reachable(self) -> bool:
        try:
            self.writer.ensure_database(self.settings.influx_raw_retention)
            return True
        except Exception as exc:  # noqa: BLE001 - reported, retried by the writer loop
            log.warning("InfluxDB not reachable at start (%s); will retry", exc)
            return False

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (or a fatal error). Raises IngestConfigError on refusal."""
        stop = stop or threading.Event()
        self.start()
        batch: list[_Msg] = []
        first_at = 0.0
        size = self.settings.ingest_batch_size
        interval = self.settings.ingest_flush_interval
        last_stats = time.monotonic()
        try:
            while not (stop.is_set() or self._stop.is_set()):
                timeout = (
                    interval if not batch else max(0.0, first_at + interval - time.monotonic())
                )
                try:
                    m = self._inbox.get(timeout=timeout)
                    if not batch:
                        first_at = time.monotonic()
                    batch.append(m)
                    # drain whatever is already there without waiting
                    while len(batch) < size:
                        batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    pass
                if batch and (len(batch) >= size or time.monotonic() - first_at >= interval):
                    self._flush(batch)
                    batch = []
                if time.monotonic() - last_stats > 60:
                    last_stats = time.monotonic()
                    log.info("ingest: %s stored=%d", self.handler.counters.as_dict(), self.stored)
            if batch and not self._stop.is_set():
                self._flush(batch)
        finally:
            self._closing = True
            self._client.disconnect()
            self._client.loop_stop()
            self.writer.close()
            self.stations.close()
        if self._fatal:
            raise IngestConfigError(self._fatal)

    def stop(self) -> None:
        self._stop.set()
