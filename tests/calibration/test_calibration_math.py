"""The pure calibration math: the fit recovers known coefficients, refuses what cannot be
fitted; the EPA correction's published values and continuity; distances."""

from __future__ import annotations

import random

import pytest

from airq_core.calibration import (
    MIN_PAIRS,
    CalibrationError,
    apply_fit,
    colocated,
    distance_m,
    epa_correct,
    fit_linear_rh,
    pair_hours,
)


def synthetic_pairs(n: int, seed: int = 3, noise: float = 1.0) -> list[tuple[float, float, float]]:
    """A sensor reading 1.6·ref + 0.1·RH − 2 with Gaussian noise: (raw, rh, ref)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ref = rng.uniform(2, 60)
        rh = rng.uniform(35, 95)
        raw = 1.6 * ref + 0.1 * rh - 2 + rng.gauss(0, noise)
        out.append((raw, rh, ref))
    return out


def test_fit_recovers_the_inverse_of_the_sensor_response() -> None:
    fit = fit_linear_rh(synthetic_pairs(500))
    # ref = raw/1.6 − (0.1/1.6)·RH + 2/1.6
    assert fit.a == pytest.approx(1 / 1.6, abs=0.01)
    assert fit.b == pytest.approx(-0.1 / 1.6, abs=0.01)
    assert fit.c == pytest.approx(2 / 1.6, abs=0.5)
    assert fit.r2 > 0.99
    assert fit.rmse == pytest.approx(1 / 1.6, rel=0.2)  # the noise, seen through the slope
    assert fit.n == 500


def test_fit_of_noise_free_pairs_is_exact() -> None:
    fit = fit_linear_rh(synthetic_pairs(60, noise=0.0))
    assert fit.a == pytest.approx(0.625, abs=1e-9)
    assert fit.b == pytest.approx(-0.0625, abs=1e-9)
    assert fit.c == pytest.approx(1.25, abs=1e-8)
    assert fit.r2 == pytest.approx(1.0)


def test_fit_refuses_too_few_pairs() -> None:
    with pytest.raises(CalibrationError, match=f"at least {MIN_PAIRS}"):
        fit_linear_rh(synthetic_pairs(MIN_PAIRS - 1))


def test_fit_refuses_constant_humidity() -> None:
    pairs = [(raw, 60.0, ref) for raw, _, ref in synthetic_pairs(100)]
    with pytest.raises(CalibrationError, match="constant"):
        fit_linear_rh(pairs)


def test_apply_fit_flags_extrapolation_and_never_goes_negative() -> None:
    fit = fit_linear_rh(synthetic_pairs(200, noise=0.0))
    value, outside = apply_fit(fit, 30.0, 60.0)
    assert value == pytest.approx(30 * 0.625 - 60 * 0.0625 + 1.25)
    assert not outside
    assert apply_fit(fit, 500.0, 60.0)[1]
    assert apply_fit(fit, 30.0, 10.0)[1]
    assert apply_fit(fit, 0.0, 99.0)[0] == 0.0


def test_epa_correction_published_form() -> None:
    # 0.524·PA − 0.0862·RH + 5.75
    assert epa_correct(10.0, 50.0) == pytest.approx(0.524 * 10 - 0.0862 * 50 + 5.75)
    assert epa_correct(100.0, 80.0) == pytest.approx(52.4 - 6.896 + 5.75)
    # above 611: 0.46·PA + 3.93e-4·PA² + 2.97, whatever the humidity
    assert epa_correct(800.0, 10.0) == epa_correct(800.0, 90.0)
    assert epa_correct(800.0, 50.0) == pytest.approx(0.46 * 800 + 3.93e-4 * 800**2 + 2.97)
    assert epa_correct(0.0, 100.0) == 0.0  # clipped at zero


@pytest.mark.parametrize("pa", [570.0, 611.0])
def test_epa_correction_is_continuous_at_the_blend_limits(pa: float) -> None:
    below, above = epa_correct(pa - 1e-6, 50.0), epa_correct(pa + 1e-6, 50.0)
    assert above == pytest.approx(below, abs=3.0)  # the published blend weights are rounded


def test_distance_and_colocation() -> None:
    # one degree along a meridian: 2πR/360 with the mean radius 6371.0088 km
    assert distance_m(50.0, 2.8, 51.0, 2.8) == pytest.approx(111_195.08, abs=0.1)
    # Lens to Lille (centres): 22.8 km north, 16.4 km east, about 28 km
    assert 27_500 < distance_m(50.4322, 2.8317, 50.6372, 3.0633) < 28_500
    near = (50.4330 + 0.0003, 2.8270)  # ~33 m north
    pairs = colocated(
        [("lens-01", *near), ("lille-02", 50.6212, 3.0583)], [("FR99901", 50.4330, 2.8270)], 100
    )
    assert [(s, c) for s, c, _ in pairs] == [("lens-01", "FR99901")]
    assert 30 < pairs[0][2] < 36


def test_pair_hours_keeps_hours_present_in_all_three() -> None:
    got = pair_hours({1: 10.0, 2: 11.0, 3: 12.0}, {2: 50.0, 3: 60.0}, {1: 5.0, 3: 6.0})
    assert got == [(3, 12.0, 60.0, 6.0)]
