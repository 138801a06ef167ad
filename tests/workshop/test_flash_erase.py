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


class _Chip:
    """What esptool's functions see of an ESP8266 whose flash holds ``fs_head`` at 0x100000.

    No ESP chip can answer here (the other tests use ptys where none does): esptool's command
    functions are replaced by this recorder, to check the order the flasher calls them in."""

    CHIP_NAME = "ESP8266"

    def __init__(self, fs_head: bytes) -> None:
        self.fs_head = fs_head
        self.calls: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import esptool.cmds as cmds

        def record(name: str, result: object = None):  # type: ignore[no-untyped-def]
            def call(*args: object, **kwargs: object) -> object:
                self.calls.append(name)
                return result

            return call

        monkeypatch.setattr(cmds, "detect_chip", record("detect", self))
        monkeypatch.setattr(cmds, "run_stub", record("stub", self))
        monkeypatch.setattr(cmds, "attach_flash", record("attach"))
        monkeypatch.setattr(cmds, "read_flash", record("read", self.fs_head))
        monkeypatch.setattr(cmds, "erase_flash", record("erase"))
        monkeypatch.setattr(cmds, "write_flash", record("write"))
        monkeypatch.setattr(cmds, "verify_flash", record("verify"))
        monkeypatch.setattr(cmds, "reset_chip", record("reset"))

    def change_baud(self, baud: int) -> None:
        self.calls.append("baud")


@pytest.mark.parametrize(
    ("fs_head", "options", "expected"),
    [
        (ERASED, {}, ["read", "write", "verify"]),
        (FS_WITH_CONFIG, {"erase": True}, ["erase", "write", "verify"]),
        (FS_WITH_CONFIG, {"keep_config": True}, ["write", "verify"]),
        (FS_WITH_CONFIG, {}, ["read"]),  # refused: nothing written
    ],
)
def test_flasher_reads_then_erases_or_refuses_before_writing(
    images: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    fs_head: bytes,
    options: dict[str, bool],
    expected: list[str],
) -> None:
    from firmware_tools.flashing.flasher import flash_image
    from firmware_tools.flashing.image import inspect_image

    chip = _Chip(fs_head)
    chip.install(monkeypatch)
    data = images["esp8266"].read_bytes()
    info = inspect_image(data)
    erase, keep = options.get("erase", False), options.get("keep_config", False)
    if expected == ["read"]:
        with pytest.raises(WorkshopError) as err:
            flash_image("/dev/null", data, info, 0x0, erase=erase, keep_config=keep)
        assert "contient déjà une configuration" in str(err.value)
    else:
        report = flash_image("/dev/null", data, info, 0x0, erase=erase, keep_config=keep)
        assert report.erased is bool(options.get("erase"))
    steps = [c for c in chip.calls if c in ("read", "erase", "write", "verify")]
    assert steps == expected
