"""``airq flash``: an explicit choice when a board holds an airrohr configuration (--erase or
--keep-config), and ESP32 application images alone refused (a blank ESP32 would not boot and
the sensor.community firmware publishes no ESP32 release)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airq.cli import main
from firmware_tools.errors import WorkshopError
from firmware_tools.flashing.flasher import config_action, holds_configuration
from tests.workshop.esp_images import build_image


@pytest.fixture(autouse=True)
def _french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("images")
    return {"esp8266": build_image(d, "esp8266"), "esp32-app": build_image(d, "esp32", app=True)}


# the start of a SPIFFS block as the firmware leaves it: an object index header page naming
# /config.json, then erased bytes (0xFF); an erased flash is all 0xFF
FS_WITH_CONFIG = (
    b"\x01\x00\xff\xff" + b"\xff" * 252 + b"\x01\x00\x02\xff" + b"\x00" * 8 + b"/config.json"
).ljust(0x2000, b"\xff") + b'{"SOFTWARE_VERSION":"NRZ-2024-135","wlanssid":"Box-1234"}'
ERASED = b"\xff" * 0x10000


def test_a_configured_board_needs_an_explicit_choice() -> None:
    assert holds_configuration(FS_WITH_CONFIG) and not holds_configuration(ERASED)
    with pytest.raises(WorkshopError) as err:
        config_action(FS_WITH_CONFIG, erase=False, keep_config=False)
    text = str(err.value)
    assert "contient déjà une configuration" in text and "--erase" in text
    assert "--keep-config" in text and "Rien n'a été écrit" in text
    assert config_action(FS_WITH_CONFIG, erase=True, keep_config=False) == "erase"
    assert config_action(FS_WITH_CONFIG, erase=False, keep_config=True) == "keep"
    assert config_action(ERASED, erase=False, keep_config=False) == "write"
    assert config_action(None, erase=False, keep_config=False) == "write"  # not an ESP8266


def test_erase_and_keep_config_are_exclusive(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fw = str(images["esp8266"])
    with pytest.raises(SystemExit) as exc:
        main(["flash", "--firmware", fw, "--erase", "--keep-config", "--check-only"])
    assert exc.value.code == 2
    assert main(["flash", "--firmware", fw, "--erase", "--check-only"]) == 0


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_esp32_application_alone_is_refused_before_touching_a_port(
    images: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
) -> None:
    monkeypatch.setenv("AIRQ_LANG", lang)
    rc = main(["flash", "--firmware", str(images["esp32-app"]), "--port", "/dev/does-not-exist"])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 1
    for fact in ("0x1000", "0x8000", "boot_app0", "0xE000", "ESP8266", "merge-bin"):
        assert fact in err, fact
    assert ("aucune version ESP32" if lang == "fr" else "no ESP32 release") in err
    assert "n'existe pas" not in err and "does not exist" not in err


def test_erasing_under_an_esp32_application_alone_is_refused(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["flash", "--firmware", str(images["esp32-app"]), "--address", "0x10000", "--erase"]
    assert main([*args, "--check-only"]) == 1
    assert "ne démarrerait plus" in capsys.readouterr().err
