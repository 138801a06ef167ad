"""Exposure statistics against a case computed by hand (see tests/qpv/conftest.py)."""

from __future__ import annotations

import pytest

from airq_core.reference_values import atmo_class
from api.qpv.exposure import percentile, zone_statistics
from tests.qpv.conftest import END, HOURS, START, hourly_series

NO_DAYS = {"bon": 0, "moyen": 0, "degrade": 0, "mauvais": 0, "tres_mauvais": 0}


def _days(**kw: int) -> dict[str, int]:
    return {**NO_DAYS, "extremement_mauvais": 0, **kw}


def test_inside_a_day_over_the_guideline_and_a_low_coverage_day() -> None:
    st = zone_statistics("pm2_5", hourly_series(), ["in-1"], START, END)
    assert st["hours_total"] == 48 and st["hours_with_data"] == 34
    assert st["coverage"] == round(34 / 48, 3)
    assert st["low_coverage"] is True  # 71 % < 75 %: marked, figures still given
    assert st["mean"] == round((24 * 20 + 10 * 8) / 34, 2)  # 16.47
    assert st["median"] == 20.0 and st["p95"] == 20.0
    assert (st["days_total"], st["days_valid"]) == (2, 1)  # 16 Jan has 10 h < 18 h
    assert st["who_24h"] == 15.0 and st["days_over_who"] == 1
    # 20.0 is the upper bound of "moyen": it belongs to "moyen", not "dégradé"
    assert st["atmo_days"] == _days(moyen=1)
    assert st["atmo_class"] == "moyen"
    assert st["n_stations"] == 1
    assert st["stations"] == [{"id": "in-1", "hours_with_data": 34, "coverage": 0.708}]


def test_buffer_zone_with_two_sensors_weighted_by_count() -> None:
    st = zone_statistics("pm2_5", hourly_series(), ["buf-1"], START, END)
    assert st["coverage"] == 1.0 and st["low_coverage"] is False
    # first hour: (12×30 + 18×10) / 40 = 13.5; the count-0 row is no data
    assert st["mean"] == round((47 * 12 + 13.5) / 48, 2)
    assert st["median"] == 12.0 and st["p95"] == 12.0
    assert (st["days_valid"], st["days_over_who"]) == (2, 0)
    assert st["atmo_days"] == _days(moyen=2)


def test_outside_zone_averages_its_stations_hour_by_hour() -> None:
    st = zone_statistics("pm2_5", hourly_series(), ["buf-1", "ring-1", "out-1"], START, END)
    day1 = [(12 + 10 + 30) / 3] * 23 + [(13.5 + 10 + 30) / 3]
    day2 = [(12 + 16 + 30) / 3] * 24
    assert st["mean"] == round(sum(day1 + day2) / 48, 2)  # 18.34
    assert st["median"] == round(percentile(day1 + day2, 0.5), 2)
    assert st["p95"] == round(19 + 1 / 3, 2)
    assert st["n_stations"] == 3
    assert st["days_over_who"] == 2  # 17.35 and 19.33 > 15
    assert st["atmo_days"] == _days(moyen=2)


def test_stations_without_data_count_for_nothing() -> None:
    st = zone_statistics("pm2_5", hourly_series(), ["nobody"], START, END)
    assert st["n_stations"] == 0 and st["coverage"] == 0.0 and st["low_coverage"] is True
    assert st["mean"] is None and st["atmo_class"] is None and st["days_over_who"] == 0


def test_no2_uses_the_daily_maximum_for_the_atmo_class() -> None:
    series = {"s": {t: (100.0 if i == 3 else 20.0) for i, t in enumerate(HOURS[:24])}}
    st = zone_statistics("no2", series, ["s"], START, END)
    assert st["atmo_statistic"] == "max"
    assert st["atmo_days"]["degrade"] == 1  # max hourly 100 in ]90, 120]
    mean = (23 * 20 + 100) / 24  # 23.3 ≤ 25: not over the WHO 24-h level
    assert st["days_over_who"] == 0 and st["mean"] == round(mean, 2)


def test_quantities_without_reference_values() -> None:
    series = {"s": {HOURS[0]: 450.0}}
    st = zone_statistics("co2", series, ["s"], START, END)
    assert st["who_24h"] is None and st["days_over_who"] is None
    assert st["atmo_days"] is None and st["atmo_class"] is None and st["mean"] == 450.0


def test_humidity_corrected_pm_uses_the_pm_reference_values() -> None:
    st = zone_statistics("pm2_5_hcorr", hourly_series(), ["in-1"], START, END)
    assert st["who_24h"] == 15.0 and st["atmo_class"] == "moyen"


@pytest.mark.parametrize(
    "quantity, value, expected",
    [
        ("pm2_5", 10.0, "bon"),
        ("pm2_5", 10.01, "moyen"),
        ("pm2_5", 75.0, "tres_mauvais"),
        ("pm2_5", 75.1, "extremement_mauvais"),
        ("pm10", 40.0, "moyen"),
        ("pm10", 50.0, "degrade"),
        ("no2", 230.0, "mauvais"),
        ("pm2_5", 0.0, "bon"),
    ],
)
def test_atmo_boundaries_belong_to_the_lower_class(
    quantity: str, value: float, expected: str
) -> None:
    cls = atmo_class(quantity, value)
    assert cls is not None and cls.key == expected


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
    assert percentile([7.0], 0.95) == 7.0
