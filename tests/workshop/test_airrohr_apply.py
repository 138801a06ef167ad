"""``airq airrohr config --apply`` against a stand-in board that behaves as the firmware does:
it answers 200, sends the start of its page, saves, and restarts without finishing the reply;
then it answers again (on the home Wi-Fi) or not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airq.cli import main
from firmware_tools.airrohr import airrohr_settings, apply_settings
from firmware_tools.settings import WorkshopSettings
from firmware_tools.virtual.airrohr_board import AirrohrBoard

TOKEN = "Zk3x9Qw2LmN8pR4tV6yB1cD5fG7hJ0kL"
BASE = ["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011", "bme280"]
WIFI = ["--wifi-ssid", "Box-1234", "--wifi-password", "motdepasse"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_PORT", "443")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_TLS", "true")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_CHECK", "false")  # no network here


@pytest.fixture
def board() -> Iterator[AirrohrBoard]:
    with AirrohrBoard(chip_id="3122405", restart_s=0.5) as b:
        yield b


def test_reply_cut_by_the_restart_is_a_success(board: AirrohrBoard) -> None:
    fields = airrohr_settings(
        "lens-01",
        TOKEN,
        WorkshopSettings(ingest_host="data.airquartiers.fr", ingest_port=443, ingest_tls=True),
        ["sds011"],
    )
    applied = apply_settings(fields, board.url, timeout=5)
    assert applied.cut and applied.chip_id == "3122405"
    assert applied.home_url == "http://airRohr-3122405.local/"
    assert board.config["user_custom"] == "lens-01" and board.config["pwd_custom"] == TOKEN
    assert board.wait_up(5) and board.restarts == 1


def test_apply_says_saved_then_waits_for_the_board_on_the_home_wifi(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main([*BASE, *WIFI, "--apply", board.url, "--home-url", board.url + "/", "--wait", "10"])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0, out
    assert "Réglages acceptés par la carte airRohr-3122405 (HTTP 200)" in out
    assert "ne répond pas" not in out
    assert "La carte est revenue sur le Wi-Fi du logement" in out
    assert "airq station follow lens-01" in out
    assert board.restarts == 1 and board.config["wlanssid"] == "Box-1234"


def test_board_not_back_in_time_is_not_a_failure_and_says_how_to_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with AirrohrBoard(restart_s=30) as slow:
        rc = main([*BASE, *WIFI, "--apply", slow.url, "--home-url", slow.url + "/", "--wait", "1"])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0
    assert "n'a pas répondu" in out and "les réglages sont bien enregistrés" in out
    assert "Pour vérifier qu'elle a rejoint « Box-1234 »" in out


def test_without_waiting_the_board_s_home_address_comes_from_its_page(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_LANG", "en")
    rc = main([*BASE, *WIFI, "--apply", board.url, "--wait", "0"])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0
    assert "Settings accepted by the board airRohr-3122405 (HTTP 200)" in out
    assert "http://airRohr-3122405.local/" in out


def test_without_a_home_wifi_the_set_up_wifi_comes_back(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, "--apply", board.url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Aucun Wi-Fi de logement donné" in out and "airrohrcfg" in out
