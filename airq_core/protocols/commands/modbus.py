"""Modbus RTU requests (functions 03, 04 and 06), as sent by a host to ``senseair_s8`` and
``scd30``. A write request is also the device's echo when it accepts the write."""

from __future__ import annotations

from airq_core.protocols.modbus import (
    MAX_READ_BYTES,
    READ_HOLDING,
    READ_INPUT,
    WRITE_SINGLE,
    with_crc,
)

__all__ = ["read_holding_registers", "read_input_registers", "write_single_register"]


def _request(address: int, function: int, register: int, value: int) -> bytes:
    if not 0 <= address <= 0xFF or not 0 <= register <= 0xFFFF or not 0 <= value <= 0xFFFF:
        raise ValueError("Modbus address is 0..255, register and value are 0..65535")
    return with_crc(
        bytes([address, function]) + register.to_bytes(2, "big") + value.to_bytes(2, "big")
    )


def read_holding_registers(address: int, register: int, count: int = 1) -> bytes:
    """Function 03: read ``count`` holding registers from ``register`` (0-based)."""
    if not 1 <= count <= MAX_READ_BYTES // 2:
        raise ValueError("Modbus reads 1 to 125 registers")
    return _request(address, READ_HOLDING, register, count)


def read_input_registers(address: int, register: int, count: int = 1) -> bytes:
    """Function 04: read ``count`` input registers from ``register`` (0-based)."""
    if not 1 <= count <= MAX_READ_BYTES // 2:
        raise ValueError("Modbus reads 1 to 125 registers")
    return _request(address, READ_INPUT, register, count)


def write_single_register(address: int, register: int, value: int) -> bytes:
    """Function 06: write one register. The device echoes the request when it accepts."""
    return _request(address, WRITE_SINGLE, register, value)
