"""Plantower PMS host commands, 7 bytes: ``42 4D cmd dataH dataL csH csL``."""

from __future__ import annotations

from airq_core.protocols.plantower import CMD_MODE, CMD_READ, CMD_SLEEP, HEAD, with_sum

__all__ = ["active", "command", "passive", "read", "sleep", "wake"]


def command(cmd: int, data: int = 0) -> bytes:
    """A 7-byte host command: ``42 4D cmd dataH dataL csH csL``."""
    return with_sum(HEAD + bytes([cmd]) + data.to_bytes(2, "big"))


def passive() -> bytes:
    """Passive mode: the sensor answers :func:`read` only. Acked with ``42 4D 00 04``."""
    return command(CMD_MODE, 0)


def active() -> bytes:
    """Active mode (factory default): the sensor streams data frames."""
    return command(CMD_MODE, 1)


def read() -> bytes:
    """Ask for one data frame (passive mode)."""
    return command(CMD_READ)


def sleep() -> bytes:
    """Stop fan and laser. Acked with ``42 4D 00 04``."""
    return command(CMD_SLEEP, 0)


def wake() -> bytes:
    """Restart fan and laser; allow tens of seconds before trusting the data."""
    return command(CMD_SLEEP, 1)
