"""Winsen MH-Z19B host commands, 9 bytes: ``FF 01 cmd d3..d7 cs``."""

from __future__ import annotations

from airq_core.protocols.mhz19 import (
    CMD_ABC,
    CMD_RANGE,
    CMD_READ,
    CMD_ZERO,
    RANGES,
    SENSOR_NUMBER,
    START,
    checksum,
)

__all__ = ["abc_off", "abc_on", "command", "detection_range", "read", "zero_calibration"]


def command(cmd: int, data: bytes = b"") -> bytes:
    """A 9-byte host command ``FF 01 cmd d3..d7 cs`` (``data`` fills d3..d7)."""
    body = bytes([SENSOR_NUMBER, cmd]) + data[:5].ljust(5, b"\0")
    return bytes([START]) + body + bytes([checksum(body)])


def read() -> bytes:
    """``FF 01 86 00 00 00 00 00 79``."""
    return command(CMD_READ)


def abc_on() -> bytes:
    """Automatic baseline correction on (factory default): re-bases the 24 h low to 400 ppm."""
    return command(CMD_ABC, b"\xa0")


def abc_off() -> bytes:
    """Automatic baseline correction off: advised indoors (rooms that never air out)."""
    return command(CMD_ABC)


def zero_calibration() -> bytes:
    """Set the current reading to 400 ppm; run after 20+ minutes in fresh outdoor air."""
    return command(CMD_ZERO)


def detection_range(ppm: int) -> bytes:
    """Detection range 2000, 5000 or 10000 ppm."""
    if ppm not in RANGES:
        raise ValueError(f"MH-Z19B range must be one of {RANGES} ppm, got {ppm}")
    return command(CMD_RANGE, b"\0\0\0" + ppm.to_bytes(2, "big"))
