"""Importing reference-station files (FR national database, EEA) into a real influxd: values
land in the ``reference`` measurement with their tags; malformed rows are counted per reason
with their row numbers, never a crash; ``airq calibration import-reference`` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.calibration_store import CalibrationStore
from ingest.influx import InfluxWriter
from ingest.reference_import import (
    REFERENCE_MEASUREMENT,
    ImportReport,
    ReferenceValue,
    SitesError,
    import_reference,
    parse_rows,
    read_sites,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "calibration"
FR = DATA / "fr_e2_pm25_lens_synthetic.csv"
EEA = DATA / "eea_pm25_lens_synthetic.csv"
SITES = DATA / "sites_synthetic.csv"
MALFORMED = DATA / "fr_e2_malformed_synthetic.csv"


def _query(url: str, db: str, q: str) -> list[list]:  # type: ignore[type-arg]
    r = httpx.post(f"{url}/query", data={"db": db, "q": q, "epoch": "ms"})
    r.raise_for_status()
    series = r.json()["results"][0].get("series", [])
    return [row for s in series for row in s["values"]]


@pytest.fixture
def writer(influxd, influx_db: str):  # type: ignore[no-untyped-def]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    yield w
    w.close()


@pytest.mark.parametrize(
    ("fmt", "path", "site"),
    [("fr", FR, "FR99901"), ("eea", EEA, "FR/SPO-FR99901_6001_1")],
)
def test_import_writes_hourly_values_with_tags(influxd, influx_db, writer, fmt, path, site) -> None:
    report = import_reference(fmt, path, writer)
    assert (report.rows, report.imported, sum(report.refused.values())) == (72, 72, 0)
    assert report.sites == {site}
    rows = _query(
        influxd.url,
        influx_db,
        f'SELECT "value", "site", "source", "pollutant" FROM "agg"."{REFERENCE_MEASUREMENT}"',
    )
    assert len(rows) == 72
    first = rows[0]
    # 2026-01-12T00:00:00Z, the first value of the file (synthetic, 4.4 µg/m³)
    assert first[0] == 1768176000000
    assert first[1:] == [4.4, site, fmt, "pm2_5"]


def test_fr_and_eea_fixtures_hold_the_same_values(writer) -> None:
    class Collect:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def write_lines(self, body: bytes, rp: str) -> None:
            self.lines += body.decode().splitlines()

    fr, eea = Collect(), Collect()
    import_reference("fr", FR, fr)
    import_reference("eea", EEA, eea)

    def values(lines: list[str]) -> list[tuple[str, str]]:
        return [(line.split(" ")[1], line.split(" ")[2]) for line in lines]

    assert values(fr.lines) == values(eea.lines)


def test_malformed_rows_are_counted_per_reason_never_a_crash(influxd, influx_db, writer) -> None:
    report = import_reference("fr", MALFORMED, writer)
    assert report.rows == 11
    assert report.imported == 2
    assert report.skipped_invalid == 1  # validité -1: the producer's own verdict
    assert dict(report.refused) == {
        "bad_time": 1,
        "unit": 1,
        "bad_value": 2,
        "unknown_pollutant": 1,
        "no_site": 2,  # an empty code, and the short row
        "out_of_range": 1,
    }
    # row numbers as a person counts them in the file (header = line 1)
    assert report.refused_rows["bad_time"] == [3]
    assert report.refused_rows["bad_value"] == [5, 6]
    assert report.refused_rows["no_site"] == [8, 10]
    rows = _query(influxd.url, influx_db, f'SELECT "value" FROM "agg"."{REFERENCE_MEASUREMENT}"')
    assert [r[1] for r in rows] == [12.5, 13.5]  # the decimal comma read as a decimal point


def test_eea_rows_are_refused_per_reason_in_the_order_of_the_checks() -> None:
    """Each EEA refusal reason, the first failing check naming the row when several fail;
    Validity below 1 is skipped as the producer's verdict; Verification gives ``verified``."""
    good = {
        "Samplingpoint": "FR/SPO-1",
        "Pollutant": "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001",
        "Start": "2026-01-12 00:00:00",
        "Value": "4.5",
        "Unit": "ug.m-3",
        "AggType": "hour",
        "Validity": "1",
        "Verification": "3",
    }
    rows = [
        good,
        {**good, "Samplingpoint": " "},
        {**good, "Pollutant": "10", "AggType": "day"},  # unknown pollutant, and daily
        {**good, "AggType": "day", "Start": "yesterday"},  # daily, and a bad time
        {**good, "Start": "yesterday", "Validity": "-1"},  # a bad time, and not valid
        {**good, "Validity": "-1", "Unit": "mg.m-3"},  # not valid, and another unit
        {**good, "Unit": "mg.m-3", "Value": "x"},
        {**good, "Value": "x"},
        {**good, "Value": "5001"},
        {**good, "Start": "2026-01-12T00:00:00+01:00", "Verification": "1", "Validity": None},
    ]
    report = ImportReport()
    values = list(parse_rows("eea", rows, report, utc_offset_h=1))
    assert (report.rows, report.imported, report.skipped_invalid) == (10, 2, 1)
    assert report.refused_rows == {
        "no_site": [3],
        "unknown_pollutant": [4],
        "not_hourly": [5],
        "bad_time": [6],
        "unit": [8],
        "bad_value": [9],
        "out_of_range": [10],
    }
    t0 = 1768172400000  # 2026-01-12T00:00 at UTC+1
    assert values == [
        ReferenceValue("FR/SPO-1", "pm2_5", t0, 4.5, False),
        ReferenceValue("FR/SPO-1", "pm2_5", t0, 4.5, True),
    ]


def test_fr_rows_are_refused_in_the_order_of_the_checks() -> None:
    good = {
        "Date de début": "2026/01/12 00:00:00",
        "code site": "FR99901",
        "Polluant": "NO2",
        "valeur": "21,5",
        "unité de mesure": "µg-m3",
        "validité": "1",
        "code qualité": "",
    }
    rows = [
        good,
        {**good, "code site": "", "Polluant": "CO"},
        {**good, "Polluant": "CO", "Date de début": "?"},
        {**good, "Date de début": "?", "validité": "0"},
        {**good, "validité": "0", "unité de mesure": "ppb"},
        {**good, "unité de mesure": "ppb", "valeur": ""},
        {**good, "valeur": "-6"},
        {**good, "code qualité": "A"},
    ]
    report = ImportReport()
    values = list(parse_rows("fr", rows, report, first_row=1))
    assert (report.rows, report.imported, report.skipped_invalid) == (8, 2, 1)
    assert report.refused_rows == {
        "no_site": [2],
        "unknown_pollutant": [3],
        "bad_time": [4],
        "unit": [6],
        "out_of_range": [7],
    }
    t0 = 1768176000000
    assert values == [
        ReferenceValue("FR99901", "no2", t0, 21.5, None),
        ReferenceValue("FR99901", "no2", t0, 21.5, True),
    ]


def test_file_without_the_layouts_columns_is_refused_as_a_whole(tmp_path, writer) -> None:
    bad = tmp_path / "other.csv"
    bad.write_text("date;station;pm25\n2026/01/12 00:00:00;X;3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        import_reference("fr", bad, writer)


def test_sites_file_refuses_rows_without_coordinates(tmp_path) -> None:
    assert read_sites(SITES)[0] == ("FR99901", "Lens Synthétique", 50.433, 2.827)
    bad = tmp_path / "sites.csv"
    bad.write_text("code,name,lat,lon\nFR1,a,50.1,2.1\nFR2,b,,2.2\n", encoding="utf-8")
    with pytest.raises(SitesError, match="row 3"):
        read_sites(bad)


def test_cli_import_reference_reports_in_french(influxd, influx_db, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIRQ_LANG"}
    db_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    env.update(AIRQ_INFLUX_URL=influxd.url, AIRQ_INFLUX_DB=influx_db, AIRQ_DATABASE_URL=db_url)
    r = subprocess.run(
        [sys.executable, "-m", "airq", "calibration", "import-reference", "--format", "fr",
         str(MALFORMED), "--sites", str(SITES)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "11 ligne(s) lue(s), 2 valeur(s) importée(s) pour 1 site(s)" in r.stdout
    assert "refusées (bad_value) : 2 ligne(s), dont les lignes 5, 6" in r.stdout
    store = CalibrationStore.from_url(db_url)
    try:
        site = store.site("FR99901")
    finally:
        store.close()
    assert site is not None and (site.lat, site.lon, site.source) == (50.433, 2.827, "fr")


def test_eea_parquet_reads_as_the_csv(tmp_path) -> None:
    """The download service's Parquet (typed columns: Start as a timestamp, codes as
    numbers) gives the same values as its CSV form."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(EEA)
    assert str(table.schema.field("Start").type).startswith("timestamp")
    path = tmp_path / "eea.parquet"
    pq.write_table(table, path)

    class Collect:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def write_lines(self, body: bytes, rp: str) -> None:
            self.lines += body.decode().splitlines()

    from_csv, from_parquet = Collect(), Collect()
    import_reference("eea", EEA, from_csv)
    report = import_reference("eea", path, from_parquet)
    assert report.imported == 72
    assert from_parquet.lines == from_csv.lines
