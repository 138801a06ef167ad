"""Parsing of sensor.community files (pure): archive CSV by header name, data.json records."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.importer import (
    ImportFileError,
    parse_archive_csv,
    parse_data_json,
    read_file,
    station_id_for,
)

# real archive files (tests/data/sensor_community/README.md)
ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "sensor_community"
DATA = Path(__file__).parent / "data"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_station_ids_follow_the_location() -> None:
    assert station_id_for(3121) == "sc-3121"
    assert station_id_for("7647") == "sc-7647"


def test_columns_are_found_by_name_whatever_their_order() -> None:
    text = [
        "timestamp;humidity;sensor_id;temperature;location;lat;lon;sensor_type;pressure\n",
        "2018-11-15T00:00:13;89.86;15093;12.34;7647;56.963;-2.211;BME280;101321.55\n",
    ]
    (row,) = parse_archive_csv(text, Counter())
    assert row.values == {"humidity": 89.86, "temperature": 12.34, "pressure": 1013.2155}
    assert row.station.id == "sc-7647" and (row.station.lat, row.station.lon) == (56.963, -2.211)
    assert row.ts == _ts("2018-11-15T00:00:13")  # no zone: UTC
    assert row.sensor_type == "BME280"


def test_empty_and_nan_cells_are_missing_not_zero() -> None:
    text = [
        "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n",
        "5331;SDS011;3121;57.138;-2.077;2018-01-15T00:01:50;44.47;;;nan;;\n",
        "5331;SDS011;3121;57.138;-2.077;2018-01-15T00:04:18;0;;;0.00;;\n",
    ]
    rows = list(parse_archive_csv(text, Counter()))
    assert rows[0].values == {"pm10": 44.47}
    assert rows[1].values == {"pm10": 0.0, "pm2_5": 0.0}  # a zero is a value


def test_old_archive_timestamps_with_a_zone() -> None:
    text = [
        "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n",
        "92;SDS011;42;48.800;9.003;2016-07-14T13:02:46.949036+00:00;7.71;;;5.03;;\n",
    ]
    (row,) = parse_archive_csv(text, Counter())
    assert row.ts == pytest.approx(_ts("2016-07-14T13:02:46.949036"))


def test_bad_rows_are_counted_and_skipped() -> None:
    rejected: Counter[str] = Counter()
    text = [
        "sensor_id;sensor_type;location;lat;lon;timestamp;temperature;humidity\n",
        "5332;DHT22;3121;57.138;-2.077;yesterday;6.40;93.90\n",
        "5332;DHT22;x;57.138;-2.077;2018-01-15T00:01:51;6.40;93.90\n",
        "5332;DHT22;3121;57.138;-2.077;2018-01-15T00:01:51;warm;93.90\n",
    ]
    rows = list(parse_archive_csv(text, rejected))
    assert [r.values for r in rows] == [{"humidity": 93.9}]
    assert rejected == Counter({"bad_row": 2, "not_number": 1})


def test_a_file_that_is_not_an_archive_csv_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "other.csv"
    f.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ImportFileError, match="archive CSV"):
        list(read_file(f, Counter()))


def test_data_json_records() -> None:
    rejected: Counter[str] = Counter()
    obj = json.loads((DATA / "data_json_sample.json").read_text())
    rows = list(parse_data_json(obj, rejected))
    assert rejected == Counter({"bad_row": 1})
    bme, sds, noise, sds2 = rows
    assert bme.station.id == "sc-15975" and bme.sensor_type == "BME280"
    assert bme.values == {"temperature": 21.52, "pressure": 1001.9997, "humidity": 58.51}
    assert bme.ts == _ts("2020-07-03T09:39:46")
    assert sds.values == {"pm10": 12.53}  # "nan" dropped
    assert noise.sensor_type == "LAERM" and noise.values == {} and noise.station.indoor
    assert sds2.values == {"pm10": 2500.0, "pm2_5": 7.25}  # range check comes later


def test_the_archive_files_parse_completely() -> None:
    counts = {}
    for path in sorted(ARCHIVE.glob("*.csv")):
        rejected: Counter[str] = Counter()
        rows = list(read_file(path, rejected))
        counts[path.name] = len(rows)
        assert not rejected, (path.name, rejected)
        assert all(r.values for r in rows)
    assert counts == {
        "2018-01-15_dht22_sensor_5332.csv": 584,
        "2018-01-15_sds011_sensor_5331.csv": 584,
        "2018-11-15_bme280_sensor_15093.csv": 583,
        "2018-11-15_sds011_sensor_15092.csv": 582,
    }
