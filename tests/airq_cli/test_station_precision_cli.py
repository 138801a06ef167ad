"""``airq station add/update --precision`` and the ``precision`` column of ``airq station
register --csv``: the owner's choice of how precisely a station's location is published;
messages in French first, English with --lang en."""

from __future__ import annotations

import json
from pathlib import Path

# `station register` refuses the loopback default of the platform URL printed on labels
PUBLIC = {"AIRQ_WORKSHOP_PLATFORM_URL": "https://carte.airquartiers.fr"}


def _stations(airq) -> dict[str, object]:  # type: ignore[no-untyped-def]
    r = airq("station", "list", "--json")
    assert r.returncode == 0, r.stderr
    return {s["id"]: s["precision"] for s in json.loads(r.stdout)}


def test_add_and_update_set_the_published_precision(airq) -> None:  # type: ignore[no-untyped-def]
    r = airq(
        "station", "add", "lens-01", "--lat", "50.44912", "--lon", "2.83906", "--precision", "2"
    )
    assert r.returncode == 0, r.stderr
    assert "position publiée à 2 décimales (à 1 km près)" in r.stdout
    r = airq("station", "add", "lens-02", "--lat", "50.44912", "--lon", "2.83906")
    assert r.returncode == 0 and "3 décimales (à 111 m près)" in r.stdout, r.stdout
    for bad in ("6", "1", "deux", "défaut"):
        r = airq("station", "add", "lens-03", "--lat", "50.4", "--lon", "2.8", "--precision", bad)
        assert r.returncode == 2 and "précision" in r.stderr and "de 2" in r.stderr, r.stderr
    r = airq(
        "--lang", "en", "station", "add", "lens-03", "--lat", "50", "--lon", "2", "--precision", "9"
    )
    assert r.returncode == 2 and "invalid precision '9'" in r.stderr
    assert _stations(airq) == {"lens-01": 2, "lens-02": None}

    # a precision alone moves nothing; the past is coarsened, never refined
    r = airq("station", "update", "lens-01", "--lat", "50.5")
    assert r.returncode == 0 and "déplacée" in r.stdout, r.stderr
    r = airq("station", "update", "lens-01", "--precision", "4")
    assert r.returncode == 0 and "mise à jour" in r.stdout and "4 décimales" in r.stdout, r.stdout
    r = airq("station", "placements", "lens-01", "--json")
    assert [p["precision"] for p in json.loads(r.stdout)] == [2, 4]
    r = airq("station", "placements", "lens-01")
    first, second = r.stdout.splitlines()
    assert first.endswith("publié 50.45, 2.84") and second.endswith("publié 50.5000, 2.8391")
    r = airq("station", "update", "lens-01", "--precision", "défaut")
    assert r.returncode == 0 and "3 décimales" in r.stdout, r.stdout
    r = airq("station", "update", "lens-01", "--precision", "7")
    assert r.returncode == 2 and "« défaut »" in r.stderr, r.stderr
    assert _stations(airq)["lens-01"] is None


def test_register_reads_a_precision_column(airq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster = tmp_path / "participants.csv"
    roster.write_text(
        "id;nom;lat;lon;position_exacte;precision\n"
        "lens-01;Balcon;50.44912;2.83906;non;2\n"
        "lens-02;Mairie;50.44912;2.83906;oui;5\n"
        "lens-03;Jardin;50.44912;2.83906;non;\n",
        encoding="utf-8",
    )
    r = airq(
        "station", "register", "--csv", str(roster), "--out", str(tmp_path / "out"), "--no-pdf",
        env=PUBLIC,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _stations(airq) == {"lens-01": 2, "lens-02": 5, "lens-03": None}

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id;lat;lon;position_exacte;precision\nlens-04;50.4;2.8;non;4\nlens-05;50.4;2.8;oui;9\n",
        encoding="utf-8",
    )
    r = airq(
        "station", "register", "--csv", str(bad), "--out", str(tmp_path / "bad"), "--no-pdf",
        env=PUBLIC,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout
    assert "position_exacte = oui" in r.stderr and "précision « 9 » invalide" in r.stderr
    assert "lens-04" not in _stations(airq)
