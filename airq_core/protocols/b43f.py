"""Alphasense NO2-B43F with its ISB board: a pure conversion module (no serial protocol).

The board gives two voltages, WE (working electrode) and AE (auxiliary, gas-blind), read by
an ADC such as the ADS1115 (:func:`ads1115_millivolts`). With the calibration sheet of the
sensor and a temperature next to the cell, Alphasense AAN 803-05 corrects the background
current with one of four algorithms (WEu, AEu: raw millivolts; WEc: corrected)::

    1: WEc = (WEu − WEe) − nT·(AEu − AEe)
    2: WEc = (WEu − WEe) − kT·(WE0/AE0)·(AEu − AEe)
    3: WEc = (WEu − WEe) − (WE0 − AE0) − k'T·(AEu − AEe)
    4: WEc = (WEu − WEe) − WE0 − k''T

    ppb = WEc / sensitivity (mV/ppb);  µg/m³ = ppb × 1.912 (20 °C, 101.3 kPa)

The factors are tabulated for −30..50 °C every 10 °C, interpolated linearly and held at the
end values outside. Which algorithm Alphasense recommends for the B43F: [UNVERIFIED];
algorithm 1 is the usual choice and the default. Field co-location against a reference
station is still needed. There is no ``split_frame``: a gateway samples the ADC and calls
:func:`convert`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airq_core.errors import DecodeError
from airq_core.readings import Sample

__all__ = [
    "ADS1115_FULL_SCALE_V",
    "NAME",
    "CalibrationSheet",
    "ads1115_millivolts",
    "convert",
    "corrected_we",
    "correction_factor",
]

NAME = "b43f"
BAUDRATE = None  # analog sensor: no UART
UGM3_PER_PPB = 1.912

TEMPERATURES = (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0)
FACTORS: dict[int, tuple[float, ...]] = {
    1: (1.3, 1.3, 1.3, 1.3, 1.0, 0.6, 0.4, 0.2, -1.5),  # nT
    2: (2.2, 2.2, 2.2, 2.2, 1.7, 1.0, 0.7, 0.3, -2.5),  # kT
    3: (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.4, -0.1, -4.0),  # k'T
    4: (7.0, 7.0, 7.0, 7.0, 4.0, 0.0, 0.5, 5.0, 67.0),  # k''T, mV
}

# PGA gain -> full-scale voltage (V) of the ADS1115.
ADS1115_FULL_SCALE_V = {2 / 3: 6.144, 1: 4.096, 2: 2.048, 4: 1.024, 8: 0.512, 16: 0.256}


@dataclass(frozen=True, slots=True)
class CalibrationSheet:
    """The values printed on the sensor's calibration sheet, in mV (sensitivity in mV/ppb).

    ``sensitivity`` is the WE sensitivity times the ISB gain; it must not be zero.
    """

    we_e: float
    ae_e: float
    we_0: float
    ae_0: float
    sensitivity: float

    def __post_init__(self) -> None:
        if not all(map(math.isfinite, (self.we_e, self.ae_e, self.we_0, self.ae_0))):
            raise ValueError("B43F calibration sheet values must be finite numbers")
        if not math.isfinite(self.sensitivity) or self.sensitivity == 0:
            raise ValueError("B43F calibration sheet: sensitivity (mV/ppb) must be non-zero")


def correction_factor(algorithm: int, temperature: float) -> float:
    """nT, kT, k'T or k''T at ``temperature`` (°C), interpolated and clamped to −30..50 °C."""
    try:
        table = FACTORS[algorithm]
    except KeyError:
        raise ValueError(f"B43F algorithm must be 1, 2, 3 or 4, got {algorithm!r}") from None
    t = min(max(temperature, TEMPERATURES[0]), TEMPERATURES[-1])
    for k in range(len(TEMPERATURES) - 1):
        t0, t1 = TEMPERATURES[k], TEMPERATURES[k + 1]
        if t <= t1:
            return table[k] + (table[k + 1] - table[k]) * (t - t0) / (t1 - t0)
    return table[-1]


def corrected_we(
    we_mv: float, ae_mv: float, temperature: float, sheet: CalibrationSheet, algorithm: int = 1
) -> float:
    """The corrected working-electrode signal WEc in mV.

    Raises:
        DecodeError: a reading is not a finite number.
        ValueError: bad algorithm, or algorithm 2 with AE0 = 0.
    """
    for name, v in (("WE", we_mv), ("AE", ae_mv), ("temperature", temperature)):
        if not math.isfinite(v):
            raise DecodeError(f"B43F {name} reading is not a finite number ({v})")
    f = correction_factor(algorithm, temperature)
    we = we_mv - sheet.we_e
    ae = ae_mv - sheet.ae_e
    if algorithm == 1:
        return we - f * ae
    if algorithm == 2:
        if sheet.ae_0 == 0:
            raise ValueError("B43F algorithm 2 needs a non-zero AE0 on the calibration sheet")
        return we - f * (sheet.we_0 / sheet.ae_0) * ae
    if algorithm == 3:
        return we - (sheet.we_0 - sheet.ae_0) - f * ae
    return we - sheet.we_0 - f


def convert(
    we_mv: float, ae_mv: float, temperature: float, sheet: CalibrationSheet, algorithm: int = 1
) -> Sample:
    """Raw WE/AE millivolts and cell temperature (°C) -> Sample with no2 in µg/m³.

    The value may be slightly negative near zero (noise); it is kept, not clipped.
    """
    wec = corrected_we(we_mv, ae_mv, temperature, sheet, algorithm)
    ppb = wec / sheet.sensitivity
    meta: dict[str, object] = {"we_c_mv": wec, "ppb": ppb, "algorithm": algorithm}
    return Sample(NAME, {"no2": round(ppb * UGM3_PER_PPB, 2)}, meta=meta)


def ads1115_millivolts(counts: int, gain: float = 1) -> float:
    """A signed 16-bit ADS1115 conversion result -> millivolts at PGA ``gain``.

    ``gain`` is one of 2/3, 1, 2, 4, 8, 16 (full scale ±6.144 V … ±0.256 V).
    """
    try:
        full_scale = ADS1115_FULL_SCALE_V[gain]
    except KeyError:
        raise ValueError(f"ADS1115 gain must be one of 2/3, 1, 2, 4, 8, 16; got {gain!r}") from None
    if not -0x8000 <= counts <= 0x7FFF:
        raise ValueError(f"ADS1115 result is a signed 16-bit number, got {counts}")
    return counts * full_scale * 1000 / 0x8000
