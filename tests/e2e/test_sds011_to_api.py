"""A reading travels from a virtual SDS011 on a pty, through the gateway, a real Mosquitto,
the ingest and a real influxd, to the API — and comes back with exactly the emitted values."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
import uvicorn

from airq.services import free_port
from api.app import create_app
from api.settings import ApiSettings
from firmware_tools.virtual import PtySensor
from firmware_tools.virtual.sds011 import VirtualSDS011
from gateway.config import GatewayConfig
from gateway.service import Gateway
from tests.helpers import ThreadRunner, start_ingest, wait_until

pytestmark = pytest.mark.services


def _serve(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:  # type: ignore[no-untyped-def]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    wait_until(lambda: server.started, what="uvicorn to start")
    return server, th


def test_sds011_values_reach_the_api_unchanged(
    tmp_path: Path, registry, mosquitto, influxd, influx_db
) -> None:
    token = registry.add("lens-01", 50.44912, 2.83905, "Grande Résidence")
    mosquitto.sync()
    db_url = str(registry.engine.url)

    ingest, ingest_runner = start_ingest(
        tmp_path, mosquitto, influxd, influx_db, db_url, "ingest-e2e"
    )

    emulator = VirtualSDS011(seed=3, period=0.2)
    emulator.active = False  # reporting mode persists on a real SDS011; start in query mode
    with PtySensor(emulator) as pty:
        cfg = GatewayConfig.from_dict(
            {
                "station": "lens-01",
                "state_dir": str(tmp_path / "gw"),
                "mqtt": {"url": mosquitto.url("lens-01", token)},
                "sensors": [{"type": "sds011", "port": pty.port, "interval": 0.25, "warmup": 0}],
            }
        )
        gw = Gateway(cfg)
        gw_runner = ThreadRunner(gw.run, "gateway")
        wait_until(lambda: len(emulator.emitted) >= 8, what="8 SDS011 readings")
        gw_runner.stop()
    emitted = [s.values for _, s in emulator.emitted]
    assert gw.store.dropped == 0

    wait_until(lambda: ingest.stored >= len(emitted), what="all readings stored")
    ingest_runner.stop()
    assert ingest.handler.counters.rejected == {}

    port = free_port()
    server, th = _serve(
        create_app(ApiSettings(influx_url=influxd.url, influx_db=influx_db, database_url=db_url)),
        port,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        got = {}
        for q in ("pm2_5", "pm10"):
            r = httpx.get(f"{base}/v1/stations/lens-01/series", params={"quantity": q})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["station"] == "lens-01" and body["unit"] == "µg/m³"
            got[q] = [p["value"] for p in body["points"]]
            assert all(p["time"].endswith("Z") for p in body["points"])
        assert got["pm2_5"] == [v["pm2_5"] for v in emitted]
        assert got["pm10"] == [v["pm10"] for v in emitted]

        stations = httpx.get(f"{base}/v1/stations").json()
        assert stations["type"] == "FeatureCollection"
        (feature,) = stations["features"]
        # public outputs round locations (AIRQ_PUBLIC_LOCATION_DECIMALS, 3 by default)
        assert feature["geometry"]["coordinates"] == [2.839, 50.449]
        assert feature["properties"]["id"] == "lens-01"
        assert feature["properties"]["sensors"] == ["sds011"]
        assert feature["properties"]["last_seen"] is not None
    finally:
        server.should_exit = True
        th.join(10)
