"""Senseair S8 (NDIR CO₂): Modbus RTU, 9600 baud 8N1, any-address ``FE``.

A CO₂ of 0 ppm (outdoor air holds about 420 ppm) is not a reading: the sample carries the
flag ``"warmup"`` (a sensor reporting before its first measurement; [UNVERIFIED] beyond the
physical bound).

Registers (0-based): input IR1 ``0x0000`` meter status, IR2 alarm status, IR3 output status,
**IR4 ``0x0003`` CO₂ ppm**; holding HR1 ``0x0000`` acknowledgement flags, HR2 ``0x0001``
special command (``0x7C06`` background calibration, ``0x7C07`` zero calibration), HR32
``0x001F`` ABC period in hours (0 = off, factory 180 h). Source: jcomas/S8_UART, citing
Senseair TDE2067 "Modbus on Senseair S8".

:func:`decode` accepts the reply to ``read_co2`` (IR4 alone) or to ``read_status``
(IR1..IR4: the meter status bits become flags such as ``"out_of_range"``); the host commands
are in :mod:`airq_core.protocols.commands.senseair_s8`. Calibration: expose the sensor to fresh
air (background, 400 ppm) or nitrogen (zero), send ``clear_ack``, then the calibration command,
wait a few seconds and check the flag with ``read_ack`` / :func:`parse_ack`.
"""

from __future__ import annotations

from airq_core.errors import FrameFormatError
from airq_core.protocols import modbus
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "decode",
    "parse_abc_period",
    "parse_ack",
    "split_frame",
]

NAME = "senseair_s8"
BAUDRATE = 9600
ADDRESS = 0xFE  # "any address": every S8 answers, with FE in its reply

IR_METER_STATUS, IR_CO2 = 0x0000, 0x0003
HR_ACK, HR_SPECIAL, HR_ABC_PERIOD = 0x0000, 0x0001, 0x001F
BACKGROUND_CALIBRATION, ZERO_CALIBRATION = 0x7C06, 0x7C07
ACK_BACKGROUND_CALIBRATION, ACK_ZERO_CALIBRATION = 0x0020, 0x0040
MAX_ABC_PERIOD_H = 4800

METER_STATUS_FLAGS = (
    (0x01, "fatal_error"),
    (0x02, "offset_regulation_error"),
    (0x04, "algorithm_error"),
    (0x08, "output_error"),
    (0x10, "self_diagnostics_error"),
    (0x20, "out_of_range"),
    (0x40, "memory_error"),
)


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First complete Modbus response with a valid CRC (any address); see the package contract."""
    return modbus.split_frame(buffer)


def _int16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def status_flags(meter_status: int) -> tuple[str, ...]:
    """IR1 meter status bits -> flag names (unknown bits are ignored)."""
    return tuple(name for bit, name in METER_STATUS_FLAGS if meter_status & bit)


def decode(frame: bytes) -> Sample:
    """Reply to ``read_co2`` or ``read_status`` (host commands) -> Sample with ``co2`` (ppm).

    Raises:
        IncompleteFrameError, FrameFormatError, ChecksumError: not a valid CO₂ reply.
        modbus.ModbusExceptionError: the sensor refused the request.
    """
    r = modbus.parse_response(frame, "S8")
    if r.function != modbus.READ_INPUT:
        raise FrameFormatError(
            f"S8 reply to function 0x{r.function:02X}, not a CO2 read (function 0x04)"
        )
    regs = r.registers
    if len(regs) == 1:
        co2 = _int16(regs[0])
        return Sample(NAME, {"co2": float(co2)}, ("warmup",) if co2 == 0 else ())
    if len(regs) == 4:
        meter, alarm, output, co2 = regs
        meta: dict[str, object] = {"meter_status": meter, "alarm_status": alarm}
        meta["output_status"] = output
        flags = status_flags(meter) + (("warmup",) if co2 == 0 else ())
        return Sample(NAME, {"co2": float(_int16(co2))}, flags, meta)
    raise FrameFormatError(f"S8 CO2 reply carries {len(regs)} registers, expected 1 or 4")


def _holding_value(frame: bytes, what: str) -> int:
    r = modbus.parse_response(frame, "S8")
    if r.function == modbus.WRITE_SINGLE:
        return r.registers[1]
    if r.function != modbus.READ_HOLDING or len(r.registers) != 1:
        raise FrameFormatError(f"S8 frame is not a one-register {what} reply")
    return r.registers[0]


def parse_abc_period(frame: bytes) -> int:
    """Reply to ``commands.senseair_s8.read_abc_period`` (or a set's echo) -> period in hours."""
    return _holding_value(frame, "ABC period")


def parse_ack(frame: bytes) -> int:
    """Reply to ``commands.senseair_s8.read_ack`` -> flags (``ACK_BACKGROUND_CALIBRATION``…)."""
    return _holding_value(frame, "acknowledgement")
