"""Bulk registration from a participants CSV: bad rows are reported by line, good rows are
created, tokens go to the recap only, labels carry the station id, QR link and set-up steps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pypdf import PdfReader

from airq.cli import main
from api.registry import Registry

CSV_TEXT = """\
id;nom;lat;lon;emplacement;position_exacte;capteurs;participant;contact;adresse;couleur
lens-01;Grande Résidence;50,449123;2.839051;extérieur;non;sds011 bme280;Aïcha B.;a@x.fr;12 rue A;
;École Jean Jaurès;50.4561234;2.8412345;intérieur;oui;sds011;M. Dupont;0600000000;;bleu
;Sans latitude;;2.84;extérieur;;;;;;
lens-01;Doublon;50.44;2.83;extérieur;;;;;;
;Inversée;2.83;95.5;garage;peut-être;sds999;;;;
lens-09;Existe déjà;50.44;2.83;extérieur;;;;;;
;Maison des associations;50.4301;2.8299;ext;;pms5003;;;;
"""


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    monkeypatch.setenv("AIRQ_DATABASE_URL", url)
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "https://carte.airquartiers.fr")
    return url


def _run(*argv: str) -> int:
    return main(list(argv))


def test_bulk_register_reports_bad_rows_and_creates_good_ones(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = Registry(db_url)
    reg.add("lens-09", 50.0, 2.0)
    reg.close()
    src = tmp_path / "participants.csv"
    src.write_text(CSV_TEXT, encoding="utf-8")
    out = tmp_path / "atelier"

    rc = _run("station", "register", "--csv", str(src), "--prefix", "lens", "--out", str(out))
    captured = capsys.readouterr()

    assert rc == 1  # some rows refused
    err = captured.err
    assert "colonnes ignorées (inconnues) : couleur" in err
    assert "ligne 4 : lat manquant(e)" in err
    assert "ligne 5 : identifiant « lens-01 » déjà utilisé plus haut dans le fichier" in err
    line6 = next(x for x in err.splitlines() if "ligne 6" in x)
    assert "lon « 95.5 » hors limites (-180 à 180)" not in line6  # 95.5 is a valid longitude
    assert "emplacement « garage » : écrivez intérieur ou extérieur" in line6
    assert "position_exacte « peut-être » : écrivez oui ou non" in line6
    assert "capteur(s) inconnu(s) : sds999" in line6
    assert "ligne 7 : la station « lens-09 » existe déjà dans le registre" in err
    assert "3 station(s) créée(s) : lens-01, lens-02, lens-03" in captured.out

    reg = Registry(db_url)
    try:
        stations = {s.id: s for s in reg.list()}
        assert set(stations) == {"lens-01", "lens-02", "lens-03", "lens-09"}
        # no consent: rounded to ~100 m before storage, since the registry position is public
        assert (stations["lens-01"].lat, stations["lens-01"].lon) == (50.449, 2.839)
        # consent given: exact position kept
        assert (stations["lens-02"].lat, stations["lens-02"].lon) == (50.4561234, 2.8412345)
        assert stations["lens-02"].indoor and not stations["lens-01"].indoor
        assert stations["lens-01"].name == "Grande Résidence"

        recap = out / "recap.csv"
        assert recap.stat().st_mode & 0o077 == 0  # tokens: owner only
        with recap.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        assert [r["id"] for r in rows] == ["lens-01", "lens-02", "lens-03"]
        for r in rows:
            assert reg.verify_token(r["id"], r["jeton"])
            assert r["jeton"] not in captured.out  # printed once, in the recap only
        assert rows[0]["participant"] == "Aïcha B." and rows[0]["contact"] == "a@x.fr"
        assert rows[2]["page"] == "https://carte.airquartiers.fr/stations/lens-03"
    finally:
        reg.close()


def test_labels_pdf_has_id_link_and_french_setup_steps(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    src.write_text(CSV_TEXT.split("\n", 3)[0] + "\n" + CSV_TEXT.split("\n")[1] + "\n")
    rc = _run("station", "register", "--csv", str(src), "--out", str(tmp_path / "o"))
    assert rc == 0, capsys.readouterr().err
    reader = PdfReader(tmp_path / "o" / "etiquettes.pdf")
    text = " ".join((p.extract_text() or "") for p in reader.pages)
    flat = " ".join(text.split())
    assert "lens-01" in flat and "Grande Résidence" in flat
    assert "Mise en route" in flat
    assert "Wi-Fi « airRohr-… »" in flat
    assert "http://192.168.4.1" in flat
    assert "Sauvegarder et redémarrer" in flat
    assert "https://carte.airquartiers.fr/stations/lens-01" in flat.replace(" ", "")
    with (tmp_path / "o" / "recap.csv").open(encoding="utf-8-sig") as f:
        tokens = [r["jeton"] for r in csv.DictReader(f, delimiter=";")]
    assert tokens and all(tok not in flat for tok in tokens)  # labels are public
    recap_text = " ".join(
        p.extract_text() or "" for p in PdfReader(tmp_path / "o" / "recap.pdf").pages
    )
    assert tokens[0] in recap_text.replace("\n", "").replace(" ", "")


def test_labels_in_english(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rc = _run(
        "--lang",
        "en",
        "station",
        "register",
        "--id",
        "lille-01",
        "--lat",
        "50.63",
        "--lon",
        "3.06",
        "--name",
        "Wazemmes",
        "--out",
        str(tmp_path / "o"),
    )
    assert rc == 0
    text = " ".join(PdfReader(tmp_path / "o" / "etiquettes.pdf").pages[0].extract_text().split())
    assert "Getting started" in text and "lille-01" in text


def test_dry_run_creates_nothing(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    src.write_text(CSV_TEXT)
    rc = _run("station", "register", "--csv", str(src), "--dry-run", "--out", str(tmp_path / "o"))
    assert rc == 1
    assert "rien n'a été enregistré" in capsys.readouterr().out
    reg = Registry(db_url)
    assert reg.list() == []
    reg.close()
    assert not (tmp_path / "o").exists()


def test_file_without_coordinates_is_refused_with_a_fix(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    src.write_text("nom,adresse\nA,1 rue B\n")
    assert _run("station", "register", "--csv", str(src), "--out", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err
    assert "colonne(s) manquante(s) : lat, lon" in err and "Traceback" not in err


def test_excel_windows_file_with_commas(tmp_path: Path, db_url: str) -> None:
    src = tmp_path / "p.csv"
    src.write_bytes("Nom,Latitude,Longitude,Intérieur\nCafé,50.1,2.1,oui\n".encode("cp1252"))
    assert (
        _run(
            "station",
            "register",
            "--csv",
            str(src),
            "--prefix",
            "arras",
            "--out",
            str(tmp_path / "o"),
            "--no-pdf",
        )
        == 0
    )
    reg = Registry(db_url)
    (s,) = reg.list()
    reg.close()
    assert (s.id, s.name, s.indoor) == ("arras-01", "Café", True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8080/", "http://[::1]"])
def test_loopback_platform_url_is_refused_before_anything_is_created(
    tmp_path: Path,
    db_url: str,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", url)
    src = tmp_path / "p.csv"
    src.write_text("id;lat;lon\nlens-01;50.45;2.84\n")
    for extra in ([], ["--dry-run"]):
        rc = _run("station", "register", "--csv", str(src), "--out", str(tmp_path / "o"), *extra)
        err = " ".join(capsys.readouterr().err.split())
        assert rc == 1
        assert "AIRQ_WORKSHOP_PLATFORM_URL vaut" in err and "une adresse de cette machine" in err
        assert "Réglez AIRQ_WORKSHOP_PLATFORM_URL sur l'adresse publique du site" in err
        assert "--allow-local" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    reg = Registry(db_url)
    assert reg.list(include_retired=True) == []
    reg.close()


def test_allow_local_registers_with_a_loopback_platform_url_and_says_so(
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "http://127.0.0.1:18080")
    src = tmp_path / "p.csv"
    src.write_text("id;lat;lon\nlens-01;50.45;2.84\n")
    out = tmp_path / "o"
    rc = _run("station", "register", "--csv", str(src), "--out", str(out), "--allow-local")
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 0, err
    assert "--allow-local : les étiquettes pointent vers http://127.0.0.1:18080" in err
    assert "ne les distribuez pas" in err
    flat = "".join((p.extract_text() or "") for p in PdfReader(out / "etiquettes.pdf").pages)
    assert "http://127.0.0.1:18080/stations/lens-01" in "".join(flat.split())
