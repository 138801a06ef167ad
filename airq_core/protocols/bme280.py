"""Bosch BME280 compensation: raw ADC values + factory trimming -> °C, hPa, %RH.

A pure conversion module (the BME280 is read over I²C/SPI, not a UART): :func:`parse_calibration`
turns the trimming registers 0x88..0xA1 and 0xE1..0xE7 into :class:`Calibration`,
:func:`parse_raw` the burst read 0xF7..0xFE into raw ADC values, and :func:`convert` applies
the datasheet's double-precision compensation formulas (BST-BME280-DS002, §8.1). As in the
datasheet, ``t_fine`` is truncated to an integer before the pressure and humidity formulas.
A skipped measurement (0x80000 for T/P, 0x8000 for H) is left out of the sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from airq_core.errors import DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.readings import Sample

__all__ = [
    "NAME",
    "Calibration",
    "compensate_humidity",
    "compensate_pressure",
    "compensate_temperature",
    "convert",
    "parse_calibration",
    "parse_raw",
]

NAME = "bme280"
BAUDRATE = None  # I²C/SPI sensor: no UART
CALIB1_LEN, CALIB2_LEN, RAW_LEN = 26, 7, 8  # 0x88..0xA1, 0xE1..0xE7, 0xF7..0xFE
SKIPPED_TP, SKIPPED_H = 0x80000, 0x8000


@dataclass(frozen=True, slots=True)
class Calibration:
    """Factory trimming parameters (``dig_*`` in the datasheet)."""

    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int
    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0


def _s12(value: int) -> int:
    return value - 0x1000 if value & 0x800 else value


def parse_calibration(block1: bytes, block2: bytes = b"") -> Calibration:
    """Registers 0x88..0xA1 (26 bytes) and 0xE1..0xE7 (7 bytes; empty for a BMP280).

    Raises:
        IncompleteFrameError: a block is shorter than its register range.
    """
    if len(block1) < CALIB1_LEN or (block2 and len(block2) < CALIB2_LEN):
        raise IncompleteFrameError(
            f"BME280 calibration blocks are 26 and 7 bytes, got {len(block1)} and {len(block2)}"
        )
    t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack("<HhhHhhhhhhhh", block1[:24])
    if not block2:
        return Calibration(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9)
    h1 = block1[25]
    h2, h3 = struct.unpack("<hB", block2[:3])
    e4, e5, e6 = block2[3], block2[4], block2[5]
    h4 = _s12((e4 << 4) | (e5 & 0x0F))
    h5 = _s12((e6 << 4) | (e5 >> 4))
    h6 = struct.unpack("<b", block2[6:7])[0]
    return Calibration(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9, h1, h2, h3, h4, h5, h6)


def parse_raw(data: bytes) -> tuple[int, int, int]:
    """Burst read 0xF7..0xFE (8 bytes) -> (adc_p, adc_t, adc_h)."""
    if len(data) < RAW_LEN:
        raise IncompleteFrameError(f"BME280 data block is 8 bytes (0xF7..0xFE), got {len(data)}")
    adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
    adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
    adc_h = (data[6] << 8) | data[7]
    return adc_p, adc_t, adc_h


def compensate_temperature(cal: Calibration, adc_t: int) -> tuple[float, int]:
    """-> (temperature in °C, t_fine)."""
    var1 = (adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    var2 = (adc_t / 131072.0 - cal.t1 / 8192.0) ** 2 * cal.t3
    return (var1 + var2) / 5120.0, int(var1 + var2)


def compensate_pressure(cal: Calibration, adc_p: int, t_fine: int) -> float:
    """-> pressure in Pa. Raises FrameFormatError when the calibration makes it undefined."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * cal.p6 / 32768.0
    var2 = var2 + var1 * cal.p5 * 2.0
    var2 = var2 / 4.0 + cal.p4 * 65536.0
    var1 = (cal.p3 * var1 * var1 / 524288.0 + cal.p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.p1
    if var1 == 0:
        raise FrameFormatError("BME280 pressure undefined: dig_P1 is zero (bad calibration read)")
    p = 1048576.0 - adc_p
    p = (p - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.p9 * p * p / 2147483648.0
    var2 = p * cal.p8 / 32768.0
    return p + (var1 + var2 + cal.p7) / 16.0


def compensate_humidity(cal: Calibration, adc_h: int, t_fine: int) -> float:
    """-> relative humidity in %, clamped to 0..100 as in the datasheet."""
    h = t_fine - 76800.0
    h = (adc_h - (cal.h4 * 64.0 + cal.h5 / 16384.0 * h)) * (
        cal.h2 / 65536.0 * (1.0 + cal.h6 / 67108864.0 * h * (1.0 + cal.h3 / 67108864.0 * h))
    )
    h = h * (1.0 - cal.h1 * h / 524288.0)
    return min(100.0, max(0.0, h))


def convert(
    cal: Calibration, adc_t: int, adc_p: int, adc_h: int | None = None, sensor: str = NAME
) -> Sample:
    """Raw ADC values -> Sample with temperature (°C), pressure (hPa), humidity (%).

    ``sensor`` names the sample (``bmp280`` has no humidity: leave ``adc_h`` None).

    Raises:
        DecodeError: the temperature was skipped (needed by the other two) or the
            calibration is unusable.
    """
    if adc_t == SKIPPED_TP:
        raise DecodeError("BME280 temperature measurement skipped (0x80000): nothing to compensate")
    temperature, t_fine = compensate_temperature(cal, adc_t)
    values = {"temperature": round(temperature, 2)}
    if adc_p != SKIPPED_TP:
        values["pressure"] = round(compensate_pressure(cal, adc_p, t_fine) / 100, 4)
    if adc_h is not None and adc_h != SKIPPED_H:
        values["humidity"] = round(compensate_humidity(cal, adc_h, t_fine), 3)
    return Sample(sensor, values)
