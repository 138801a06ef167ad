"""What participants read about the board's set-up Wi-Fi (labels, printed steps, the advice
when ``--apply`` cannot reach the board) matches the firmware: its password, when it appears
and closes, what to do when it does not appear, and the page's own words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from airq.cli import main
from airq.services import free_port
from firmware_tools.printouts import label_steps

TOKEN = "Zk3x9Qw2LmN8pR4tV6yB1cD5fG7hJ0kL"

# Words of the board's configuration page, copied from the firmware
# (opendata-stuttgart/sensors-software, airrohr-firmware/intl_fr.h and intl_en.h:
# INTL_WIFI_SETTINGS,
# INTL_FS_WIFI_NAME, INTL_PASSWORD, INTL_SENSORS, INTL_SEND_TO_OWN_API, INTL_SERVER, INTL_PATH,
# INTL_PORT, INTL_USER, INTL_SAVE_AND_RESTART, INTL_SENSOR_IS_REBOOTING; html-content.h for
# the tab "APIs", "HTTPS" and the link texts Madavi.de / Sensor.Community).
PAGE_WORDS = {
    "fr": {
        "Paramètres wifi", "Nom", "Mot de passe", "Capteurs", "APIs", "Madavi.de",
        "Sensor.Community", "Envoyer les données vers l'API personnelle", "HTTPS", "Serveur",
        "Chemin", "Port", "Utilisateur", "Sauvegarder et redémarrer",
        "Le détecteur est en train de redémarrer.",
    },
    "en": {
        "WiFi Settings", "Network name", "Password", "Sensors", "APIs", "Madavi.de",
        "Sensor.Community", "Send data to custom API", "HTTPS", "Server", "Path", "Port",
        "User", "Save configuration and restart", "Sensor is rebooting.",
    },
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_ingest_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_CHECK", "false")  # no network here


QUOTES = {
    "fr": re.compile(r"«\s*(.+?)\s*»"),
    "en": re.compile(r"(?<![A-Za-z])'([^']+?)'(?![A-Za-z])"),
}


def _quoted_words_are_the_board_s(text: str, lang: str, own: set[str]) -> None:
    """Every quoted word is one the board shows, or a name of ours (Wi-Fi names)."""
    for word in QUOTES[lang].findall(text):
        assert word in PAGE_WORDS[lang] or word in own or word.startswith("airRohr-"), word


def _assert_setup_wifi_facts(text: str, lang: str) -> None:
    assert "airRohr-…" in text
    assert "airrohrcfg" in text
    assert "20 s" in text
    assert "10 min" in text
    if lang == "fr":
        assert "débranchez" in text and "rebranchez" in text
        assert "Sauvegarder et redémarrer" in text
    else:
        assert "unplug" in text and "plug it back" in text
        assert "Save configuration and restart" in text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_label_steps_give_the_set_up_wifi_password_timing_and_remedy(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_LANG", lang)
    text = " ".join(label_steps("https://carte.airquartiers.fr"))
    _assert_setup_wifi_facts(text, lang)
    _quoted_words_are_the_board_s(text, lang, set())


def test_labels_pdf_prints_the_set_up_wifi_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "https://carte.airquartiers.fr")
    rc = main(
        ["station", "register", "--id", "lens-01", "--lat", "50.45", "--lon", "2.84",
         "--name", "Grande Résidence", "--out", str(tmp_path / "o")]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    reader = PdfReader(tmp_path / "o" / "etiquettes.pdf")
    flat = " ".join(" ".join((p.extract_text() or "") for p in reader.pages).split())
    _assert_setup_wifi_facts(flat, "fr")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_printed_steps_use_the_board_s_words_and_the_set_up_wifi_facts(
    lang: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_LANG", lang)
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    rc = main(
        ["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011",
         "--wifi-ssid", "Box-1234", "--wifi-password", "motdepasse"]
    )  # fmt: skip
    assert rc == 0
    out = " ".join(capsys.readouterr().out.split())
    _assert_setup_wifi_facts(out, lang)
    _quoted_words_are_the_board_s(out, lang, {"Box-1234"})


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_unreachable_board_advice_gives_the_password_and_what_to_do(
    lang: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_LANG", lang)
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    rc = main(
        ["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011",
         "--apply", f"http://127.0.0.1:{free_port()}"]
    )  # fmt: skip
    assert rc == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "airrohrcfg" in err and "10 min" in err and "--erase" in err


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_six_label_steps_fit_the_label(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportlab.lib.units import mm

    from firmware_tools.printouts import _fit_steps

    monkeypatch.setenv("AIRQ_LANG", lang)
    steps = label_steps("https://carte.airquartiers-hauts-de-france.fr")
    # the space write_labels_pdf leaves for the steps on a 105 × 99 mm label
    width, height = 105 * mm - 12 * mm - 10, 99 * mm - 12 * mm - 34 * mm - 39
    size, wrapped = _fit_steps(steps, width, height)
    assert size >= 6  # still readable
    assert sum(len(lines) for lines in wrapped) * (size + 1.5) <= height
    assert " ".join(" ".join(lines) for lines in wrapped) == " ".join(" ".join(steps).split())
