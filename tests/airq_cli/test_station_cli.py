"""``airq station``: the default registry is the local stack's, errors in French first (English
with --lang en / AIRQ_LANG=en), exit status 1 for what went wrong, 2 for wrong arguments, and
``station list --json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airq.commands.common import default_data_dir, registry_url
from api.registry import Registry

ROOT = Path(__file__).resolve().parents[2]


def _ids(data_dir: Path) -> list[str]:
    reg = Registry(registry_url(data_dir))
    try:
        return [s.id for s in reg.list(include_retired=True)]
    finally:
        reg.close()


def test_station_add_writes_the_registry_of_the_data_folder(airq, data_dir, workdir) -> None:
    r = airq("station", "add", "lens-01", "--lat", "50.449", "--lon", "2.839", "--name", "GR")
    assert r.returncode == 0, r.stderr
    assert "Station lens-01 créée" in r.stdout
    token = r.stdout.strip().splitlines()[-1]
    assert len(token) >= 24
    assert _ids(data_dir) == ["lens-01"]
    assert list(workdir.iterdir()) == []  # no ./airquartiers.sqlite any more


def test_default_data_dir_is_the_checkouts_airq_data(monkeypatch) -> None:
    monkeypatch.delenv("AIRQ_DATA_DIR", raising=False)
    assert default_data_dir() == ROOT / ".airq-data"
    assert registry_url(default_data_dir()) == f"sqlite:///{ROOT / '.airq-data/registry.sqlite'}"
    monkeypatch.setenv("AIRQ_DATA_DIR", "/srv/airq")
    assert default_data_dir() == Path("/srv/airq")


def test_what_the_stack_and_the_cli_write_is_ignored_by_git() -> None:
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for written in (
        ".airq-data/registry.sqlite",
        ".airq-data/influxdb/x",
        "airquartiers.sqlite",
        "atelier-20261205-0930/recap.csv",
    ):
        ignored = subprocess.run(["git", "check-ignore", "-q", written], cwd=ROOT)
        assert ignored.returncode == 0, f"{written} is not ignored by git"


def test_airq_database_url_still_wins(airq, data_dir, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    r = airq(
        "station", "add", "lens-02", "--lat", "50.4", "--lon", "2.8", env={"AIRQ_DATABASE_URL": url}
    )
    assert r.returncode == 0, r.stderr
    assert not (data_dir / "registry.sqlite").exists()
    reg = Registry(url)
    try:
        assert reg.get("lens-02") is not None
    finally:
        reg.close()


def test_an_old_registry_in_the_folder_is_pointed_out(airq, workdir) -> None:
    (workdir / "airquartiers.sqlite").write_bytes(b"")
    r = airq("station", "list")
    assert r.returncode == 0, r.stderr
    assert "un ancien registre airquartiers.sqlite existe" in r.stderr
    assert f"AIRQ_DATABASE_URL=sqlite:///{workdir / 'airquartiers.sqlite'}" in r.stderr


@pytest.mark.parametrize(
    ("args", "fr", "en"),
    [
        (
            ["Lens 01", "--lat", "50", "--lon", "2"],
            "identifiant de station invalide « Lens 01 »",
            "invalid station id 'Lens 01'",
        ),
        (
            ["airq-ingest", "--lat", "50", "--lon", "2"],
            "les identifiants commençant par « airq- » sont réservés",
            "ids starting with 'airq-' are reserved",
        ),
        (
            ["lens-03", "--lat", "95", "--lon", "2"],
            "coordonnées invalides lat=95.0 lon=2.0",
            "invalid coordinates lat=95.0 lon=2.0",
        ),
    ],
)
def test_wrong_station_arguments_are_usage_errors(airq, data_dir, args, fr, en) -> None:
    r = airq("station", "add", *args)
    assert r.returncode == 2 and f"airq: {fr}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = airq("--lang", "en", "station", "add", *args)
    assert r.returncode == 2 and f"airq: {en}" in r.stderr, r.stderr
    r = airq("station", "add", *args, env={"AIRQ_LANG": "en"})
    assert r.returncode == 2 and en in r.stderr, r.stderr
    assert not data_dir.exists()  # refused before the registry is opened


def test_existing_station_is_a_runtime_error_in_both_languages(airq, data_dir) -> None:
    add = ("station", "add", "lens-01", "--lat", "50.449", "--lon", "2.839")
    assert airq(*add).returncode == 0
    r = airq(*add)
    assert r.returncode == 1, r.stderr
    assert "la station « lens-01 » existe déjà dans le registre" in r.stderr
    assert str(data_dir / "registry.sqlite") in r.stderr
    assert "airq station rotate-token lens-01" in r.stderr
    r = airq("--lang", "en", *add)
    assert r.returncode == 1 and "station 'lens-01' already exists" in r.stderr
    assert "Traceback" not in r.stderr


def test_unopenable_registry_is_a_runtime_error(airq, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'r.sqlite'}"
    r = airq("station", "list", env={"AIRQ_DATABASE_URL": url})
    assert r.returncode == 1, r.stderr
    assert "impossible d'ouvrir le registre des stations" in r.stderr
    assert "vérifiez AIRQ_DATABASE_URL" in r.stderr and "Traceback" not in r.stderr
    r = airq("--lang", "en", "station", "list", env={"AIRQ_DATABASE_URL": url})
    assert r.returncode == 1 and "cannot open the station registry" in r.stderr


def test_other_station_errors(airq) -> None:
    r = airq("station", "mosquitto-passwd", "-", "--service", "airq-ingest")
    assert r.returncode == 2 and "--service attend utilisateur=motdepasse" in r.stderr
    r = airq("--lang", "en", "station", "mosquitto-passwd", "-", "--service", "x")
    assert r.returncode == 2 and "--service expects user=password" in r.stderr
    r = airq("station", "rotate-token", "absente")
    assert r.returncode == 1 and "station « absente » inconnue du registre" in r.stderr
    r = airq("--lang", "en", "station", "rotate-token", "absente")
    assert r.returncode == 1 and "station 'absente' is unknown to the registry" in r.stderr
    r = airq("station", "add", "lens-01", "--lat", "nord", "--lon", "2")  # argparse
    assert r.returncode == 2 and "invalid float value" in r.stderr


def test_station_list_json(airq, data_dir) -> None:
    r = airq("station", "list", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    before = datetime.now(UTC)
    airq("station", "add", "lille-02", "--lat", "50.6179", "--lon", "3.0662", "--indoor")
    airq("station", "add", "lens-01", "--lat", "50.449", "--lon", "2.839", "--name", "Cité 2")
    airq("station", "add", "lens-09", "--lat", "50.44", "--lon", "2.83")
    reg = Registry(registry_url(data_dir))
    reg.retire("lens-09")
    reg.close()

    r = airq("station", "list", "--json")
    assert r.returncode == 0, r.stderr
    stations = json.loads(r.stdout)
    assert [s["id"] for s in stations] == ["lens-01", "lille-02"]
    lens, lille = stations
    assert set(lens) == {
        "id",
        "name",
        "lat",
        "lon",
        "indoor",
        "source",
        "precision",
        "created_at",
        "retired_at",
    }
    assert lens["precision"] is None  # the deployment's default
    assert (lens["name"], lens["lat"], lens["lon"], lens["indoor"]) == (
        "Cité 2",
        50.449,
        2.839,
        False,
    )
    assert (lille["name"], lille["indoor"], lille["retired_at"]) == ("", True, None)
    assert lens["source"] == "airquartiers"
    created = datetime.fromisoformat(lens["created_at"])
    assert created.tzinfo is not None
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)

    every = json.loads(airq("station", "list", "--all", "--json").stdout)
    assert [s["id"] for s in every] == ["lens-01", "lens-09", "lille-02"]
    retired = datetime.fromisoformat(every[1]["retired_at"])
    assert before - timedelta(seconds=1) <= retired <= datetime.now(UTC)

    text = airq("station", "list", "--all").stdout.splitlines()
    assert text[1].startswith("lens-09\t") and text[1].endswith("(retirée)")
    en = airq("--lang", "en", "station", "list", "--all").stdout.splitlines()
    assert en[1].endswith("(retired)")
