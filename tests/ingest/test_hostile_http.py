"""Issue 20 over HTTP: ``POST /v1/ingest/readings`` answers 4xx, never 500, to the payloads that
stopped the ingest (they used to raise while formatting the time), and the valid readings of a
mixed batch still go through the broker and the ingest to influxd."""

from __future__ import annotations

import base64
import json
import time

import pytest

from airq.services import API_USER, INGEST_USER
from airq_core.readings import format_time
from api.registry import hash_token
from tests.api.api_server import running, settings_for
from tests.helpers import INGEST_PASSWORD, start_ingest, wait_until
from tests.ingest.ingest_helpers import stored_values

pytestmark = pytest.mark.services

API_PASSWORD = "api-publisher-secret"


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Content-Type": "application/json"}


def poisoned(ts: object) -> dict[str, object]:
    return {"ts": ts, "sensor": "sds011", "values": {"pm2_5": 5}}


HOSTILE_BODIES: dict[str, bytes] = {
    "ts_1e20": json.dumps(poisoned(1e20)).encode(),
    "ts_minus_1e20": json.dumps(poisoned(-1e20)).encode(),
    "ts_1e300": json.dumps(poisoned(1e300)).encode(),
    "ts_year_10000": json.dumps(poisoned(253402300800)).encode(),
    "ts_text_year_9999": json.dumps(poisoned("9999-12-31T23:59:59Z")).encode(),
    "ts_huge_int": b'{"ts": 1' + b"0" * 5000 + b', "sensor": "sds011", "values": {"pm2_5": 1}}',
    "value_huge_int": b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": 1'
    + b"0" * 4000
    + b"}}",
    "seq_huge": json.dumps({**poisoned(time.time() - 60), "seq": 2**64}).encode(),
    "nan": b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": NaN}}',
    "infinity_ts": b'{"ts": Infinity, "sensor": "sds011", "values": {"pm2_5": 1}}',
    "deep_json": b"[" * 100_000 + b"]" * 100_000,
    "deep_value": b'{"ts": 1795292100, "values": ' + b"[" * 900 + b"]" * 900 + b"}",
    "lone_surrogate": b'{"ts": 1795292100, "sensor": "\\udc00", "values": {"pm2_5": 1}}',
    "unicode_bytes": b"\xff\xfe\x00{\xed\xa0\x80}",
    "unicode_flags": json.dumps({**poisoned(time.time() - 60), "flags": ["\u202e\n"]}).encode(),
}


@pytest.fixture
def pipeline(tmp_path, registry, mosquitto, influxd, influx_db):  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.449, 2.839)
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(API_PASSWORD),
            **registry.mosquitto_users(),
        }
    )
    time.sleep(0.2)  # SIGHUP reload is asynchronous (as in the shared mosquitto fixture)
    db_url = str(registry.engine.url)
    ingest, runner = start_ingest(tmp_path, mosquitto, influxd, influx_db, db_url, "ingest-h")
    settings = settings_for(
        influxd.url, influx_db, db_url, mqtt_url=mosquitto.url(API_USER, API_PASSWORD)
    )
    with running(settings) as api:
        wait_until(lambda: api.app.state.publisher.connected.is_set(), what="API publisher")
        yield api, ingest, runner, token
    runner.stop()


def test_hostile_payloads_get_a_4xx_and_valid_readings_still_flow(
    pipeline, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    api, ingest, runner, token = pipeline
    headers = _basic("lens-01", token)
    for name, body in HOSTILE_BODIES.items():
        r = api.post("/v1/ingest/readings", content=body, headers=headers)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
    r = api.post("/v1/ingest/readings", content=b" " * 2_000_000, headers=headers)
    assert r.status_code == 413

    now = time.time()
    good = [
        {"ts": format_time(now - 30), "sensor": "sds011", "values": {"pm2_5": 7.5}},
        {"ts": format_time(now - 20), "sensor": "sds011", "values": {"pm2_5": 8.5}},
    ]
    mixed = [good[0], poisoned(253402300800), poisoned(1e20), good[1], poisoned(-1e20)]
    r = api.post("/v1/ingest/readings", content=json.dumps(mixed).encode(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and r.json()["rejected"] == {"bad_ts": 3}
    wait_until(lambda: ingest.stored >= 2, what="the valid readings stored")
    assert sorted(stored_values(influxd, influx_db).values()) == [7.5, 8.5]
    assert runner.thread.is_alive()
