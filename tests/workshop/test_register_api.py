"""``airq station register --csv FILE --api URL``: the participants file registered through a
real API's bulk route, all or nothing, with one report line per row of the facilitator's file
(French first, English with --lang en) and the tokens in the recap file only."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from airq.cli import main
from api.registry import Registry
from tests.api.api_server import ADMIN_TOKEN, running, settings_for

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

CSV_TEXT = """\
id;nom;lat;lon;emplacement;position_exacte;participant;contact
;Grande Résidence;50,449123;2.839051;extérieur;non;Aïcha B.;a@x.fr
lens-07;École Jean Jaurès;50.4561234;2.8412345;intérieur;oui;M. Dupont;0600000000
;Maison des associations;50.4301;2.8299;ext;;;
"""


@pytest.fixture
def api(influxd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "https://carte.airquartiers.fr")
    # the local registry is not the API's: nothing may land there
    monkeypatch.setenv("AIRQ_DATABASE_URL", f"sqlite:///{tmp_path / 'local.sqlite'}")
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    with running(settings_for(influxd.url, "nodb", url)) as client:
        body = {"id": "lens-01", "lat": 50.0, "lon": 2.0}
        assert client.post("/v1/admin/stations", json=body, headers=AUTH).status_code == 201
        client.registry_url = url  # type: ignore[attr-defined]
        yield client


def _register(api: httpx.Client, src: Path, out: Path, *extra: str, lang: str = "fr") -> int:
    argv = ["station", "register", "--csv", str(src), "--prefix", "lens", "--out", str(out)]
    return main(["--lang", lang, *argv, "--api", str(api.base_url), "--no-pdf", *extra])


def test_a_file_is_registered_through_the_api_with_a_report_per_line(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "participants.csv"
    src.write_text(CSV_TEXT, encoding="utf-8")
    assert _register(api, src, tmp_path / "atelier") == 0
    out = capsys.readouterr().out
    # ids generated around the one the platform holds (lens-01) and the file's own lens-07
    assert "ligne 2 : lens-02 inscrite" in out
    assert "ligne 3 : lens-07 inscrite" in out
    assert "ligne 4 : lens-03 inscrite" in out
    with open(tmp_path / "atelier" / "recap.csv", encoding="utf-8-sig") as f:
        recap = list(csv.reader(f, delimiter=";"))
    tokens = {row[0]: row[10] for row in recap[1:]}
    assert set(tokens) == {"lens-02", "lens-07", "lens-03"}
    assert recap[1][8] == "a@x.fr"  # the contact stays in the recap, never sent
    reg = Registry(api.registry_url)  # type: ignore[attr-defined]
    try:
        assert all(reg.verify_token(sid, tok) for sid, tok in tokens.items())
        s = reg.get("lens-02")
        assert s is not None and (s.lat, s.lon) == (50.449, 2.839)  # rounded: not exact
        assert reg.get("lens-07") is not None and reg.get("lens-07").indoor  # type: ignore[union-attr]
    finally:
        reg.close()
    for token in tokens.values():
        assert token not in out
    local = Registry(f"sqlite:///{tmp_path / 'local.sqlite'}")
    assert local.list() == []
    local.close()


def test_a_row_the_api_refuses_registers_nothing_and_is_reported_in_english(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    # ids starting with airq- are the platform's own: refused by the API, not by the file check
    src.write_text(CSV_TEXT.replace("lens-07", "airq-07"), encoding="utf-8")
    assert _register(api, src, tmp_path / "o", lang="en") == 1
    err = capsys.readouterr().err
    assert "1 line(s) refused; all or nothing" in err
    assert "line 3: station ids starting with 'airq-' are reserved" in err
    assert [s["id"] for s in api.get("/v1/admin/stations", headers=AUTH).json()] == ["lens-01"]
    assert not (tmp_path / "o" / "recap.csv").exists()


def test_an_id_the_platform_holds_is_refused_before_anything_is_sent(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    src.write_text(CSV_TEXT.replace("lens-07", "lens-01"), encoding="utf-8")
    assert _register(api, src, tmp_path / "o") == 1
    err = capsys.readouterr().err
    assert "aucune station du fichier n'a été inscrite" in err
    assert "ligne 3 :" in err and "lens-01" in err
    assert len(api.get("/v1/admin/stations", headers=AUTH).json()) == 1


def test_dry_run_and_a_wrong_admin_token(
    api: httpx.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = tmp_path / "p.csv"
    src.write_text(CSV_TEXT, encoding="utf-8")
    assert _register(api, src, tmp_path / "o", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "ligne 3 : lens-07 valide" in out and "rien n'a été inscrit" in out
    assert len(api.get("/v1/admin/stations", headers=AUTH).json()) == 1
    monkeypatch.setenv("AIRQ_ADMIN_TOKEN", "not-the-token-0123456789")
    assert _register(api, src, tmp_path / "o") == 1
    err = capsys.readouterr().err
    assert "refuse le jeton d'administration" in err and "Traceback" not in err
    monkeypatch.delenv("AIRQ_ADMIN_TOKEN")
    assert _register(api, src, tmp_path / "o") == 2
    assert "--admin-token ou AIRQ_ADMIN_TOKEN" in capsys.readouterr().err


def test_the_precision_column_reaches_the_platform(api: httpx.Client, tmp_path: Path) -> None:
    src = tmp_path / "participants.csv"
    src.write_text(
        "id;lat;lon;position_exacte;precision\n"
        "lens-08;50.4491;2.8391;non;2\n"
        "lens-09;50.4561234;2.8412345;oui;5\n"
        "lens-10;50.43;2.83;non;\n",
        encoding="utf-8",
    )
    assert _register(api, src, tmp_path / "atelier") == 0
    reg = Registry(api.registry_url)  # type: ignore[attr-defined]
    try:
        got = {sid: reg.get(sid).precision for sid in ("lens-08", "lens-09", "lens-10")}  # type: ignore[union-attr]
    finally:
        reg.close()
    assert got == {"lens-08": 2, "lens-09": 5, "lens-10": None}
    r = api.get("/v1/stations/lens-09")
    assert r.json()["geometry"]["coordinates"] == [2.84123, 50.45612]
