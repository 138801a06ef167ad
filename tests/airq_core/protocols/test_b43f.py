from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import DecodeError
from airq_core.protocols import b43f

SHEET = b43f.CalibrationSheet(we_e=227, ae_e=230, we_0=5, ae_0=4, sensitivity=0.20)


def test_reference_worked_example_gives_9_ppb() -> None:
    # T 20 °C (nT 0.6), WEu 230, WEe 227, AEu 232, AEe 230, 0.20 mV/ppb -> 9 ppb ≈ 17.2 µg/m³
    sample = b43f.convert(230, 232, 20, SHEET)
    assert sample.sensor == "b43f"
    assert sample.meta["we_c_mv"] == pytest.approx(1.8)
    assert sample.meta["ppb"] == pytest.approx(9.0)
    assert sample.values["no2"] == pytest.approx(9 * 1.912, abs=0.005)
    assert round(sample.values["no2"], 1) == 17.2


@pytest.mark.parametrize(
    ("algorithm", "temperature", "factor"),
    [
        (1, 20, 0.6),
        (1, 15, 0.8),  # halfway between 1.0 at 10 °C and 0.6 at 20 °C
        (1, 45, -0.65),
        (1, -45, 1.3),  # clamped to the −30 °C value
        (1, 80, -1.5),  # clamped to the 50 °C value
        (2, 25, 0.85),
        (3, 35, 0.15),
        (4, 5, 5.5),
        (4, 50, 67.0),
    ],
)
def test_correction_factor_interpolates_and_clamps(
    algorithm: int, temperature: float, factor: float
) -> None:
    assert b43f.correction_factor(algorithm, temperature) == pytest.approx(factor)


@pytest.mark.parametrize(
    ("algorithm", "expected_mv"),
    [
        (1, 3 - 0.6 * 2),
        (2, 3 - 1.0 * (5 / 4) * 2),
        (3, 3 - (5 - 4) - 1.0 * 2),
        (4, 3 - 5 - 0.0),
    ],
)
def test_corrected_we_for_every_algorithm(algorithm: int, expected_mv: float) -> None:
    assert b43f.corrected_we(230, 232, 20, SHEET, algorithm) == pytest.approx(expected_mv)


def test_negative_values_near_zero_are_kept() -> None:
    assert b43f.convert(228, 233, 20, SHEET).values["no2"] < 0


def test_bad_configuration_fails_fast() -> None:
    with pytest.raises(ValueError, match="algorithm must be 1, 2, 3 or 4"):
        b43f.convert(230, 232, 20, SHEET, algorithm=5)
    with pytest.raises(ValueError, match="sensitivity"):
        b43f.CalibrationSheet(227, 230, 5, 4, 0)
    with pytest.raises(ValueError, match="non-zero AE0"):
        b43f.convert(230, 232, 20, b43f.CalibrationSheet(227, 230, 5, 0, 0.2), algorithm=2)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_readings_raise_decode_error(bad: float) -> None:
    with pytest.raises(DecodeError, match="WE reading is not a finite number"):
        b43f.convert(bad, 232, 20, SHEET)


@given(
    st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(-60, 90), st.sampled_from([1, 3, 4])
)
def test_convert_is_finite_for_finite_inputs(
    we: float, ae: float, t: float, algorithm: int
) -> None:
    assert math.isfinite(b43f.convert(we, ae, t, SHEET, algorithm).values["no2"])


@pytest.mark.parametrize(
    ("counts", "gain", "mv"),
    [
        (0, 1, 0.0),
        (0x7FFF, 1, 4095.875),
        (-0x8000, 1, -4096.0),
        (16384, 2 / 3, 3072.0),
        (8000, 2, 500.0),
        (0x7FFF, 16, 255.9921875),
    ],
)
def test_ads1115_millivolts(counts: int, gain: float, mv: float) -> None:
    assert b43f.ads1115_millivolts(counts, gain) == pytest.approx(mv)


def test_ads1115_refuses_bad_gain_and_counts() -> None:
    with pytest.raises(ValueError, match="gain must be one of"):
        b43f.ads1115_millivolts(100, 3)
    with pytest.raises(ValueError, match="signed 16-bit"):
        b43f.ads1115_millivolts(40000)
