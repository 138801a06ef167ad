"""Sensirion SCD30 host commands (Modbus RTU, address ``0x61``)."""

from __future__ import annotations

from airq_core.protocols.commands.modbus import read_holding_registers, write_single_register
from airq_core.protocols.scd30 import (
    ADDRESS,
    REG_ASC,
    REG_DATA_READY,
    REG_INTERVAL,
    REG_MEASUREMENT,
    REG_START,
    REG_STOP,
)

__all__ = ["asc", "data_ready", "read", "set_interval", "start", "stop"]


def start(pressure_mbar: int = 0) -> bytes:
    """Start continuous measurement; ``pressure_mbar`` 700–1400, or 0 for no compensation."""
    if pressure_mbar != 0 and not 700 <= pressure_mbar <= 1400:
        raise ValueError("SCD30 ambient pressure is 700 to 1400 mbar, or 0 (no compensation)")
    return write_single_register(ADDRESS, REG_START, pressure_mbar)


def stop() -> bytes:
    return write_single_register(ADDRESS, REG_STOP, 1)


def data_ready() -> bytes:
    """``61 03 00 27 00 01 3D A1``."""
    return read_holding_registers(ADDRESS, REG_DATA_READY, 1)


def read() -> bytes:
    """``61 03 00 28 00 06 4C 60``."""
    return read_holding_registers(ADDRESS, REG_MEASUREMENT, 6)


def set_interval(seconds: int) -> bytes:
    if not 2 <= seconds <= 1800:
        raise ValueError("SCD30 measurement interval is 2 to 1800 s")
    return write_single_register(ADDRESS, REG_INTERVAL, seconds)


def asc(on: bool) -> bytes:
    """Automatic self-calibration on or off (off indoors unless the room airs out daily)."""
    return write_single_register(ADDRESS, REG_ASC, 1 if on else 0)
