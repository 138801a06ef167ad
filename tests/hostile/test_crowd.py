"""Issue 20, beyond single poisoned messages: what a crowd of hostile clients does to the real
broker, ingest and API. A flood of refused logins and of idle connections, duplicated readings,
station names in every script, and slow clients that never finish their request: the platform
keeps serving, stores each valid reading once, and loses none."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import httpx
import pytest

from airq.services import Mosquitto
from airq_core.readings import format_time
from ingest.service import IngestService
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, fast_settings, stored_values

pytestmark = pytest.mark.services

STATION = "lens-01"


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, user: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with username and password, as any client on the internet sends."""
    variable = _utf8("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30)
    payload = _utf8(client_id) + _utf8(user) + _utf8(password)
    body = variable + payload
    assert len(body) < 128  # one-byte remaining length
    return bytes([0x10, len(body)]) + body


def refused_login(port: int, n: int) -> bytes:
    """Attempt ``n`` of a flood: a wrong password; returns the broker's CONNACK."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(connect_packet(f"flood-{n}", STATION, f"wrong-{n}"))
        return s.recv(4)


def test_a_login_flood_and_idle_sockets_cost_no_reading(
    tmp_path: Path, registry, mosquitto: Mosquitto, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add(STATION, 50.43, 2.83)
    mosquitto.sync()  # type: ignore[attr-defined]
    ingest = IngestService(
        fast_settings(
            mosquitto, influxd.url, influx_db, str(registry.engine.url), tmp_path / "state"
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    idle = [socket.create_connection(("127.0.0.1", mosquitto.port)) for _ in range(100)]
    answers: list[bytes] = []

    def flood() -> None:
        for n in range(300):
            answers.append(refused_login(mosquitto.port, n))

    flooder = threading.Thread(target=flood, name="flood")
    t0 = time.time() - 1800
    sent = {round((t0 + i) * 1000): float(i % 97) for i in range(300)}
    pub = StationPublisher(mosquitto, STATION, token)
    try:
        flooder.start()
        # every reading twice (a gateway that replays its queue after a lost PUBACK)
        payloads = [
            f'{{"ts": "{format_time(t / 1000)}", "sensor": "sds011", '
            f'"values": {{"pm2_5": {v}}}, "seq": {i}}}'.encode()
            for i, (t, v) in enumerate(sent.items())
        ]
        pub.publish(payloads + payloads)
        flooder.join(60)
        assert not flooder.is_alive()
        # CONNACK, length 2, return code 4 or 5 (bad credentials / not authorised)
        assert len(answers) == 300 and all(a[:2] == b"\x20\x02" and a[3] in (4, 5) for a in answers)
        wait_until(
            lambda: len(stored_values(influxd, influx_db)) >= len(sent),
            what="the 300 readings stored",
        )
        time.sleep(0.5)  # anything extra the duplicates might have added would be there now
        stored = {t: v for (_, t), v in stored_values(influxd, influx_db).items()}
        assert stored == sent  # each reading once, with its value
        assert runner.thread.is_alive()
        # the broker still lets the station in while the idle sockets hold their connections
        StationPublisher(mosquitto, STATION, token).close()
    finally:
        for s in idle:
            s.close()
        pub.close()
        runner.stop()
    assert ingest.unacked == 0


NAMES = [
    "Cité des Électriciens",
    "حي النور — مدخل ب",  # Arabic, right to left
    "Mahalle \u202etxet desrever\u202c",  # a right-to-left override in the middle
    "Résidence 🌳🏠 Zéro\u200blargeur",  # emoji and a zero-width space
    "东区" * 100,  # 200 characters, 600 bytes
    "<script>alert(1)</script> & \"quotes\" 'single'",
]


def test_station_names_in_any_script_round_trip_as_text(tmp_path: Path, influxd, influx_db) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with running(settings_for(influxd.url, influx_db, url)) as api:
        for i, name in enumerate(NAMES):
            r = api.post(
                "/v1/admin/stations",
                json={"id": f"lens-{i:02d}", "lat": 50.43, "lon": 2.83, "name": name},
                headers=admin,
            )
            assert r.status_code in (200, 201), r.text
        too_long = api.post(
            "/v1/admin/stations",
            json={"id": "lens-99", "lat": 50.43, "lon": 2.83, "name": "x" * 201},
            headers=admin,
        )
        assert too_long.status_code == 422
        for i, name in enumerate(NAMES):
            body = api.get(f"/v1/stations/lens-{i:02d}").json()
            assert body["properties"]["name"] == name
        layer = api.get("/v1/qpv/stations.geojson")
        assert layer.status_code == 200
        names = {
            f["properties"]["station_id"]: f["properties"]["name"] for f in layer.json()["features"]
        }
        assert names == {f"lens-{i:02d}": n for i, n in enumerate(NAMES)}


def test_slow_clients_that_never_finish_do_not_block_the_push_route(
    tmp_path: Path, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    with running(settings_for(influxd.url, influx_db, url)) as api:
        host, port = api.base_url.host, api.base_url.port
        assert port is not None
        slow = []
        for _ in range(200):
            s = socket.create_connection((host, port))
            s.sendall(b"POST /v1/ingest/airrohr HTTP/1.1\r\nHost: x\r\nContent-Length: 999\r\n")
            slow.append(s)
        try:
            latencies = []
            for round_ in range(10):
                for s in slow:  # one more header byte each, never the end of the headers
                    s.sendall(b"X")
                t = time.monotonic()
                r = httpx.post(
                    f"{api.base_url}/v1/ingest/airrohr",
                    json={"esp8266id": "1", "sensordatavalues": []},
                    timeout=5,
                )
                latencies.append(time.monotonic() - t)
                assert r.status_code == 401, (round_, r.text)  # no credentials: refused, served
                time.sleep(0.1)
            assert max(latencies) < 1.0, latencies
            assert api.get("/livez").status_code == 200
        finally:
            for s in slow:
                s.close()
