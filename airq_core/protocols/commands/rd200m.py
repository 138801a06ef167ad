"""FTLab RD200M host commands: ``02 cmd len data… cs``."""

from __future__ import annotations

from airq_core.protocols.rd200m import CMD_PERIOD, CMD_READ, CMD_RESET, STX, checksum

__all__ = ["command", "read", "reset", "set_period"]


def command(cmd: int, data: bytes = b"") -> bytes:
    body = bytes([cmd, len(data)]) + data
    return bytes([STX]) + body + bytes([checksum(body)])


def read() -> bytes:
    """Request all data: ``02 01 00 FE``."""
    return command(CMD_READ)


def reset() -> bytes:
    """Reset the module: ``02 A0 00 5F``. No reply; measuring restarts from warm-up."""
    return command(CMD_RESET)


def set_period(minutes: int) -> bytes:
    """Set the auto-transfer period: the module then sends a data frame every ``minutes``.

    ``02 A1 01 0A 53`` for 10 minutes; the checksum depends on the period.
    """
    if not 1 <= minutes <= 255:
        raise ValueError("RD200M auto-transfer period is 1 to 255 minutes")
    return command(CMD_PERIOD, bytes([minutes]))
