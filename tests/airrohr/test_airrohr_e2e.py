"""Real firmware bodies posted to a running API come back through the API: API → Mosquitto →
ingest → influxd → API, all real processes or servers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from airq.services import API_USER, INGEST_USER
from api.registry import hash_token
from tests.api.api_server import running, settings_for
from tests.helpers import INGEST_PASSWORD, start_ingest, wait_until

pytestmark = pytest.mark.services
DATA = Path(__file__).resolve().parents[1] / "data" / "airrohr"
API_PASSWORD = "api-password-e2e"

# firmware body -> {quantity: (sensor, expected value in canonical units)}
CASES = {
    "sds011_bme280.json": {
        "pm10": ("sds011", 10.52),
        "pm2_5": ("sds011", 4.32),
        "pressure": ("bme280", 986.8028),
        "humidity": ("bme280", 57.78),
        "temperature": ("bme280", 17.59),
    },
    "pms_dht22.json": {
        "pm1": ("pms5003", 3.0),
        "pm2_5": ("pms5003", 6.0),
        "temperature": ("dht22", 12.4),
    },
    "sps30.json": {"pm4": ("sps30", 12.65), "pm10": ("sps30", 13.29)},
    # the per-sensor upload to sensor.community: prefix stripped, X-PIN 1 (shared by six PM
    # models); the value types make it an SPS30, number concentrations included
    "sps30_pin1.json": {
        "pm2_5": ("sps30", 9.47),
        "nc0_5": ("sps30", 26.31),
        "nc2_5": ("sps30", 41.52),
        "nc10": ("sps30", 42.54),
        "tps": ("sps30", 0.84),
    },
}
PINS = {"sps30_pin1.json": "1"}


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_firmware_bodies_are_stored_and_served(tmp_path, registry, mosquitto, influxd, influx_db):
    tokens = {
        f"board-{i}": registry.add(f"board-{i}", 50.4 + i / 100, 2.8) for i in range(len(CASES))
    }
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(API_PASSWORD),
            **registry.mosquitto_users(),
        }
    )
    db_url = str(registry.engine.url)
    ingest, runner = start_ingest(tmp_path, mosquitto, influxd, influx_db, db_url, "ingest-airrohr")
    settings = settings_for(
        influxd.url, influx_db, db_url, mqtt_url=mosquitto.url(API_USER, API_PASSWORD)
    )
    try:
        with running(settings) as api:
            wait_until(
                lambda: api.app.state.publisher.connected.is_set(), what="API publisher connection"
            )
            for i, ((station, token), name) in enumerate(zip(tokens.items(), CASES, strict=True)):
                # a board per station: one chip for several stations flags all but the first
                # station's readings "foreign_board" (docs/airrohr.md)
                headers = {
                    **_basic(station, token),
                    "Content-Type": "application/json",
                    "X-Sensor": f"esp8266-312240{i}",
                    "X-MAC-ID": "esp8266-5ccf7f123456",
                } | ({"X-PIN": PINS[name]} if name in PINS else {})
                r = api.post(
                    "/v1/ingest/airrohr", content=(DATA / name).read_bytes(), headers=headers
                )
                assert r.status_code == 200, r.text
                assert r.json()["rejected"] == {}
                if name in PINS:
                    assert r.json()["accepted"] == {"sps30": 10}
            # wrong token, no auth, garbage body
            assert (
                api.post(
                    "/v1/ingest/airrohr", content=b"{}", headers=_basic("board-0", "nope")
                ).status_code
                == 401
            )
            assert api.post("/v1/ingest/airrohr", content=b"{}").status_code == 401
            bad = api.post(
                "/v1/ingest/airrohr",
                content=b"garbage",
                headers=_basic("board-0", tokens["board-0"]),
            )
            assert bad.status_code == 400 and "not_json" in bad.text

            expected = sum(len({s for s, _ in c.values()}) for c in CASES.values())
            wait_until(lambda: ingest.stored >= expected, what="readings stored")
            for station, name in zip(tokens, CASES, strict=True):
                for quantity, (sensor, value) in CASES[name].items():
                    r = api.get(
                        f"/v1/stations/{station}/series",
                        params={"quantity": quantity, "sensor": sensor},
                    )
                    assert r.status_code == 200, r.text
                    points = r.json()["points"]
                    assert [p["value"] for p in points] == [pytest.approx(value)], (name, quantity)
    finally:
        runner.stop()
    assert ingest.handler.counters.rejected == {}
