"""Sensirion SCD30 (NDIR CO₂, T, RH) over Modbus RTU: 19200 baud 8N1, address ``0x61``.

Holding registers: ``0x0036`` start continuous measurement (value = ambient pressure in mbar,
0 = no compensation), ``0x0037`` stop, ``0x0025`` measurement interval (s), ``0x0027``
data ready (1 = a new measurement can be read), **``0x0028`` measurement** (6 registers:
CO₂ ppm, temperature °C, relative humidity %, each an IEEE-754 big-endian float, most
significant word first), ``0x003A`` automatic self-calibration on/off.

A measurement with CO₂ 0 ppm carries the flag ``"warmup"`` ([UNVERIFIED]: a read made before
the first measurement; the gateway asks data-ready first and drops "not ready").

Floats are rounded to 7 significant digits, the precision a float32 carries, so that
``43 DB 8B 85`` reads 439.09 rather than 439.0899963….
"""

from __future__ import annotations

import math
import struct

from airq_core.errors import FrameFormatError
from airq_core.protocols import modbus
from airq_core.readings import Sample

__all__ = [
    "ADDRESS",
    "BAUDRATE",
    "NAME",
    "decode",
    "encode_measurement",
    "parse_data_ready",
    "split_frame",
]

NAME = "scd30"
BAUDRATE = 19200
ADDRESS = 0x61

REG_START, REG_STOP, REG_INTERVAL = 0x0036, 0x0037, 0x0025
REG_DATA_READY, REG_MEASUREMENT, REG_ASC = 0x0027, 0x0028, 0x003A
FIELDS = ("co2", "temperature", "humidity")


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First complete response from address 0x61 with a valid CRC; see the package contract."""
    return modbus.split_frame(buffer, ADDRESS)


def _f32(raw: bytes) -> float:
    value: float = struct.unpack(">f", raw)[0]
    return float(f"{value:.7g}") if math.isfinite(value) else value


def decode(frame: bytes) -> Sample:
    """Reply to ``commands.scd30.read`` -> Sample with co2 (ppm), temperature (°C), humidity (%).

    Raises:
        IncompleteFrameError, FrameFormatError, ChecksumError: not a valid measurement reply
            (a data-ready reply raises FrameFormatError: use :func:`parse_data_ready`).
        modbus.ModbusExceptionError: the sensor refused the request.
    """
    r = modbus.parse_response(frame, "SCD30")
    if r.function != modbus.READ_HOLDING or len(r.data) != 12:
        raise FrameFormatError(
            f"SCD30 frame is not a measurement reply (function 0x{r.function:02X}, "
            f"{len(r.data)} data bytes; expected function 0x03 with 12)"
        )
    values = {}
    for k, name in enumerate(FIELDS):
        v = _f32(r.data[4 * k : 4 * k + 4])
        if not math.isfinite(v):
            raise FrameFormatError(f"SCD30 {name} is not a finite number ({v})")
        values[name] = v
    # 0 ppm: a read before the first measurement after start (the data-ready register says
    # when one exists); never a real reading
    return Sample(NAME, values, ("warmup",) if values["co2"] == 0 else ())


def parse_data_ready(frame: bytes) -> bool:
    """Reply to ``commands.scd30.data_ready`` -> True when a new measurement can be read."""
    r = modbus.parse_response(frame, "SCD30")
    if r.function != modbus.READ_HOLDING or len(r.data) != 2:
        raise FrameFormatError("SCD30 frame is not a data-ready reply")
    return r.registers[0] == 1


def encode_measurement(co2: float, temperature: float, humidity: float) -> bytes:
    """The reply to ``commands.scd30.read`` a sensor would send (virtual sensors and tests)."""
    data = struct.pack(">fff", co2, temperature, humidity)
    return modbus.with_crc(bytes([ADDRESS, modbus.READ_HOLDING, len(data)]) + data)
