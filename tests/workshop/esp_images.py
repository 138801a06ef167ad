"""Test firmware images built with esptool's own ``elf2image`` from a tiny generated ELF."""

from __future__ import annotations

import struct
from pathlib import Path

APP_DESC_MAGIC = b"\x32\x54\xcd\xab"

# (text address in IRAM, data address) per chip family
ADDRESSES = {
    "esp8266": (0x40100000, 0x3FFE8000),
    "esp32": (0x40080000, 0x3FFB0000),
    "esp32c3": (0x40380000, 0x3FC80000),
}


def make_elf(sections: list[tuple[bytes, int, bytes]], entry: int, machine: int = 0x5E) -> bytes:
    """A minimal little-endian ELF32 with PROGBITS sections (name, address, content)."""
    names = b"\0" + b"".join(n + b"\0" for n, _, _ in sections) + b".shstrtab\0"
    entries = [(0, 0, 0, 0, b"")]
    offset = 1
    for name, addr, content in sections:
        entries.append((offset, 1, 6, addr, content))
        offset += len(name) + 1
    entries.append((offset, 3, 0, 0, names))
    body, layout = b"", []
    for name_off, typ, flags, addr, content in entries:
        layout.append((name_off, typ, flags, addr, 0x34 + len(body), len(content)))
        body += content + b"\0" * (-len(content) % 4)
    shoff = 0x34 + len(body)
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header = struct.pack(
        "<16sHHLLLLLHHHHHH",
        ident,
        2,
        machine,
        1,
        entry,
        0,
        shoff,
        0,
        0x34,
        0x20,
        0,
        0x28,
        len(entries),
        len(entries) - 1,
    )
    table = b"".join(
        struct.pack("<LLLLLLLLLL", n, ty, fl, ad, of, sz, 0, 0, 4, 0)
        for n, ty, fl, ad, of, sz in layout
    )
    return header + body + table


def build_image(tmp: Path, chip: str, app: bool = False) -> Path:
    """``elf2image`` output for ``chip``; ``app`` adds an ESP-IDF app descriptor (ESP32)."""
    from esptool.cmds import elf2image

    text_addr, data_addr = ADDRESSES[chip]
    machine = 0xF3 if chip == "esp32c3" else 0x5E
    sections = [(b".text", text_addr, bytes(range(256))), (b".data", data_addr, b"AirQ" * 16)]
    if app:
        sections.insert(0, (b".flash.appdesc", 0x3F400020, APP_DESC_MAGIC + bytes(252)))
    elf = tmp / f"{chip}{'-app' if app else ''}.elf"
    elf.write_bytes(make_elf(sections, text_addr, machine))
    out = tmp / f"{chip}{'-app' if app else ''}.bin"
    elf2image(str(elf), chip, output=str(out))
    return out
