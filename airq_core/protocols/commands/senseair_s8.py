"""Senseair S8 host commands (Modbus RTU; address ``FE`` = any S8)."""

from __future__ import annotations

from airq_core.protocols.commands.modbus import (
    read_holding_registers,
    read_input_registers,
    write_single_register,
)
from airq_core.protocols.senseair_s8 import (
    ADDRESS,
    BACKGROUND_CALIBRATION,
    HR_ABC_PERIOD,
    HR_ACK,
    HR_SPECIAL,
    IR_CO2,
    IR_METER_STATUS,
    MAX_ABC_PERIOD_H,
    ZERO_CALIBRATION,
)

__all__ = [
    "background_calibration",
    "clear_ack",
    "disable_abc",
    "read_abc_period",
    "read_ack",
    "read_co2",
    "read_status",
    "set_abc_period",
    "zero_calibration",
]


def read_co2(address: int = ADDRESS) -> bytes:
    """Read IR4 (CO₂ ppm): ``FE 04 00 03 00 01 D5 C5``."""
    return read_input_registers(address, IR_CO2, 1)


def read_status(address: int = ADDRESS) -> bytes:
    """Read IR1..IR4 (meter, alarm, output status, CO₂): ``FE 04 00 00 00 04 E5 C6``."""
    return read_input_registers(address, IR_METER_STATUS, 4)


def read_abc_period(address: int = ADDRESS) -> bytes:
    """``FE 03 00 1F 00 01 A1 C3``."""
    return read_holding_registers(address, HR_ABC_PERIOD, 1)


def set_abc_period(hours: int, address: int = ADDRESS) -> bytes:
    """Set the automatic baseline correction period; 0 disables ABC."""
    if not 0 <= hours <= MAX_ABC_PERIOD_H:
        raise ValueError(f"S8 ABC period is 0 (off) to {MAX_ABC_PERIOD_H} hours")
    return write_single_register(address, HR_ABC_PERIOD, hours)


def disable_abc(address: int = ADDRESS) -> bytes:
    """``FE 06 00 1F 00 00 AC 03``: indoors, ABC under-reads rooms that never air out."""
    return set_abc_period(0, address)


def clear_ack(address: int = ADDRESS) -> bytes:
    return write_single_register(address, HR_ACK, 0)


def read_ack(address: int = ADDRESS) -> bytes:
    return read_holding_registers(address, HR_ACK, 1)


def background_calibration(address: int = ADDRESS) -> bytes:
    """Calibrate to 400 ppm; the sensor must sit in fresh outdoor air for 5 minutes or more."""
    return write_single_register(address, HR_SPECIAL, BACKGROUND_CALIBRATION)


def zero_calibration(address: int = ADDRESS) -> bytes:
    """Calibrate to 0 ppm; the sensor must be flushed with nitrogen."""
    return write_single_register(address, HR_SPECIAL, ZERO_CALIBRATION)
