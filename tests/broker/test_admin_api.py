"""The admin API changes the broker's accounts before it answers (``AIRQ_BROKER_ADMIN_URL``):
a created station publishes at once, a rotated token is refused at once, a retired station is
cut off at once; a broker that cannot be reached is a 503 and nothing changes. The API's
start-up reconciles the broker (service accounts created, stale stations removed)."""

from __future__ import annotations

import time

import pytest

from airq.services import API_USER, INGEST_USER
from airq_core import wire
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.broker.test_broker_accounts import Session, login
from tests.helpers import INGEST_PASSWORD, MqttCollector, wait_until

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
API_PASSWORD = "api-publisher-secret-42"


@pytest.fixture
def api(monkeypatch, registry, mosquitto, influxd):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_BROKER_ADMIN_URL", mosquitto.admin_url)
    monkeypatch.setenv("AIRQ_API_MQTT_PASSWORD", API_PASSWORD)
    settings = settings_for(influxd.url, "nodb", str(registry.engine.url))
    with running(settings) as client:
        sync = client.app.state.broker_sync  # type: ignore[attr-defined]
        assert sync is not None and sync.done.wait(10), "no start-up sync"
        yield client


def test_a_station_created_through_the_api_publishes_at_once(api, mosquitto) -> None:  # type: ignore[no-untyped-def]
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD), client_id="watch")
    try:
        r = api.post(
            "/v1/admin/stations", json={"id": "lens-01", "lat": 50.4, "lon": 2.8}, headers=AUTH
        )
        answered = time.monotonic()
        assert r.status_code == 201, r.text
        s = Session(mosquitto.port, "lens-01", r.json()["token"], "lens-01")  # first attempt
        try:
            assert s.accepted, s.reason
            s.client.publish(wire.readings_topic("lens-01"), b"[]", qos=1).wait_for_publish(5)
        finally:
            s.close()
        wait_until(lambda: collector.messages, what="the new station's message")
        assert time.monotonic() - answered < 1.0
    finally:
        collector.close()


def test_rotation_and_retirement_through_the_api_take_effect_at_once(api, mosquitto) -> None:  # type: ignore[no-untyped-def]
    r = api.post(
        "/v1/admin/stations", json={"id": "lens-01", "lat": 50.4, "lon": 2.8}, headers=AUTH
    )
    old = r.json()["token"]
    live = Session(mosquitto.port, "lens-01", old, "lens-01")
    assert live.accepted
    r = api.post("/v1/admin/stations/lens-01/token", headers=AUTH)
    answered = time.monotonic()
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert login(mosquitto.port, "lens-01", old, "lens-01") == "Not authorized"
    assert login(mosquitto.port, "lens-01", new, "lens-01") == "Success"
    assert live.closed.wait(max(0.0, 1.0 - (time.monotonic() - answered)))
    live.close()

    live = Session(mosquitto.port, "lens-01", new, "lens-01")
    assert live.accepted
    r = api.post("/v1/admin/stations/lens-01/retire", headers=AUTH)
    answered = time.monotonic()
    assert r.status_code == 200, r.text
    assert live.closed.wait(1.0), "the retired station is still connected"
    assert login(mosquitto.port, "lens-01", new, "lens-01") == "Not authorized"
    assert time.monotonic() - answered < 1.0
    live.close()


def test_a_broker_down_is_a_503_and_changes_nothing(api, mosquitto, registry) -> None:  # type: ignore[no-untyped-def]
    r = api.post(
        "/v1/admin/stations", json={"id": "lens-01", "lat": 50.4, "lon": 2.8}, headers=AUTH
    )
    token = r.json()["token"]
    mosquitto.stop()
    try:
        r = api.post(
            "/v1/admin/stations", json={"id": "lille-02", "lat": 50.6, "lon": 3.0}, headers=AUTH
        )
        assert r.status_code == 503 and "not reachable" in r.json()["detail"]
        assert api.post("/v1/admin/stations/lens-01/token", headers=AUTH).status_code == 503
        assert api.post("/v1/admin/stations/lens-01/retire", headers=AUTH).status_code == 503
        listed = {s["id"]: s for s in api.get("/v1/admin/stations", headers=AUTH).json()}
        assert set(listed) == {"lens-01"} and listed["lens-01"]["retired_at"] is None
    finally:
        mosquitto.start()
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"


def test_the_api_start_up_creates_the_service_accounts_and_removes_stale_stations(
    monkeypatch, registry, mosquitto, influxd
) -> None:  # type: ignore[no-untyped-def]
    mosquitto.accounts.create_station("ghost-01", "ghost-token-0123456789")  # not registered
    monkeypatch.setenv("AIRQ_BROKER_ADMIN_URL", mosquitto.admin_url)
    monkeypatch.setenv("AIRQ_MQTT_URL", mosquitto.url(API_USER, API_PASSWORD))
    settings = settings_for(influxd.url, "nodb", str(registry.engine.url))
    with running(settings) as client:
        sync = client.app.state.broker_sync  # type: ignore[attr-defined]
        assert sync.done.wait(10)
        assert sync.report.created == [API_USER] and sync.report.removed == ["ghost-01"]
        assert login(mosquitto.port, API_USER, API_PASSWORD, "airq-api-7") == "Success"
        # the API's own publisher logs in with that account
        wait_until(lambda: client.app.state.publisher.connected.is_set(), what="publisher")  # type: ignore[attr-defined]


def test_bulk_registration_gives_every_station_its_broker_account(api, mosquitto) -> None:  # type: ignore[no-untyped-def]
    items = [{"id": f"sc-{i:03d}", "lat": 50.0 + i / 1e3, "lon": 3.0} for i in range(40)]
    r = api.post("/v1/admin/stations/bulk", json=items, headers=AUTH)
    assert r.status_code == 201, r.text
    for entry in r.json()["rows"][::7]:
        assert login(mosquitto.port, entry["id"], entry["token"], entry["id"]) == "Success"
    mosquitto.stop()
    try:
        more = [{"id": f"sc-{i:03d}", "lat": 50.0, "lon": 3.0} for i in range(40, 45)]
        r = api.post("/v1/admin/stations/bulk", json=more, headers=AUTH)
        assert r.status_code == 503 and "not reachable" in r.json()["detail"], r.text
        assert r.headers["retry-after"] == "5"
        listed = api.get("/v1/admin/stations", headers=AUTH).json()
        assert len(listed) == 40  # nothing of the refused file
    finally:
        mosquitto.start()
