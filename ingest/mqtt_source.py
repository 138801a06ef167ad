"""The ingest's side of the broker: a paho-mqtt subscriber with a persistent session and manual
acknowledgements.

paho's network thread only puts each message into ``inbox`` (it never blocks on storage); the
writer loop takes them from there and calls ``ack`` once they are stored. The broker's in-flight
window (``max_inflight_messages``) bounds how many messages are held unacknowledged.

A broker refusing our credentials is fatal (``on_fatal``): retrying cannot fix it.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from airq_core import wire
from airq_core.urls import parse_mqtt_url

log = logging.getLogger(__name__)

__all__ = ["Message", "MqttSource", "topic_filter"]

REFUSED_CREDENTIALS = (4, 5, 134, 135)  # bad user name or password / not authorised


@dataclass(slots=True)
class Message:
    """One MQTT message as the writer loop sees it (``mid``/``qos`` to acknowledge it)."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    retain: bool = False


def topic_filter(shared_group: str | None) -> str:
    """The readings filter, as a shared subscription when the worker belongs to a group."""
    return f"$share/{shared_group}/{wire.READINGS_FILTER}" if shared_group else wire.READINGS_FILTER


class MqttSource:
    """Subscribes to the readings with ``client_id``'s persistent session; ``inbox`` receives
    the messages, ``ack`` acknowledges them. ``connected`` and ``subscribed`` say where the
    link stands (``subscribed`` stays set across reconnections: the session keeps it)."""

    def __init__(
        self,
        mqtt_url: str,
        client_id: str,
        shared_group: str | None = None,
        ca_file: str | None = None,
        on_fatal: Callable[[str], None] = lambda msg: None,
    ) -> None:
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.topic_filter = topic_filter(shared_group)
        self._on_fatal = on_fatal
        self._received = 0  # paho thread only
        self._acked = 0  # writer thread only
        self._target = target = parse_mqtt_url(mqtt_url)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls or ca_file:
            client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client

    @property
    def unacked(self) -> int:
        """Messages received and not yet acknowledged."""
        return self._received - self._acked

    # -- paho's network thread --------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            msg = f"broker {self._target.redacted()} refused the connection: {reason_code}"
            if reason_code.value in REFUSED_CREDENTIALS:
                self._on_fatal(msg + " (check AIRQ_MQTT_URL user and password)")
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
        if self.connected.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self.connected.clear()

    def _on_message(self, client, userdata, msg):  # type: ignore[no-untyped-def]
        self._received += 1
        self.inbox.put(Message(msg.mid, msg.qos, msg.topic, msg.payload, msg.retain))

    # -- the writer loop's side -------------------------------------------------------------
    def ack(self, batch: list[Message]) -> None:
        """Acknowledges a batch (its QoS 0 messages need none)."""
        ack = self._client.ack
        for m in batch:
            if m.qos > 0:
                ack(m.mid, m.qos)
        self._acked += len(batch)

    def start(self) -> None:
        """Connects in paho's network thread (reconnecting on its own, 1 s … 30 s)."""
        self._client.connect_async(self._target.host, self._target.port, keepalive=30)
        self._client.loop_start()

    def close(self) -> None:
        """Disconnects (unacknowledged messages stay with the broker) and stops paho's thread."""
        self.connected.clear()  # our own disconnection: not worth a warning
        self._client.disconnect()
        self._client.loop_stop()
        # break the source <-> client cycle, so the client (and the socket pair paho opens in
        # loop_start) is freed as soon as the source is
        c = self._client
        c.on_connect = c.on_disconnect = c.on_message = c.on_subscribe = None
