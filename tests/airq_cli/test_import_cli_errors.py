"""The two import commands (``airq import sensor-community``, ``airq calibration
import-reference``) refuse a missing file, bad settings and an InfluxDB that does not answer
with one French message each and exit status 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airq_cli.conftest import Run

DATA = Path(__file__).resolve().parents[1] / "data" / "calibration"
FR = DATA / "fr_e2_pm25_lens_synthetic.csv"
SITES = DATA / "sites_synthetic.csv"

COMMANDS = {
    "sensor-community": ("import", "sensor-community", "{file}"),
    "reference": (
        "calibration", "import-reference", "--format", "fr", "{file}", "--sites", str(SITES),
    ),
}  # fmt: skip


def _args(command: str, file: Path) -> list[str]:
    return [a.format(file=file) for a in COMMANDS[command]]


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file_is_named(airq: Run, tmp_path: Path, command: str) -> None:
    missing = tmp_path / "absent.csv"
    r = airq(*_args(command, missing))
    assert r.returncode == 1, r.stderr
    assert r.stderr == f"airq: fichier introuvable : {missing}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_setting_is_a_configuration_error(airq: Run, command: str) -> None:
    r = airq(*_args(command, FR), env={"AIRQ_INGEST_BATCH_SIZE": "0"})
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("airq: configuration invalide :\n")
    assert "ingest_batch_size" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_influxdb_that_refuses_is_named(airq: Run, influxd, command: str) -> None:  # type: ignore[no-untyped-def]
    # a database name InfluxDB refuses to create
    r = airq(
        *_args(command, FR),
        env={"AIRQ_INFLUX_URL": influxd.url, "AIRQ_INFLUX_DB": 'bad"name'},
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("airq: InfluxDB refuse l'import (")
    assert "vérifiez AIRQ_INFLUX_URL et AIRQ_INFLUX_DB" in r.stderr
