"""Real parts for the alerts service: a broker holding the alerts service's account (the
deployment's ACL), a local SMTP server (aiosmtpd) and a local HTTP receiver for Apprise's
``mailto://`` and ``json://`` targets, a publisher of readings."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import ALERTS_USER, API_USER, Mosquitto, free_port
from airq_core import wire
from airq_core.readings import Reading
from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from api.alerts_store import AlertStore
from api.registry import Registry, hash_token
from tests.helpers import ThreadRunner, wait_until

ALERTS_PASSWORD = "alerts-secret"
API_PASSWORD = "api-secret"
PUBLIC = "https://airq.example"


class Mailbox:
    """An aiosmtpd server on a free port; ``mails`` are the parsed messages received."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mails: list[EmailMessage] = []
        self.times: list[float] = []
        self.port = free_port()
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                box.times.append(time.time())
                box.mails.append(
                    message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
                )
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self, to: str = "habitant@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=alertes@airq.test&to={to}&mode=insecure"

    def texts(self) -> list[tuple[str, str]]:
        out = []
        for m in self.mails:
            body = m.get_body(("plain",))
            out.append((str(m["subject"]), body.get_content() if body else ""))
        return out

    def close(self) -> None:
        self._controller.stop()


class Receiver:
    """A local HTTP server recording the JSON bodies POSTed to it (Apprise ``json://``)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_next = 0
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(n)
                if box.fail_next > 0:
                    box.fail_next -= 1
                    self.send_response(500)
                else:
                    box.bodies.append(json.loads(data))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Publisher:
    """Publishes readings as the API's account does (QoS 1, waits for each PUBACK)."""

    def __init__(self, url: str) -> None:
        from airq_core.urls import parse_mqtt_url

        t = parse_mqtt_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
        self.client.username_pw_set(t.username, t.password)
        self.client.connect(t.host, t.port, keepalive=10)
        self.client.loop_start()

    def publish(
        self, station: str, ts: float, values: dict[str, float], flags: tuple[str, ...] = ()
    ) -> float:
        """One reading; returns the time it was handed to the broker."""
        payload = wire.encode_reading(Reading(station, "sds011", ts, values, flags=flags))
        info = self.client.publish(wire.readings_topic(station), payload, qos=1)
        info.wait_for_publish(5)
        return time.time()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path, registry: Registry) -> Iterator[Mosquitto]:
    """A broker with the alerts and API service accounts (the deployment's roles)."""
    b = Mosquitto(
        tmp_path / "mosquitto",
        users={ALERTS_USER: hash_token(ALERTS_PASSWORD), API_USER: hash_token(API_PASSWORD)},
    )
    b.start()
    yield b
    b.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def publisher(broker: Mosquitto) -> Iterator[Publisher]:
    p = Publisher(broker.url(API_USER, API_PASSWORD))
    yield p
    p.close()


@pytest.fixture
def store(registry: Registry) -> AlertStore:
    return AlertStore(registry.engine)


class Clock:
    """The real clock, shifted by ``offset`` seconds (the service's injected clock)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def start_service(
    broker: Mosquitto, registry: Registry
) -> Iterator[Callable[..., tuple[AlertsService, ThreadRunner]]]:
    """Starts an alerts service (a replica) in a thread and waits for its subscription."""
    runners: list[ThreadRunner] = []

    def start(
        client_id: str = "airq-alerts-1", clock: Callable[[], float] = time.time
    ) -> tuple[AlertsService, ThreadRunner]:
        settings = AlertsSettings(
            mqtt_url=broker.url(ALERTS_USER, ALERTS_PASSWORD),
            database_url=str(registry.engine.url),
            public_url=PUBLIC,
            alerts_client_id=client_id,
            alerts_refresh_s=0.2,
            alerts_tick_s=0.1,
            alerts_flush_s=0.5,
        )
        service = AlertsService(settings, clock=clock)
        runner = ThreadRunner(service.run, f"alerts-{client_id}")
        runners.append(runner)
        wait_until(service.subscribed.is_set, what="alerts subscription")
        return service, runner

    yield start
    for r in runners:
        if r.thread.is_alive():
            r.stop()
