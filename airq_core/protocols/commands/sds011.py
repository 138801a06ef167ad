"""SDS011 host commands, 19 bytes: ``AA B4 cmd d1 d2 00×10 id_hi id_lo cs AB``
(cs = sum of bytes 2..16 mod 256; id ``FF FF`` addresses every sensor)."""

from __future__ import annotations

from airq_core.protocols.sds011 import (
    CMD_FIRMWARE,
    CMD_QUERY,
    CMD_REPORTING_MODE,
    CMD_SLEEP_WORK,
    CMD_WORKING_PERIOD,
    COMMAND,
    HEAD,
    TAIL,
    checksum,
)

__all__ = [
    "command",
    "firmware",
    "query",
    "set_active_mode",
    "set_query_mode",
    "sleep",
    "work",
    "working_period",
]


def command(cmd: int, d1: int = 0, d2: int = 0, device_id: int = 0xFFFF) -> bytes:
    body = bytes([cmd, d1, d2]) + bytes(10) + device_id.to_bytes(2, "big")
    return bytes([HEAD, COMMAND]) + body + bytes([checksum(body), TAIL])


def set_query_mode() -> bytes:
    """Query (passive) mode: the sensor answers :func:`query` only."""
    return command(CMD_REPORTING_MODE, 1, 1)


def set_active_mode() -> bytes:
    """Active mode (factory default): a data frame every second."""
    return command(CMD_REPORTING_MODE, 1, 0)


def query() -> bytes:
    """Ask for one data frame."""
    return command(CMD_QUERY)


def sleep() -> bytes:
    """Stop fan and laser."""
    return command(CMD_SLEEP_WORK, 1, 0)


def work() -> bytes:
    """Restart fan and laser; the first frames read zero (warm-up)."""
    return command(CMD_SLEEP_WORK, 1, 1)


def working_period(minutes: int) -> bytes:
    """0 = continuous, else one measurement every ``minutes`` (1–30)."""
    if not 0 <= minutes <= 30:
        raise ValueError("SDS011 working period is 0 (continuous) to 30 minutes")
    return command(CMD_WORKING_PERIOD, 1, minutes)


def firmware() -> bytes:
    """Ask for the firmware date."""
    return command(CMD_FIRMWARE)
