"""``POST /v1/ingest/readings``: wire-format batches with the station's token, through the real
broker and the real ingest into influxd, read back through the API; rejections counted."""

from __future__ import annotations

import base64
import time
from http import HTTPStatus

import pytest

from airq.services import API_USER, INGEST_USER
from airq_core.readings import format_time
from api.registry import hash_token
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.helpers import INGEST_PASSWORD, start_ingest, wait_until

pytestmark = pytest.mark.services

API_PASSWORD = "api-publisher-secret"


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def pipeline(tmp_path, registry, mosquitto, influxd, influx_db):  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.449, 2.839)
    retired = registry.add("old-01", 50.1, 3.1)
    registry.retire("old-01")
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(API_PASSWORD),
            **registry.mosquitto_users(),
        }
    )
    time.sleep(0.2)  # SIGHUP reload is asynchronous (as in the shared mosquitto fixture)
    db_url = str(registry.engine.url)
    ingest, runner = start_ingest(
        tmp_path, mosquitto, influxd, influx_db, db_url, "ingest-http-test"
    )
    settings = settings_for(
        influxd.url, influx_db, db_url, mqtt_url=mosquitto.url(API_USER, API_PASSWORD)
    )
    with running(settings) as api:
        wait_until(lambda: api.app.state.publisher.connected.is_set(), what="API publisher")
        yield api, ingest, token, retired
    runner.stop()


def test_batches_reach_the_store_and_rejections_are_counted(pipeline) -> None:  # type: ignore[no-untyped-def]
    api, ingest, token, _ = pipeline
    now = time.time()
    batch = [
        {
            "ts": format_time(now - 60 + i),
            "sensor": "sds011",
            "values": {"pm2_5": 5.0 + i, "pm10": 9.0 + i},
            "seq": i,
        }
        for i in range(5)
    ]
    batch += [
        {"ts": format_time(now - 10), "sensor": "sds011", "values": {"pm2_5": 9999.0}},
        {"ts": "yesterday", "sensor": "sds011", "values": {"pm2_5": 1.0}},
        {"ts": format_time(now - 5), "sensor": "toaster", "values": {"pm2_5": 1.0}},
    ]
    r = api.post("/v1/ingest/readings", json=batch, headers=_basic("lens-01", token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 5
    assert body["rejected"] == {"out_of_range": 1, "bad_ts": 1, "unknown_sensor": 1}

    # Bearer token with ?station=, one object
    one = {"ts": format_time(now - 1), "sensor": "sds011", "values": {"pm2_5": 42.5}}
    r = api.post(
        "/v1/ingest/readings",
        params={"station": "lens-01"},
        json=one,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1

    wait_until(lambda: ingest.stored >= 6, what="6 readings stored")
    r = api.get("/v1/stations/lens-01/series", params={"quantity": "pm2_5", "every": "raw"})
    assert [p["value"] for p in r.json()["points"]] == [5.0, 6.0, 7.0, 8.0, 9.0, 42.5]


def test_refusals(pipeline) -> None:  # type: ignore[no-untyped-def]
    api, _, token, retired = pipeline
    one = {"ts": format_time(time.time()), "sensor": "sds011", "values": {"pm2_5": 1.0}}
    url = "/v1/ingest/readings"
    assert api.post(url, json=one).status_code == 401
    assert api.post(url, json=one, headers=_basic("lens-01", token + "x")).status_code == 401
    assert api.post(url, json=one, headers=_basic("old-01", retired)).status_code == 401
    assert api.post(url, json=one, headers=_basic("nope-01", token)).status_code == 401
    assert api.post(url, json=one, headers={"Authorization": "Basic !!!"}).status_code == 401
    r = api.post(url, json=one, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "station" in r.json()["detail"]  # incomplete credentials

    auth = _basic("lens-01", token)
    r = api.post(url, content=b"{not json", headers=auth)
    assert r.status_code == 400 and r.json()["reason"] == "not_json"
    r = api.post(url, json=[], headers=auth)
    assert r.status_code == 400 and r.json()["reason"] == "bad_structure"
    r = api.post(url, json=[one] * 1001, headers=auth)
    assert r.status_code == 400 and r.json()["reason"] == "too_many_readings"
    r = api.post(url, content=b"[" + b" " * (300 * 1024) + b"]", headers=auth)
    assert r.status_code == 413
    r = api.post(url, json={**one, "values": {"pm2_5": -5.0}}, headers=auth)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "about:blank",
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": "every reading was rejected: out_of_range (1)",
        "instance": "/v1/ingest/readings",
        "station": "lens-01",
        "accepted": 0,
        "rejected": {"out_of_range": 1},
        "errors": [r.json()["errors"][0]],
    }


def test_without_a_broker_the_endpoint_says_so(make_client) -> None:
    with make_client() as api:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"id": "lens-01", "lat": 50.4, "lon": 2.8}
        token = api.post("/v1/admin/stations", json=body, headers=admin).json()["token"]
        assert (
            api.post("/v1/ingest/readings", json={}, headers=_basic("lens-01", "x")).status_code
            == 401
        )
        r = api.post("/v1/ingest/readings", json={}, headers=_basic("lens-01", token))
        assert r.status_code == 503 and "AIRQ_MQTT_URL" in r.json()["detail"]
