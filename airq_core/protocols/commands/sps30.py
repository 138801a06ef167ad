"""Sensirion SPS30 host commands (SHDLC MOSI frames, stuffed and ready to send)."""

from __future__ import annotations

from airq_core.protocols.sps30 import (
    ADDRESS,
    CMD_DEVICE_INFO,
    CMD_FAN_CLEANING,
    CMD_READ,
    CMD_RESET,
    CMD_SLEEP,
    CMD_START,
    CMD_STOP,
    CMD_WAKE,
    INFO_SERIAL,
    wrap,
)

__all__ = [
    "WAKE_PULSE",
    "command",
    "device_info",
    "fan_cleaning",
    "read",
    "reset",
    "sleep",
    "start",
    "stop",
    "wake",
]

WAKE_PULSE = b"\xff"  # send before wake(): wakes the UART of a sleeping sensor


def command(cmd: int, data: bytes = b"", address: int = ADDRESS) -> bytes:
    """A MOSI frame, stuffed and ready to send."""
    return wrap(bytes([address, cmd, len(data)]) + data)


def start(uint16: bool = False) -> bytes:
    """Start measuring: float output ``7E 00 00 02 01 03 F9 7E`` (uint16: [UNVERIFIED])."""
    return command(CMD_START, bytes([0x01, 0x05 if uint16 else 0x03]))


def stop() -> bytes:
    """``7E 00 01 00 FE 7E``: back to idle."""
    return command(CMD_STOP)


def read() -> bytes:
    """``7E 00 03 00 FC 7E``: read measured values (measurement mode only)."""
    return command(CMD_READ)


def sleep() -> bytes:
    """``7E 00 10 00 EF 7E``: sleep (idle mode only)."""
    return command(CMD_SLEEP)


def wake() -> bytes:
    """``7E 00 7D 31 00 EE 7E``. Send :data:`WAKE_PULSE` first: a sleeping UART is off."""
    return command(CMD_WAKE)


def fan_cleaning() -> bytes:
    """``7E 00 56 00 A9 7E``: 10 s of full-speed fan (measurement mode only)."""
    return command(CMD_FAN_CLEANING)


def device_info(what: int = INFO_SERIAL) -> bytes:
    """Device information: ``what`` 0x00 product type, 0x03 serial number (default)."""
    return command(CMD_DEVICE_INFO, bytes([what]))


def reset() -> bytes:
    """``7E 00 D3 00 2C 7E``: soft reset, back to idle."""
    return command(CMD_RESET)
