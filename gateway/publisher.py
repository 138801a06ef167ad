"""Publishes the store-and-forward queue to the broker (paho-mqtt 2.x, QoS 1).

Readings leave the queue only when the broker's PUBACK for their message arrives. Backlog goes
in order, as arrays of up to ``batch_size`` readings, at most ``max_rate`` readings per second
and ``max_inflight`` unacknowledged messages (paho loses QoS 1 publishes past 65,535 pending:
we never get near that). Refused credentials stop the retries; readings keep being stored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from airq_core import wire
from airq_core.urls import parse_mqtt_url
from gateway.config import GatewayConfig
from gateway.store import ReadingStore

log = logging.getLogger(__name__)

REFUSED_CODES = {4, 5, 134, 135}  # bad user name or password / not authorised (3.1.1 and 5)


class Publisher:
    def __init__(self, cfg: GatewayConfig, store: ReadingStore) -> None:
        self.cfg = cfg
        self.store = store
        self.target = parse_mqtt_url(cfg.mqtt.url)
        self.state = "connecting"
        self.refused_reason: str | None = None
        self.published = 0
        self._connected = threading.Event()
        self._wake = store.new_data  # set on new data, an ack, a connection
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, tuple[list[int], float]] = {}
        self._sent_upto = 0
        self._stop = threading.Event()
        self._topic = wire.readings_topic(cfg.station)
        self._client = self._make_client()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._backoff = 1.0

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            # the broker binds each station's account to its id as client id: any other is
            # refused (docs/gateway.md, "Client id")
            client_id=self.cfg.mqtt.client_id or self.cfg.station,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls or self.cfg.mqtt.ca_file:
            client.tls_set(
                ca_certs=str(self.cfg.mqtt.ca_file) if self.cfg.mqtt.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        # not retained: the deployed broker refuses every retained message (retain_available
        # false, deploy/mosquitto/mosquitto.conf) and would refuse the connection
        client.will_set(wire.status_topic(self.cfg.station), wire.STATUS_OFFLINE, qos=1)
        client.max_inflight_messages_set(self.cfg.queue.max_inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    # -- callbacks (paho network thread) ----------------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            if reason_code.value in REFUSED_CODES:
                self.state = "refused"
                self.refused_reason = str(reason_code)
                log.error(
                    "le broker %s refuse les identifiants de la station %s (%s) : "
                    "vérifiez le jeton dans [mqtt] url. Les mesures restent stockées. / "
                    "broker refused the station's credentials; readings are kept on disk",
                    self.target.redacted(),
                    self.cfg.station,
                    reason_code,
                )
                self._stop.set()
                client.disconnect()
            else:
                log.warning("broker refused the connection: %s", reason_code)
            return
        if self.state != "connected":
            log.info("connected to %s", self.target.redacted())
        self.state = "connected"
        self._backoff = 1.0
        client.publish(wire.status_topic(self.cfg.station), wire.STATUS_ONLINE, qos=1)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.state == "connected":
            log.warning(
                "lost the broker (%s); readings are kept on disk until it returns", reason_code
            )
        if self.state != "refused":
            self.state = "disconnected"
        self._connected.clear()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        # Runs in paho's network thread while paho holds its own locks: only hand the mid
        # over; the publisher thread does the bookkeeping (no lock shared with paho's).
        self._acks.put(mid)
        self._wake.set()

    # -- loop -------------------------------------------------------------------------------
    def start(self) -> None:
        self._connect_loop_start()
        self._thread.start()

    def _connect_loop_start(self) -> None:
        # paho reconnects with capped exponential backoff (d, 2d, 4d … 60 s). A random first
        # delay per gateway is the jitter: after a broker restart the fleet does not come back
        # in lockstep.
        # paho annotates min_delay as int but computes with it as a number (doubles it, waits
        # on it): the fractional first delay works and is the jitter
        self._client.reconnect_delay_set(random.uniform(1.0, 2.0), 60)  # type: ignore[arg-type]
        self._client.connect_async(
            self.target.host, self.target.port, keepalive=self.cfg.mqtt.keepalive
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(RuntimeError, ValueError):
            self._client.publish(
                wire.status_topic(self.cfg.station), wire.STATUS_OFFLINE, qos=1
            ).wait_for_publish(1)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def _drain_acks(self) -> None:
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                return
            entry = self._inflight.pop(mid, None)
            if entry is not None:  # unknown mids: status messages, batches already re-sent
                self.store.delete(entry[0])
                self.published += len(entry[0])

    def _wait(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()

    def _run(self) -> None:
        q = self.cfg.queue
        next_send = time.monotonic()
        while not self._stop.is_set():
            self._drain_acks()
            if not self._connected.is_set():
                self._wait(0.5)
                continue
            oldest = min((t for _, t in self._inflight.values()), default=None)
            if oldest is not None and time.monotonic() - oldest > 60:
                log.warning("no acknowledgement for 60 s: sending the unconfirmed readings again")
                self._inflight.clear()
                self._sent_upto = 0
                continue
            if len(self._inflight) >= q.max_inflight:
                self._wait(0.5)
                continue
            rows = self.store.peek(self._sent_upto, q.batch_size)
            if not rows:
                self._wait(0.5)
                continue
            delay = next_send - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            payload = rows[0][1] if len(rows) == 1 else b"[" + b",".join(p for _, p in rows) + b"]"
            ids = [rid for rid, _ in rows]
            info = self._client.publish(self._topic, payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish failed: %s", mqtt.error_string(info.rc))
                self._wait(0.5)
                continue
            # paho keeps QoS 1 messages across reconnections and re-sends them itself
            self._inflight[info.mid] = (ids, time.monotonic())
            self._sent_upto = ids[-1]
            next_send = max(next_send, time.monotonic() - 1.0) + len(rows) / q.max_rate
