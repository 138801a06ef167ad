"""``airq flash``: image checks on images built by esptool's elf2image, port discovery errors,
and the flasher against ptys where no ESP chip answers."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from airq.cli import main
from firmware_tools.errors import WorkshopError
from firmware_tools.flashing.image import check_image_matches, inspect_image
from firmware_tools.flashing.ports import choose_port
from firmware_tools.virtual import PtySensor, make_emulator
from tests.workshop.esp_images import build_image


@pytest.fixture(autouse=True)
def _french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("images")
    return {
        "esp8266": build_image(d, "esp8266"),
        "esp32": build_image(d, "esp32"),
        "esp32-app": build_image(d, "esp32", app=True),
        "esp32c3": build_image(d, "esp32c3"),
    }


def test_image_chip_is_read_from_the_header(images: dict[str, Path]) -> None:
    info = inspect_image(images["esp8266"].read_bytes())
    assert (info.chip, info.kind, info.address) == ("esp8266", "esp8266", 0x0)
    info = inspect_image(images["esp32-app"].read_bytes())
    assert (info.chip, info.kind, info.address) == ("esp32", "app", 0x10000)
    assert inspect_image(images["esp32c3"].read_bytes()).chip == "esp32c3"


def test_merged_esp32_image_is_written_at_zero(images: dict[str, Path]) -> None:
    merged = b"\xff" * 0x1000 + images["esp32"].read_bytes()
    info = inspect_image(merged)
    assert (info.chip, info.kind, info.address) == ("esp32", "merged", 0x0)


@pytest.mark.parametrize(
    ("image", "board"), [("esp8266", "ESP32"), ("esp32", "ESP8266"), ("esp32c3", "ESP32")]
)
def test_image_for_another_chip_is_refused(images: dict[str, Path], image: str, board: str) -> None:
    info = inspect_image(images[image].read_bytes())
    with pytest.raises(WorkshopError) as err:
        check_image_matches(info, board, "fw.bin")
    assert f"mais la carte est une {board.replace('-', '').upper()}" in str(err.value)
    assert "rien n'a été écrit" in str(err.value)
    check_image_matches(info, image.upper())  # the right chip passes


def test_check_only_command_line(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flash", "--firmware", str(images["esp8266"]), "--check-only"]) == 0
    out = capsys.readouterr().out
    assert "firmware ESP8266 valide" in out and "à écrire à 0x0" in out
    app = ["flash", "--firmware", str(images["esp32-app"]), "--check-only"]
    assert main([*app, "--address", "0x10000"]) == 0  # a board that has its bootloader
    assert "à écrire à 0x10000" in capsys.readouterr().out


def test_command_line_refuses_mismatched_chip_before_touching_a_port(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "flash",
            "--firmware",
            str(images["esp8266"]),
            "--chip",
            "esp32",
            "--port",
            "/dev/does-not-exist",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "est fait pour une puce ESP8266, mais la carte est une ESP32" in err
    assert "n'existe pas" not in err  # refused before looking at the port


def test_corrupt_and_foreign_files_are_refused(
    images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(images["esp8266"].read_bytes())
    data[40] ^= 0xFF  # inside the first segment: the checksum no longer matches
    bad = tmp_path / "abime.bin"
    bad.write_bytes(bytes(data))
    assert main(["flash", "--firmware", str(bad), "--check-only"]) == 1
    assert "somme de contrôle fausse" in capsys.readouterr().err
    cut = tmp_path / "coupe.bin"
    cut.write_bytes(images["esp32"].read_bytes()[:100])
    assert main(["flash", "--firmware", str(cut), "--check-only"]) == 1
    assert "abîmé ou incomplet" in capsys.readouterr().err
    zipped = tmp_path / "firmware.zip"
    zipped.write_bytes(b"PK\x03\x04" + bytes(60))
    assert main(["flash", "--firmware", str(zipped), "--check-only"]) == 1
    err = capsys.readouterr().err
    assert "n'est pas un firmware ESP (premier octet 0x50" in err and "Traceback" not in err
    assert main(["flash", "--firmware", str(tmp_path / "absent.bin")]) == 1
    assert "impossible de lire le firmware" in capsys.readouterr().err


def _port(device: str, vid: int | None, description: str = "USB Serial") -> ListPortInfo:
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.description = vid, (0x7523 if vid else None), description
    return p


def test_port_discovery_errors_say_how_to_fix() -> None:
    with pytest.raises(WorkshopError) as err:
        choose_port(None, [_port("/dev/ttyS0", None, "n/a")])
    msg = str(err.value)
    assert "aucune carte USB détectée" in msg and "ne font que charger" in msg
    assert "ch341" in msg and "cp210x" in msg
    with pytest.raises(WorkshopError) as err:
        choose_port(None, [_port("/dev/ttyUSB0", 0x1A86), _port("/dev/ttyUSB1", 0x10C4)])
    msg = str(err.value)
    assert "plusieurs ports série" in msg and "--port" in msg
    assert "CH340" in msg and "CP210x" in msg
    with pytest.raises(WorkshopError) as err:
        choose_port("/dev/ttyUSB9", [_port("/dev/ttyUSB0", 0x1A86)])
    assert "le port /dev/ttyUSB9 n'existe pas" in str(err.value)
    assert "/dev/ttyUSB0 (CH340/CH341 (WCH))" in str(err.value)


def test_single_usb_port_is_chosen() -> None:
    with PtySensor(make_emulator("sds011")) as pty:
        ports = [_port("/dev/ttyS0", None, "n/a"), _port(pty.port, 0x10C4)]
        assert choose_port(None, ports) == pty.port


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not _has_group("dialout"),
    reason="needs root, setpriv and a dialout group, to open a pty as a user without access",
)
def test_permission_error_names_the_group(images: dict[str, Path]) -> None:
    with PtySensor(make_emulator("sds011")) as pty, tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)  # pytest's tmp_path is private to root
        firmware = Path(d) / "fw.bin"
        shutil.copy(images["esp8266"], firmware)
        os.chmod(firmware, 0o644)
        # like /dev/ttyUSB0 on Debian (group dialout, no access for others), owned by another
        # user; we run as root without any capability (so no DAC override) and outside dialout,
        # which needs no access for other users to the checkout (a private clone folder)
        os.chown(pty.port, 1, grp.getgrnam("dialout").gr_gid)
        os.chmod(pty.port, 0o660)
        proc = subprocess.run(
            [
                "setpriv",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                sys.executable,
                "-m",
                "airq",
                "flash",
                "--firmware",
                str(firmware),
                "--port",
                pty.port,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "AIRQ_LANG": "fr", "HOME": d},
            cwd=Path(__file__).resolve().parents[2],
        )
    assert proc.returncode == 1, proc.stderr  # a runtime error (2 is for usage errors)
    assert f"pas le droit d'ouvrir {pty.port}" in proc.stderr
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert f"groupe dialout : « sudo usermod -aG dialout {user} »" in proc.stderr


def test_no_chip_answering_on_a_silent_port(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        t0 = time.monotonic()
        rc = main(
            [
                "flash",
                "--firmware",
                str(images["esp8266"]),
                "--port",
                pty.port,
                "--connect-attempts",
                "2",
            ]
        )
        elapsed = time.monotonic() - t0
    assert rc == 1
    err = capsys.readouterr().err
    assert f"aucune carte n'a répondu sur {pty.port}" in err
    assert "BOOT" in err and "autre câble USB" in err and "Traceback" not in err
    assert elapsed < 15


def test_board_sending_other_data_is_not_in_programming_mode(
    images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with PtySensor(make_emulator("sds011", period=0.05)) as pty:
        rc = main(
            [
                "flash",
                "--firmware",
                str(images["esp8266"]),
                "--port",
                pty.port,
                "--connect-attempts",
                "2",
            ]
        )
    assert rc == 1
    assert "n'est pas en mode programmation" in capsys.readouterr().err


def test_english_message(images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        rc = main(
            [
                "--lang",
                "en",
                "flash",
                "--firmware",
                str(images["esp8266"]),
                "--port",
                pty.port,
                "--connect-attempts",
                "1",
            ]
        )
    assert rc == 1
    assert f"no board answered on {pty.port}" in capsys.readouterr().err
