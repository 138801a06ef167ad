"""A station's 10-hour backlog (a gateway flushing its store after an outage) reaches a running
ingest in one message, so in one batch: every PM reading gets the humidity of its own time
(same instant, else the latest before), as the importer's in-order rule gives them, on a real
broker and influxd."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from airq.services import InfluxDB, Mosquitto
from airq_core import wire
from api.registry import Registry
from ingest.importer import quality_control
from ingest.qc import HumidityQC
from ingest.service import IngestService
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import StationPublisher, fast_settings

pytestmark = pytest.mark.services

STEP_S = 145  # 249 PM readings in 10 hours, the case reported


def test_a_ten_hour_backlog_in_one_batch_is_matched_reading_by_reading(
    tmp_path: Path, registry: Registry, mosquitto: Mosquitto, influxd: InfluxDB, influx_db: str
) -> None:
    token = registry.add("lens-01", 50.43, 2.83)
    t0 = round(time.time()) - 11 * 3600  # the running ingest reads the real clock
    objs: list[dict[str, Any]] = []
    for i, dt in enumerate(range(0, 10 * 3600, STEP_S)):
        rh = 60.0 + i % 35  # above the 75 % threshold at times
        objs.append({"ts": t0 + dt, "sensor": "bme280", "values": {"humidity": rh}})
        objs.append({"ts": t0 + dt + 20, "sensor": "sds011", "values": {"pm2_5": 30.0}})
        if i % 7 == 0:  # a humidity after the PM (still within the max age): never taken
            objs.append({"ts": t0 + dt + 40, "sensor": "bme280", "values": {"humidity": 99.0}})
    pm_count = len(range(0, 10 * 3600, STEP_S))
    assert pm_count == 249 and len(objs) < 1000  # one message (AIRQ_INGEST_MAX_READINGS)
    ingest = IngestService(
        fast_settings(
            mosquitto, influxd.url, influx_db, str(registry.engine.url), tmp_path / "state"
        )
    )
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    pub = StationPublisher(mosquitto, "lens-01", token)
    try:
        pub.publish([orjson.dumps(objs)])
        wait_until(lambda: ingest.stored >= len(objs), what="the backlog stored")
    finally:
        pub.close()
        runner.stop()
    res = influxd.query(
        'SELECT "pm2_5", "qc_rh", "flags" FROM "raw"."readings" WHERE sensor = \'sds011\'',
        db=influx_db,
    )
    rows = res["results"][0]["series"][0]["values"]  # type: ignore[index]
    assert len(rows) == pm_count
    got = [row[2] for row in rows]
    assert got == [60.0 + i % 35 for i in range(pm_count)]  # each its own time's, none later
    assert ingest.qc.corrected == pm_count

    # the importer's rule (one instant per batch) gives the same fields and flags
    readings, errors = wire.decode_readings("lens-01", objs, time.time())
    assert not errors
    imported = [
        r
        for r in quality_control(sorted(readings, key=lambda r: r.ts), HumidityQC(), Counter())
        if r.sensor == "sds011"
    ]
    assert [(r.values.get("qc_rh"), r.flags) for r in imported] == [
        (row[2], tuple(row[3].split(",")) if row[3] else ()) for row in rows
    ]
