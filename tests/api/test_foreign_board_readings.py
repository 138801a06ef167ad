"""Readings pushed by another station's board (its chip bound to that station) are stored with
the station they were pushed for, flagged ``foreign_board``: out of its windows, in its raw
series with ``include_flagged=true``. API → Mosquitto → ingest (live rollups) → influxd → API,
all real."""

from __future__ import annotations

import time

import httpx
import pytest

from airq.services import API_USER, INGEST_USER
from airq_core.flags import FOREIGN_BOARD
from api.hardware import FIRST, FOREIGN, SAME
from api.registry import hash_token
from firmware_tools.airrohr import airrohr_settings, firmware_request
from firmware_tools.settings import WorkshopSettings
from ingest.service import IngestService
from tests.api.api_server import running, settings_for
from tests.helpers import INGEST_PASSWORD, ThreadRunner, wait_until
from tests.ingest.ingest_helpers import fast_settings

pytestmark = pytest.mark.services
API_PASSWORD = "api-publisher-foreign"
HOUR = 3600


def _push(api: httpx.Client, station: str, token: str, chip: str, pm2_5: float) -> str:
    fields = airrohr_settings(
        station,
        token,
        WorkshopSettings(ingest_host="data.airquartiers.fr", ingest_port=443, ingest_tls=True),
        ["sds011"],
    )
    _, headers, body = firmware_request(fields, {"SDS_P1": 20.0, "SDS_P2": pm2_5}, chip_id=chip)
    r = api.post("/v1/ingest/airrohr", headers=headers, content=body)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == {"sds011": 2}, r.text
    return str(r.json()["hardware"])


def test_a_foreign_board_is_stored_flagged_and_left_out_of_the_hour(  # type: ignore[no-untyped-def]
    tmp_path, registry, mosquitto, influxd, influx_db
) -> None:
    token1 = registry.add("lens-01", 50.449, 2.839)
    token2 = registry.add("lens-02", 50.45, 2.84)
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(API_PASSWORD),
            **registry.mosquitto_users(),
        }
    )
    db_url = str(registry.engine.url)
    # the pushes are stamped on receipt: all of them in one hour (not its last 30 s)
    if time.time() % HOUR > HOUR - 30:
        time.sleep(HOUR - time.time() % HOUR + 1)
    hour = time.time() // HOUR * HOUR
    # the ingest's clock an hour ahead: the hour of the pushes is closed for its live rollups
    ingest = IngestService(
        fast_settings(mosquitto, influxd.url, influx_db, db_url, tmp_path / "state"),
        clock=lambda: time.time() + HOUR,
    )
    runner = ThreadRunner(ingest.run, "ingest")
    try:
        wait_until(ingest.subscribed.is_set, what="ingest subscription")
        settings = settings_for(
            influxd.url, influx_db, db_url, mqtt_url=mosquitto.url(API_USER, API_PASSWORD)
        )
        with running(settings) as api:
            app = api.app  # type: ignore[attr-defined]
            wait_until(lambda: app.state.publisher.connected.is_set(), what="API publisher")
            assert _push(api, "lens-01", token1, "1111111", 4.0) == FIRST
            assert _push(api, "lens-02", token2, "2222222", 40.0) == FIRST
            time.sleep(0.01)  # distinct receipt times (readings are keyed by time)
            assert _push(api, "lens-01", token1, "1111111", 6.0) == SAME
            time.sleep(0.01)
            # lens-02's board set up with lens-01's credentials (a neighbour's id typed in)
            assert _push(api, "lens-01", token1, "2222222", 90.0) == FOREIGN
            wait_until(lambda: ingest.stored >= 4, what="readings stored")

            span = {"quantity": "pm2_5", "start": str(hour), "end": str(hour + HOUR)}

            def hourly(station: str) -> list[dict[str, object]]:
                r = api.get(
                    f"/v1/stations/{station}/series",
                    params={**span, "every": "1h", "agg": "mean,count"},
                )
                assert r.status_code == 200, r.text
                return r.json()["points"]  # type: ignore[no-any-return]

            (p,) = wait_until(lambda: hourly("lens-01"), timeout=30, what="lens-01's hour")
            assert (p["mean"], p["count"], p["n_flagged"]) == (5.0, 2, 1), p
            (p2,) = hourly("lens-02")
            assert (p2["mean"], p2["n_flagged"]) == (40.0, 0), p2

            def raw(**kw: str) -> list[tuple[float, str | None]]:
                r = api.get("/v1/stations/lens-01/series", params={**span, "every": "raw", **kw})
                assert r.status_code == 200, r.text
                return [(p["value"], p["flags"]) for p in r.json()["points"]]

            assert raw() == [(4.0, None), (6.0, None)]
            assert raw(include_flagged="true") == [
                (4.0, None),
                (6.0, None),
                (90.0, FOREIGN_BOARD),
            ]
    finally:
        runner.stop()
    assert ingest.handler.counters.rejected == {}
