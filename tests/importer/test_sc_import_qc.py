"""The importer applies the live path's quality control: a real archive day imported ends up
with the flags, humidity-corrected fields and aggregates that the same readings get when they
arrive live (flagged by the sensor protocol's rule, then the ingest's humidity QC message by
message), on a real influxd; flagged warm-up zeros stay out of the means, raw or history."""

from __future__ import annotations

import csv
import math
import shutil
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airq.cli import main
from airq.services import InfluxDB
from airq_core import wire
from airq_core.protocols import sds011, sps30
from airq_core.readings import Reading
from ingest.importer import (
    IMPORT_LIMITS,
    ROW_FLAGS,
    ImportReport,
    SensorCommunityImporter,
    archive_days,
    quality_control,
)
from ingest.influx import InfluxWriter
from ingest.lineproto import encode_lines
from ingest.qc import HumidityQC
from ingest.rebuild import rebuild
from tests import timeutil
from tests.importer.test_sc_import_windows import TIERS, Windows, assert_same_windows, windows

pytestmark = pytest.mark.services

# Real archive day of location 7647 (tests/data/sensor_community/README.md): 40 SDS011 rows at
# exactly 0.00/0.00, and humidity above 75 % most of the day. Fixed date of 2018: stored raw
# with an INF retention, history only with 400 days whatever today is.
ZEROS = Path(__file__).resolve().parents[1] / "data" / "sensor_community" / "zeros"
SDS011 = ZEROS / "2018-09-26_sds011_sensor_15092.csv"
BME280 = ZEROS / "2018-09-26_bme280_sensor_15093.csv"
DAY_MS = 86_400_000
DAY = int(datetime(2018, 9, 26, tzinfo=UTC).timestamp() * 1000)

# archive column -> (quantity, factor), the documented mapping (docs/api.md, imports)
COLUMNS = {
    "P1": ("pm10", 1.0),
    "P2": ("pm2_5", 1.0),
    "temperature": ("temperature", 1.0),
    "humidity": ("humidity", 1.0),
    "pressure": ("pressure", 0.01),
}


def live_readings(paths: list[Path]) -> tuple[list[Reading], Counter[str]]:
    """The rows as the live path stores them: one message per board and instant, in time
    order; the SDS011's flags by its protocol's rule (``sds011.sample_flags``, what
    ``sds011.decode`` gives a frame), the wire validation, then the ingest's humidity QC on
    each message as ``BatchStore`` applies it. Also the rejections of the wire validation."""
    messages: dict[tuple[float, str], list[dict[str, Any]]] = {}
    for path in paths:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                ts = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=UTC).timestamp()
                values = {
                    q: round(float(row[c]) * k, 6) if k != 1.0 else float(row[c])
                    for c, (q, k) in COLUMNS.items()
                    if row.get(c)
                }
                sensor = row["sensor_type"].lower()
                obj: dict[str, Any] = {"ts": ts, "sensor": sensor, "values": values}
                if sensor == "sds011":
                    obj["flags"] = sds011.sample_flags(values.get("pm2_5"), values.get("pm10"))
                messages.setdefault((ts, f"sc-{row['location']}"), []).append(obj)
    qc = HumidityQC()  # the ingest's defaults (AIRQ_INGEST_HUMIDITY_*)
    out: list[Reading] = []
    rejected: Counter[str] = Counter()
    for ts, station in sorted(messages):
        readings, errors = wire.decode_readings(
            station, messages[(ts, station)], timeutil.now(), IMPORT_LIMITS
        )
        rejected.update(e.reason for e in errors)
        out += qc.apply(readings)
    return out, rejected


def raw_points(influxd: InfluxDB, db: str) -> dict[tuple[str, str, int], dict[str, Any]]:
    res: dict[str, Any] = influxd.query('SELECT * FROM "raw"."readings" GROUP BY *', db)
    out = {}
    for series in res["results"][0].get("series", []):
        cols = series["columns"]
        for row in series["values"]:
            fields = {c: v for c, v in zip(cols[1:], row[1:], strict=True) if v is not None}
            out[(series["tags"]["station"], series["tags"]["sensor"], row[0])] = fields
    return out


def all_windows(influxd: InfluxDB, db: str) -> dict[str, Windows]:
    return {m: windows(influxd, db, m) for m in (*TIERS, '"agg"."readings_1h_by_day"')}


def test_warmup_zeros_are_flagged_by_the_sds011_rule() -> None:
    rule = ROW_FLAGS["sds011"]
    assert rule({"pm2_5": 0.0, "pm10": 0.0}) == ("warmup",)
    assert sds011.decode(sds011.encode_data(0.0, 0.0)).flags == ("warmup",)  # the live decode
    assert rule({"pm2_5": 0.0, "pm10": 0.03}) == ()  # a zero is a value
    assert rule({"pm2_5": 0.0}) == ()  # a missing value is not a zero
    assert "bme280" not in ROW_FLAGS


def test_sps30_rows_all_zero_are_flagged_as_its_decode_flags_them(tmp_path: Path) -> None:
    zeros = dict.fromkeys(sps30.FIELDS, 0.0)
    assert sps30.decode(sps30.encode_measurement(zeros)).flags == ("warmup",)  # the live decode
    assert ROW_FLAGS["sps30"](zeros) == ("warmup",)
    assert ROW_FLAGS["sps30"]({**zeros, "tps": 0.61}) == ()
    assert ROW_FLAGS["sps30"]({k: v for k, v in zeros.items() if k != "nc10"}) == ()
    # rows in the archive's SPS30 layout (built here: no real SPS30 archive file is kept)
    head = "sensor_id;sensor_type;location;lat;lon;timestamp;P1;P4;P2;P0;N10;N4;N25;N1;N05;TS"
    rows = [
        "30001;SPS30;9001;50.43;2.83;2025-01-10T08:00:05;0.00;0.00;0.00;0.00;0.00;0.00;0.00;"
        "0.00;0.00;0.00",
        "30001;SPS30;9001;50.43;2.83;2025-01-10T08:02:30;0.00;0.00;0.00;0.00;0.00;0.00;0.00;"
        "0.00;0.00;0.52",
    ]
    path = tmp_path / "2025-01-10_sps30_sensor_30001.csv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    importer = SensorCommunityImporter(None, lambda st: True)  # type: ignore[arg-type]
    first, second = importer._read_file(path, ImportReport())
    assert first.flags == ("warmup",) and second.flags == ()


def test_archive_files_are_read_by_day_in_date_order(tmp_path: Path) -> None:
    names = [
        "2018-11-15_sds011_sensor_15092.csv",
        "data.json",
        "2018-01-15_dht22_sensor_5332.csv.gz",
        "2018-11-15_bme280_sensor_15093.csv",
        "2018-01-15_sds011_sensor_5331.csv",
    ]
    groups = archive_days([Path(n) for n in names])
    assert [[p.name for p in g] for g in groups] == [
        ["2018-01-15_dht22_sensor_5332.csv.gz", "2018-01-15_sds011_sensor_5331.csv"],
        ["2018-11-15_sds011_sensor_15092.csv", "2018-11-15_bme280_sensor_15093.csv"],
        ["data.json"],
    ]


class _FailingQC(HumidityQC):
    """The ingest's QC, raising on the readings of one instant (a bug in our code)."""

    def __init__(self, bad_ts: float) -> None:
        super().__init__()
        self.bad_ts = bad_ts

    def apply(self, readings: Iterable[Reading]) -> list[Reading]:
        readings = list(readings)
        if readings[0].ts == self.bad_ts:
            raise ValueError("boom")
        return super().apply(readings)


def test_a_batch_the_qc_fails_on_is_counted_and_the_others_go_on() -> None:
    readings, _ = live_readings([SDS011, BME280])
    added = {"pm2_5_hcorr", "pm10_hcorr", "qc_rh"}
    plain = [  # as decoded, before the QC
        Reading(r.station, r.sensor, r.ts, {k: v for k, v in r.values.items() if k not in added})
        for r in readings
    ]
    assert not any("qc_rh" in r.values for r in plain)
    bad_ts = plain[100].ts
    n_bad = sum(r.ts == bad_ts for r in plain)
    rejected: Counter[str] = Counter()
    out = list(quality_control(plain, _FailingQC(bad_ts), rejected))
    assert rejected == Counter({"internal": n_bad}) and len(out) == len(plain) - n_bad
    assert sum("qc_rh" in r.values for r in out) > 500


def test_an_imported_day_has_the_flags_and_aggregates_of_the_live_path(
    influxd: InfluxDB, influx_db: str, tmp_path: Path
) -> None:
    live_db, history_db = f"{influx_db}_live", f"{influx_db}_history"
    for db in (live_db, history_db):
        influxd.query(f'CREATE DATABASE "{db}"')
    # the archive as downloaded, plus one bad row (out-of-range humidity) still counted
    bme = tmp_path / BME280.name
    shutil.copyfile(BME280, bme)
    with bme.open("a", encoding="utf-8") as f:
        f.write("15093;BME280;7647;56.963;-2.211;2018-09-26T12:00:30;101000.00;;;12.00;250.0\n")
    paths = [SDS011, bme]

    # the live path: readings flagged and corrected as the ingest stores them, then the
    # rollups' computation (the rebuild) over what was stored
    live, live_rejected = live_readings(paths)
    writer = InfluxWriter(influxd.url, live_db)
    try:
        writer.ensure_database(raw_retention="INF")
        writer.write_lines(encode_lines(live), rp="raw")
        rebuild(writer, DAY - DAY_MS, DAY + 2 * DAY_MS)
    finally:
        writer.close()

    reports = {}
    for db, retention in ((influx_db, "INF"), (history_db, "400d")):
        writer = InfluxWriter(influxd.url, db)
        try:
            importer = SensorCommunityImporter(
                writer, lambda st: True, raw_retention=retention, clock=timeutil.now
            )
            reports[db] = importer.run(paths)
        finally:
            writer.close()
    report = reports[influx_db]
    # the bad value stays a counted rejection (the row's other values are kept, as live)
    assert report.rejected == live_rejected == Counter({"out_of_range": 1})
    assert report.readings == len(live) == 583 + 584 + 1
    assert reports[history_db].history_only == len(live)
    n_humid = sum("humid" in r.flags for r in live)
    assert report.flagged == Counter({"warmup": 40, "humid": n_humid}) and report.excluded == 40

    # raw: every field and flag as the live path stores it
    got, want = raw_points(influxd, influx_db), raw_points(influxd, live_db)
    assert got == want
    pm = {k: v for k, v in got.items() if k[1] == "sds011"}
    zeros = [v for v in pm.values() if v["pm2_5"] == 0 and v["pm10"] == 0]
    assert len(zeros) == 40
    assert all("warmup" in v["flags"].split(",") for v in zeros)
    assert sum("warmup" in v.get("flags", "") for v in pm.values()) == 40
    humid = [v for v in pm.values() if "humid" in v.get("flags", "")]
    assert 300 < len(humid) < len(pm)
    assert all(v["qc_rh"] > 75 and v["pm2_5_hcorr"] <= v["pm2_5"] for v in humid)
    assert sum("qc_rh" in v for v in pm.values()) >= len(pm) - 1  # the first may have none

    # aggregates: those of the live path, warm-up zeros left out and counted, humid ones kept
    live_windows = all_windows(influxd, live_db)
    for name, imported in all_windows(influxd, influx_db).items():
        assert_same_windows(imported, live_windows[name])
    # history older than the raw retention (aggregated from memory): the same windows
    for name, imported in all_windows(influxd, history_db).items():
        assert_same_windows(imported, live_windows[name])

    hourly = {k: v for k, v in live_windows[TIERS[0]].items() if k[1] == "sds011"}
    assert sum(v["pm2_5_flagged"] for v in hourly.values()) == 40
    for (_, _, start), fields in hourly.items():  # the mean of the hour's rows but 0/0 ones
        kept = [
            v["pm2_5"]
            for (_, _, t), v in pm.items()
            if start <= t < start + 3_600_000 and (v["pm2_5"], v["pm10"]) != (0, 0)
        ]
        assert fields["pm2_5_count"] == len(kept)
        if kept:
            assert fields["pm2_5_mean"] == pytest.approx(math.fsum(kept) / len(kept), rel=1e-9)
    assert any("pm2_5_hcorr_mean" in v for v in hourly.values())


def test_the_command_says_how_many_readings_were_flagged(
    influxd: InfluxDB,
    influx_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRQ_INFLUX_URL", influxd.url)
    monkeypatch.setenv("AIRQ_INFLUX_DB", influx_db)
    monkeypatch.setenv("AIRQ_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.sqlite'}")
    monkeypatch.setenv("AIRQ_INFLUX_RAW_RETENTION", "INF")
    monkeypatch.setenv("AIRQ_INGEST_HUMIDITY_THRESHOLD", "100")  # no humid flag at all
    monkeypatch.setenv("AIRQ_LANG", "fr")
    args = ["import", "sensor-community", str(SDS011), str(BME280), "--create-stations"]
    assert main([*args, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mesures signalées, gardées dans les données brutes : warmup 40 ; dont 40 " in out
    points = raw_points(influxd, influx_db)
    assert not any("humid" in v.get("flags", "") for v in points.values())
    assert sum("qc_rh" in v for v in points.values()) >= 582  # corrected all the same
