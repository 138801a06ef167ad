from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import DecodeError, IncompleteFrameError
from airq_core.protocols import bme280

# Bosch datasheet worked example (BMP280 datasheet §3.12, same formulas in the BME280)
EXAMPLE = bme280.Calibration(
    27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000
)
ADC_T, ADC_P = 519888, 415148
# A typical BME280 humidity trimming
HUMID = dict(h1=75, h2=362, h3=0, h4=313, h5=50, h6=30)


def test_datasheet_example_temperature() -> None:
    temperature, t_fine = bme280.compensate_temperature(EXAMPLE, ADC_T)
    assert temperature == pytest.approx(25.08, abs=0.005)
    assert t_fine == 128422


def test_datasheet_example_pressure() -> None:
    _, t_fine = bme280.compensate_temperature(EXAMPLE, ADC_T)
    assert bme280.compensate_pressure(EXAMPLE, ADC_P, t_fine) == pytest.approx(100653.27, abs=0.02)


def test_convert_returns_hpa() -> None:
    sample = bme280.convert(EXAMPLE, ADC_T, ADC_P, sensor="bmp280")
    assert sample.sensor == "bmp280"
    assert sample.values == pytest.approx({"temperature": 25.08, "pressure": 1006.5327}, abs=1e-3)


def _humidity_int32(cal: bme280.Calibration, adc_h: int, t_fine: int) -> float:
    """The datasheet's 32-bit integer humidity formula, as an independent reference."""
    v = t_fine - 76800
    v = (((adc_h << 14) - (cal.h4 << 20) - (cal.h5 * v)) + 16384) >> 15
    v = v * (
        (
            (
                (
                    (((t_fine - 76800) * cal.h6) >> 10)
                    * ((((t_fine - 76800) * cal.h3) >> 11) + 32768)
                )
                >> 10
            )
            + 2097152
        )
        * cal.h2
        + 8192
        >> 14
    )
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * cal.h1) >> 4)
    v = min(max(v, 0), 419430400)
    return (v >> 12) / 1024


@pytest.mark.parametrize("adc_h", [22000, 26000, 30000, 36000])
def test_humidity_agrees_with_the_integer_formula(adc_h: int) -> None:
    cal = _full_calibration()
    _, t_fine = bme280.compensate_temperature(cal, ADC_T)
    expected = _humidity_int32(cal, adc_h, t_fine)
    assert 0 < expected < 100
    assert bme280.compensate_humidity(cal, adc_h, t_fine) == pytest.approx(expected, abs=0.01)


def _full_calibration() -> bme280.Calibration:
    return bme280.Calibration(
        27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000, **HUMID
    )


def test_humidity_is_clamped_to_0_100() -> None:
    cal = _full_calibration()
    _, t_fine = bme280.compensate_temperature(cal, ADC_T)
    assert bme280.compensate_humidity(cal, 0, t_fine) == 0.0
    assert bme280.compensate_humidity(cal, 0xFFFF, t_fine) == 100.0


def _blocks(cal: bme280.Calibration) -> tuple[bytes, bytes]:
    block1 = struct.pack(
        "<HhhHhhhhhhhhBB",
        cal.t1,
        cal.t2,
        cal.t3,
        cal.p1,
        cal.p2,
        cal.p3,
        cal.p4,
        cal.p5,
        cal.p6,
        cal.p7,
        cal.p8,
        cal.p9,
        0,
        cal.h1,
    )
    h4, h5 = cal.h4 & 0xFFF, cal.h5 & 0xFFF
    block2 = (
        struct.pack("<hB", cal.h2, cal.h3)
        + bytes([h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4])
        + struct.pack("<b", cal.h6)
    )
    return block1, block2


@pytest.mark.parametrize(
    "humid",
    [HUMID, dict(h1=0, h2=-300, h3=255, h4=-100, h5=-5, h6=-128), dict(h4=2047, h5=-2048)],
)
def test_parse_calibration_reads_the_register_blocks(humid: dict) -> None:
    cal = bme280.Calibration(
        27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000, **humid
    )
    block1, block2 = _blocks(cal)
    assert (len(block1), len(block2)) == (26, 7)
    assert bme280.parse_calibration(block1, block2) == cal


def test_parse_calibration_of_a_bmp280_has_no_humidity_block() -> None:
    block1, _ = _blocks(EXAMPLE)
    assert bme280.parse_calibration(block1) == EXAMPLE


def test_parse_calibration_rejects_short_blocks() -> None:
    with pytest.raises(IncompleteFrameError, match="26 and 7 bytes"):
        bme280.parse_calibration(bytes(20), bytes(7))


def test_parse_raw_unpacks_the_burst_read() -> None:
    # adc_P 415148 = 0x655AC, adc_T 519888 = 0x7EED0, adc_H 0x6A2B
    data = bytes([0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6A, 0x2B])
    assert bme280.parse_raw(data) == (ADC_P, ADC_T, 0x6A2B)
    with pytest.raises(IncompleteFrameError):
        bme280.parse_raw(data[:5])


def test_skipped_measurements_are_left_out() -> None:
    sample = bme280.convert(_full_calibration(), ADC_T, bme280.SKIPPED_TP, bme280.SKIPPED_H)
    assert set(sample.values) == {"temperature"}
    with pytest.raises(DecodeError, match="skipped"):
        bme280.convert(_full_calibration(), bme280.SKIPPED_TP, ADC_P)


def test_zero_dig_p1_raises_decode_error() -> None:
    cal = bme280.Calibration(27504, 26435, -1000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(DecodeError, match="dig_P1"):
        bme280.convert(cal, ADC_T, ADC_P)


@given(st.binary(min_size=33, max_size=33), st.integers(0, 0xFFFFF), st.integers(0, 0xFFFFF))
def test_random_calibration_raises_only_decode_error(raw: bytes, adc_t: int, adc_p: int) -> None:
    cal = bme280.parse_calibration(raw[:26], raw[26:])
    with contextlib.suppress(DecodeError):
        bme280.convert(cal, adc_t, adc_p, 0x6000)
