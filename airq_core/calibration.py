"""Calibration of citizen PM sensors against reference monitors (pure, stdlib only).

Three series are kept apart, never mixed (docs/calibration.md):

* **raw**: the sensor's hourly mean as stored;
* **EPA correction** (:func:`epa_correct`): the US EPA's generic PurpleAir correction with its
  humidity term, applied without any local fit. It was fitted on Plantower PMS5003 ``cf_1``
  values (PurpleAir), so for other sensors it is an *indication*, labelled as such;
* **calibrated** (:func:`apply_fit`): a local least-squares fit
  ``ref = a·raw + b·RH + c`` on co-located hourly pairs (:func:`fit_linear_rh`), the same
  form as the EPA correction, with its provenance (period, pairs, R², RMSE) and the range of
  raw values and humidity it was fitted on (outside it the value is an extrapolation).

Co-location: :func:`distance_m` (haversine) and :func:`colocated` (pairs within a distance).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "EPA_METHOD",
    "FIT_METHOD",
    "MIN_PAIRS",
    "REFERENCE_MEASUREMENT",
    "CalibrationError",
    "Fit",
    "apply_fit",
    "colocated",
    "distance_m",
    "epa_correct",
    "fit_linear_rh",
    "pair_hours",
]

REFERENCE_MEASUREMENT = "reference"
"""InfluxDB measurement of reference-station values (RP ``agg``; tags ``site``, ``source``,
``pollutant``; field ``value`` in µg/m³), written by ``ingest/reference_import.py``. Kept here
rather than in ``storage`` beside the other names while that module is being reworked."""

EPA_METHOD = "epa_2021_purpleair"
"""Barkjohn et al. 2021 (AMT 14, 4617) US-wide correction, with the 2022 extension for smoke."""
FIT_METHOD = "ols_linear_rh"
"""Ordinary least squares of ``ref = a·raw + b·RH + c`` on hourly co-located pairs."""
DEFAULT_MAX_DISTANCE_M = 100.0
"""Co-location distance: a citizen station within this many metres of a reference site
(docs/calibration.md says why)."""
MIN_PAIRS = 48
"""Fewer hourly pairs than this (two days) is refused: a fit on less says nothing."""

# EPA 2021 (Barkjohn et al.): PM2.5 = 0.524·PA_cf1 − 0.0862·RH + 5.75
EPA_A, EPA_B, EPA_C = 0.524, -0.0862, 5.75
# the 2022 extension for smoke: above 611 µg/m³ a quadratic in PA_cf1 only, blended linearly
# between 570 and 611 (docs/calibration.md; the quadratic's coefficients are UNVERIFIED there)
EPA_HIGH = (0.46, 3.93e-4, 2.97)
EPA_BLEND = (570.0, 611.0)


class CalibrationError(ValueError):
    """A fit could not be made (too few pairs, degenerate data); the message says which and what
    to do (a longer period, another reference site)."""


def _epa_low(pa: float, rh: float) -> float:
    return EPA_A * pa + EPA_B * rh + EPA_C


def _epa_high(pa: float) -> float:
    a, a2, c = EPA_HIGH
    return a * pa + a2 * pa * pa + c


def epa_correct(pa_cf1: float, rh: float) -> float:
    """The EPA PurpleAir correction of an hourly PM2.5 value (µg/m³) at ``rh`` percent, with
    the 2022 extension above 570 µg/m³. Never negative."""
    rh = min(max(rh, 0.0), 100.0)
    lo, hi = EPA_BLEND
    if pa_cf1 < lo:
        value = _epa_low(pa_cf1, rh)
    elif pa_cf1 < hi:
        w = 0.0244 * pa_cf1 - 13.9  # 0 at 570, 1 at 611
        value = w * _epa_high(pa_cf1) + (1 - w) * _epa_low(pa_cf1, rh)
    else:
        value = _epa_high(pa_cf1)
    return max(value, 0.0)


@dataclass(frozen=True, slots=True)
class Fit:
    """Coefficients of ``ref = a·raw + b·RH + c`` and how well they fit."""

    a: float
    b: float
    c: float
    n: int
    r2: float
    rmse: float
    raw_min: float
    raw_max: float
    rh_min: float
    rh_max: float


def fit_linear_rh(pairs: Sequence[tuple[float, float, float]]) -> Fit:
    """Least squares of ``ref = a·raw + b·RH + c`` over ``(raw, rh, ref)`` triples.

    The normal equations are solved on centred columns (better conditioned than raw sums).
    Raises :class:`CalibrationError` with fewer than :data:`MIN_PAIRS` pairs.
    """
    n = len(pairs)
    if n < MIN_PAIRS:
        raise CalibrationError(
            f"{n} hourly pair(s), at least {MIN_PAIRS} needed: take a longer period"
        )
    mx = sum(p[0] for p in pairs) / n
    mh = sum(p[1] for p in pairs) / n
    my = sum(p[2] for p in pairs) / n
    sxx = sxh = shh = sxy = shy = syy = 0.0
    for x, h, y in pairs:
        dx, dh, dy = x - mx, h - mh, y - my
        sxx += dx * dx
        sxh += dx * dh
        shh += dh * dh
        sxy += dx * dy
        shy += dh * dy
        syy += dy * dy
    # centred system for (a, b); the intercept follows from the means
    det = sxx * shh - sxh * sxh
    if abs(det) <= 1e-12 * max(sxx * shh, 1e-300):
        raise CalibrationError(
            "the pairs do not determine the fit (constant sensor values or constant "
            "humidity, or humidity that follows the sensor exactly): take a longer period"
        )
    a = (sxy * shh - shy * sxh) / det
    b = (shy * sxx - sxy * sxh) / det
    c = my - a * mx - b * mh
    sse = sum((y - (a * x + b * h + c)) ** 2 for x, h, y in pairs)
    r2 = 1.0 - sse / syy if syy > 0 else 0.0
    return Fit(
        a=a,
        b=b,
        c=c,
        n=n,
        r2=r2,
        rmse=math.sqrt(sse / n),
        raw_min=min(p[0] for p in pairs),
        raw_max=max(p[0] for p in pairs),
        rh_min=min(p[1] for p in pairs),
        rh_max=max(p[1] for p in pairs),
    )


def apply_fit(fit: Fit, raw: float, rh: float) -> tuple[float, bool]:
    """The calibrated value (never negative) and whether ``(raw, rh)`` lies outside the range
    the fit was made on (an extrapolation, flagged in the answers)."""
    value = max(fit.a * raw + fit.b * rh + fit.c, 0.0)
    outside = not (fit.raw_min <= raw <= fit.raw_max and fit.rh_min <= rh <= fit.rh_max)
    return value, outside


def pair_hours(
    raw: Mapping[int, float], rh: Mapping[int, float], ref: Mapping[int, float]
) -> list[tuple[int, float, float, float]]:
    """``(hour, raw, rh, ref)`` for the hours present in all three series (keys: window start
    in ms), in time order."""
    return [(t, raw[t], rh[t], ref[t]) for t in sorted(raw) if t in rh and t in ref]


EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def colocated(
    stations: Iterable[tuple[str, float, float]],
    sites: Iterable[tuple[str, float, float]],
    max_m: float,
) -> list[tuple[str, str, float]]:
    """``(station, site, distance_m)`` for every station within ``max_m`` metres of a
    reference site, nearest first."""
    site_list = list(sites)
    out = []
    for sid, slat, slon in stations:
        for code, lat, lon in site_list:
            d = distance_m(slat, slon, lat, lon)
            if d <= max_m:
                out.append((sid, code, d))
    return sorted(out, key=lambda r: r[2])
