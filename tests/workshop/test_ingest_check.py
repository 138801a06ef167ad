"""Configuration refuses, before anything reaches a board, an ingest address the board cannot
use: a loopback one (the defaults of AIRQ_WORKSHOP_INGEST_*), a name that does not resolve, a
port that does not answer; Wi-Fi name and password lengths are counted in bytes, as the
firmware stores them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from airq.cli import main
from firmware_tools.errors import WorkshopError
from firmware_tools.ingest_check import check_ingest, is_loopback
from firmware_tools.virtual.airrohr_board import AirrohrBoard

TOKEN = "Zk3x9Qw2LmN8pR4tV6yB1cD5fG7hJ0kL"
BASE = ["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("HOST", "PORT", "TLS", "CHECK"):
        monkeypatch.delenv(f"AIRQ_WORKSHOP_INGEST_{name}", raising=False)


@pytest.fixture
def board() -> Iterator[AirrohrBoard]:
    with AirrohrBoard(restart_s=0.2) as b:
        yield b


def _local_address() -> str:
    """This machine's address on its network (not loopback), as a board would reach it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing address
        except OSError:
            pytest.skip("no network interface besides loopback")
        return str(s.getsockname()[0])


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("::1", True),
        ("0.0.0.0", True),
        ("data.airquartiers.fr", False),
        ("192.168.1.10", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("apply", [True, False])
def test_default_settings_are_refused_before_the_board_is_written(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str], apply: bool
) -> None:
    args = [*BASE, "--apply", board.url] if apply else BASE
    rc = main(args)
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 1
    assert "127.0.0.1:8000 désigne la machine elle-même" in err
    assert "AIRQ_WORKSHOP_INGEST_HOST" in err and "Rien n'a été envoyé à la carte" in err
    assert board.saved == []


def test_localhost_is_refused_even_without_the_probe(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "localhost")
    assert main([*BASE, "--no-ingest-check", "--apply", board.url]) == 1
    assert "désigne la machine elle-même" in capsys.readouterr().err
    assert board.saved == []


def test_unknown_name_is_refused(
    board: AirrohrBoard, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "ingest.invalid")  # RFC 6761: never resolves
    assert main([*BASE, "--apply", board.url]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "ingest.invalid (AIRQ_WORKSHOP_INGEST_HOST) est introuvable" in err
    assert board.saved == []


def test_port_that_does_not_answer_is_refused_and_a_good_check_is_remembered() -> None:
    host = _local_address()
    with socket.socket() as listener:
        listener.bind((host, 0))
        listener.listen()
        port = listener.getsockname()[1]
        check_ingest(host, port)  # answers: passes, and is remembered
    check_ingest(host, port)  # closed now (as seen from a board's Wi-Fi): remembered
    with socket.socket() as other:
        other.bind((host, 0))
        closed = other.getsockname()[1]
    with pytest.raises(WorkshopError) as err:
        check_ingest(host, closed)
    assert f"{host}:{closed} ne répond pas depuis cet ordinateur" in str(err.value)


@pytest.mark.parametrize(
    ("option", "value", "field", "size", "limit"),
    [
        ("--wifi-password", "é" * 33, "wlanpwd", 66, 64),  # 33 characters, 66 bytes
        ("--wifi-ssid", "Café-de-la-Gare-Résidence-Hôtel2", "wlanssid", 35, 34),
    ],
)
def test_wifi_lengths_are_counted_in_bytes(
    board: AirrohrBoard,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    value: str,
    field: str,
    size: int,
    limit: int,
) -> None:
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_CHECK", "false")
    assert len(value) <= limit < len(value.encode()) == size
    wifi = ["--wifi-ssid", "Box", "--wifi-password", "motdepasse"]
    wifi[wifi.index(option) + 1] = value
    rc = main([*BASE, *wifi, "--apply", board.url])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 2
    assert f"{field} est trop longue" in err and f"{size} octets, {limit} octets au plus" in err
    assert board.saved == []
    # what the firmware would have kept: the value cut inside a character
    board._store([(field, value)])
    assert board.config[field] != value
