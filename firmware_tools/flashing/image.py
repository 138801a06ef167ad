"""Firmware image checks, with esptool's own image loader (``esptool.bin_image``).

An ESP image starts with magic 0xE9. ESP32-family images carry a 16-byte extended header whose
chip id says which chip they were built for; ESP8266 images have none. A merged ESP32 binary
(written at 0x0) has its bootloader at 0x1000 (0x0 on the newer chips).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from firmware_tools.errors import WorkshopError

__all__ = ["ImageInfo", "check_image_matches", "chip_key", "inspect_image"]

ESP_IMAGE_MAGIC = 0xE9
ESP8266_V2_MAGIC = 0xEA
APP_DESC_MAGIC = b"\x32\x54\xcd\xab"  # esp_app_desc_t at the start of an app's first segment
ESP32_BOOTLOADER_OFFSET = 0x1000


def chip_key(name: str) -> str:
    """'ESP32-C3' / 'esp32c3' -> 'esp32c3' (esptool's chip argument)."""
    return name.lower().replace("-", "").replace("(", "").replace(")", "").replace(" ", "")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    chip: str  # esptool chip key, e.g. "esp8266", "esp32", "esp32c3"
    size: int
    kind: str  # "app" (ESP32 application), "merged" (whole flash from 0x0), "esp8266", "image"
    address: int | None  # where to write it; None when it cannot be told from the image
    segments: int
    entry: int
    flash_mode: int
    flash_size_freq: int


def _rom_chip_ids() -> dict[int, str]:
    from esptool.targets import ROM_LIST

    return {
        rom.IMAGE_CHIP_ID: chip_key(rom.CHIP_NAME)
        for rom in ROM_LIST
        if getattr(rom, "IMAGE_CHIP_ID", None) is not None and chip_key(rom.CHIP_NAME) != "esp8266"
    }


def _header_chip(data: bytes) -> str:
    """Which chip the image at ``data`` was built for, from its header."""
    if data[0] == ESP8266_V2_MAGIC:
        return "esp8266"
    if len(data) >= 24:
        chip_id = struct.unpack_from("<H", data, 12)[0]
        hash_appended = data[23]
        reserved = data[19:23]
        chips = _rom_chip_ids()
        if hash_appended in (0, 1) and reserved == b"\0\0\0\0" and chip_id in chips:
            return chips[chip_id]
    return "esp8266"


def _load(chip: str, data: bytes, name: str) -> Any:  # esptool has no type information
    from esptool.bin_image import LoadFirmwareImage
    from esptool.util import FatalError

    try:
        image = LoadFirmwareImage(chip, data)
    except (FatalError, struct.error, ValueError, RuntimeError, IndexError) as exc:
        raise WorkshopError(
            "image_corrupt", file=name, why=str(exc).splitlines()[0][:120]
        ) from None
    if image.checksum != image.calculate_checksum():
        raise WorkshopError("image_checksum", file=name)
    if getattr(image, "append_digest", False) and image.stored_digest != image.calc_digest:
        raise WorkshopError("image_checksum", file=name)
    return image


def inspect_image(data: bytes, name: str = "image") -> ImageInfo:
    """Read and verify an image (magic, segments, checksum, SHA-256 when appended).

    Raises WorkshopError("image_not_esp" | "image_corrupt" | "image_checksum").
    """
    if not data:
        raise WorkshopError("image_not_esp", file=name, magic="(vide)")
    kind = "image"
    body = data
    if data[0] == 0xFF and len(data) > ESP32_BOOTLOADER_OFFSET + 24:
        body = data[ESP32_BOOTLOADER_OFFSET:]
        kind = "merged"
    if body[0] not in (ESP_IMAGE_MAGIC, ESP8266_V2_MAGIC):
        raise WorkshopError("image_not_esp", file=name, magic=f"0x{data[0]:02X}")
    chip = _header_chip(body)
    image = _load(chip, body, name)
    address: int | None
    if chip == "esp8266":
        kind, address = "esp8266", 0x0
    elif kind == "merged":
        address = 0x0
    elif image.segments and image.segments[0].data[:4] == APP_DESC_MAGIC:
        kind, address = "app", 0x10000
    else:
        address = None  # a bootloader, or a merged image of a newer chip: the user must say
    return ImageInfo(
        chip=chip,
        size=len(data),
        kind=kind,
        address=address,
        segments=len(image.segments),
        entry=image.entrypoint,
        flash_mode=image.flash_mode,
        flash_size_freq=image.flash_size_freq,
    )


def check_image_matches(info: ImageInfo, chip: str, name: str = "image") -> None:
    """Refuse an image built for another chip than the board's (raises WorkshopError)."""
    board = chip_key(chip)
    if info.chip != board:
        raise WorkshopError(
            "image_wrong_chip", file=name, image_chip=info.chip.upper(), chip=board.upper()
        )
