"""The windows the importer writes for history older than the raw retention are those the
rebuild computes from the same readings stored raw: same means, counts, ``<q>_flagged``,
``<q>_coverage`` and ``interval_s``, on a real archive file and a real influxd."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airq.services import InfluxDB
from airq_core import wire
from airq_core.readings import Reading
from ingest.importer import (
    IMPORT_LIMITS,
    SENSOR_TYPES,
    ImportReport,
    SensorCommunityImporter,
    read_file,
)
from ingest.influx import InfluxWriter
from ingest.lineproto import encode_lines
from ingest.rebuild import rebuild
from tests import timeutil

pytestmark = pytest.mark.services

ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "sensor_community"
SDS011 = ARCHIVE / "2018-11-15_sds011_sensor_15092.csv"  # real archive file, 2018
Windows = dict[tuple[str, str, int], dict[str, Any]]  # (station, sensor, start ms) -> fields
TIERS = ('"agg"."readings_1h"', '"agg"."readings_1d"', '"agg"."readings_1d_paris"')


def windows(influxd: InfluxDB, db: str, measurement: str) -> Windows:
    """(station, sensor, window start) -> the fields written (None fields left out)."""
    res: dict[str, Any] = influxd.query(f"SELECT * FROM {measurement} GROUP BY *", db)
    out = {}
    for series in res["results"][0].get("series", []):
        tags = series["tags"]
        cols = series["columns"]
        for row in series["values"]:
            fields = {c: v for c, v in zip(cols[1:], row[1:], strict=True) if v is not None}
            out[(tags["station"], tags["sensor"], row[0])] = fields
    return out


def assert_same_windows(got: Windows, want: Windows) -> None:
    assert got.keys() == want.keys()
    for key, fields in want.items():
        assert got[key].keys() == fields.keys(), key
        for name, value in fields.items():
            if isinstance(value, str):  # packed days: 24 doubles in base64, NaN for no window
                a, b = (np.frombuffer(base64.b64decode(v), "<f8") for v in (got[key][name], value))
                np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"{key} {name}")
            else:
                assert got[key][name] == pytest.approx(value, rel=1e-12), (key, name)


def test_history_windows_carry_flagged_and_coverage_as_the_rebuild_writes_them(
    influxd: InfluxDB, influx_db: str
) -> None:
    # the same real file, imported twice: with the 400-day raw retention it is history (kept
    # as aggregates computed from memory), with an infinite one it is stored raw, and the
    # rebuild computes its windows from InfluxDB
    raw_db = f"{influx_db}_raw"
    influxd.query(f'CREATE DATABASE "{raw_db}"')
    reports = {}
    for db, retention in ((influx_db, "400d"), (raw_db, "INF")):
        writer = InfluxWriter(influxd.url, db)
        try:
            importer = SensorCommunityImporter(
                writer, lambda st: True, raw_retention=retention, clock=timeutil.now
            )
            reports[db] = importer.run([SDS011])
            if retention == "INF":  # once more, by hand, over the file's whole days
                day = 86_400_000
                rebuild(writer, 1542240000000 - day, 1542240000000 + 2 * day)
        finally:
            writer.close()
    assert reports[influx_db].history_only == reports[raw_db].raw_points > 500
    assert reports[influx_db].raw_points == 0

    hourly = windows(influxd, influx_db, TIERS[0])
    assert len(hourly) >= 24
    for fields in hourly.values():  # what the importer wrote before: mean/min/max/count only
        assert fields["pm2_5_flagged"] == 0.0 and fields["pm10_flagged"] == 0.0
        assert 0 < fields["pm2_5_coverage"] <= 1 and "interval_s" in fields
    for measurement in TIERS:
        assert_same_windows(
            windows(influxd, influx_db, measurement), windows(influxd, raw_db, measurement)
        )
    assert_same_windows(
        windows(influxd, influx_db, '"agg"."readings_1h_by_day"'),
        windows(influxd, raw_db, '"agg"."readings_1h_by_day"'),
    )


def _readings(path: Path) -> list[Reading]:
    """The readings the importer makes of ``path``."""
    objs: dict[str, list[dict[str, Any]]] = {}
    for row in read_file(path, Counter()):
        model = SENSOR_TYPES[row.sensor_type]
        objs.setdefault(row.station.id, []).append(
            {"ts": row.ts, "sensor": model, "values": row.values}
        )
    out = []
    for sid, rows in objs.items():
        readings, errors = wire.decode_readings(sid, rows, timeutil.now(), IMPORT_LIMITS)
        assert errors == []
        out += readings
    return out


def test_flagged_history_is_left_out_of_the_means_and_counted_as_the_rebuild_does(
    influxd: InfluxDB, influx_db: str
) -> None:
    # Readings of the real file, one in seven flagged warmup (left out of the means) and one
    # in eleven humid (kept): aggregated from memory by the importer's history path, and by
    # the rebuild from the same readings written raw.
    readings = [
        Reading(
            r.station,
            r.sensor,
            r.ts,
            r.values,
            r.seq,
            ("warmup",) if i % 7 == 0 else ("humid",) if i % 11 == 0 else (),
        )
        for i, r in enumerate(_readings(SDS011))
    ]
    raw_db = f"{influx_db}_raw"
    influxd.query(f'CREATE DATABASE "{raw_db}"')
    writer = InfluxWriter(influxd.url, raw_db)
    try:
        writer.ensure_database(raw_retention="INF")
        writer.write_lines(encode_lines(readings), rp="raw")
        day = 86_400_000
        rebuild(writer, 1542240000000 - day, 1542240000000 + 2 * day)
    finally:
        writer.close()
    writer = InfluxWriter(influxd.url, influx_db)
    try:
        writer.ensure_database(raw_retention="400d")
        importer = SensorCommunityImporter(writer, lambda st: True, clock=timeutil.now)
        importer._aggregate_old(readings, ImportReport())  # the history path, with flags
    finally:
        writer.close()

    hourly = windows(influxd, influx_db, TIERS[0])
    assert sum(f["pm2_5_flagged"] for f in hourly.values()) == sum(
        1 for i in range(len(readings)) if i % 7 == 0
    )
    for measurement in (*TIERS, '"agg"."readings_1h_by_day"'):
        assert_same_windows(
            windows(influxd, influx_db, measurement), windows(influxd, raw_db, measurement)
        )
