"""A resident's alert, through the services as docker-compose.yml configures them: the admin
registers a station, the resident subscribes with the station's token through the API (an
e-mail to a local SMTP server), the board publishes over MQTT with its own token, and the
alerts service sends one French mail when PM2.5 stays high, one when it ends. Reading times are
built from now (the running services read the real clock)."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import free_port
from airq_core import wire
from airq_core.readings import Reading
from alerts.store import AlertDb
from tests.acceptance.conftest import Stack
from tests.helpers import wait_until

pytestmark = pytest.mark.services


def test_resident_subscribes_with_the_station_token_and_gets_the_french_mails(
    stack: Stack,
) -> None:
    from aiosmtpd.controller import Controller

    mails: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 OK"

    smtp = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        admin = {"Authorization": f"Bearer {stack.admin_token}"}
        r = httpx.post(f"{stack.api_url}/v1/admin/stations", headers=admin, timeout=30,
                       json={"id": "bethune-07", "lat": 50.53, "lon": 2.64})  # fmt: skip
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        r = httpx.post(
            f"{stack.api_url}/v1/alerts/subscriptions",
            headers={"Authorization": f"Bearer {token}"},
            json={"station": "bethune-07", "quantity": "pm2_5", "above": 50, "window": "10m",
                  "notify": f"mailto://127.0.0.1:{smtp.port}?from=alertes@airq.test"
                            "&to=habitant@example.org&mode=insecure"},
            timeout=30,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        sub_id = r.json()["id"]
        # the service has taken the subscription when it made its state row (it reads new
        # subscriptions every 5 s)
        db = AlertDb(stack.envs["alerts"]["AIRQ_DATABASE_URL"])
        try:
            wait_until(lambda: db.read_states([sub_id]), timeout=30, what="the service's state")
        finally:
            db.close()

        board = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bethune-07")
        board.username_pw_set("bethune-07", token)
        board.connect("127.0.0.1", stack.mosquitto.port, keepalive=10)
        board.loop_start()
        try:
            now = time.time()
            for minutes, value in ((30, 70.0), (24, 72.0), (18, 75.0), (12, 20.0), (6, 18.0),
                                   (0, 15.0)):  # fmt: skip
                r_ = Reading("bethune-07", "sds011", now - minutes * 60, {"pm2_5": value})
                info = board.publish(
                    wire.readings_topic("bethune-07"), wire.encode_reading(r_), qos=1
                )
                info.wait_for_publish(10)
        finally:
            board.disconnect()
            board.loop_stop()
        wait_until(lambda: len(mails) >= 2, timeout=30, what="the start and end mails")
        subjects = [str(m["subject"]) for m in mails]
        assert subjects == [
            "Alerte Particules fines PM2,5 : la station bethune-07",
            "Fin d'alerte Particules fines PM2,5 : la station bethune-07",
        ]
        body = mails[0].get_body(("plain",)).get_content()
        assert "limitez l'effort physique" in body and "/stations/bethune-07" in body
        assert "/v1/alerts/unsubscribe/" in body
    finally:
        smtp.stop()
