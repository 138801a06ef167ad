"""The overall ATMO index and the annual assessments, as functions (airq_core.indices)."""

from __future__ import annotations

import pytest

from airq_core.indices import (
    DayStat,
    annual_assessment,
    atmo_index,
    coverage_status,
    day_is_valid,
    sub_index,
    zone_atmo_index,
    zone_daily_means,
)
from airq_core.reference_values import annual_references, atmo_class


def full(mean: float, mx: float | None = None, hours: int = 24) -> DayStat:
    return DayStat(hours, 24, mean, mean if mx is None else mx)


def test_so2_thresholds_and_statistic_follow_the_arrete() -> None:
    assert atmo_class("so2", 100.0).key == "bon"  # type: ignore[union-attr]
    assert atmo_class("so2", 100.1).key == "moyen"  # type: ignore[union-attr]
    assert atmo_class("so2", 750.1).key == "extremement_mauvais"  # type: ignore[union-attr]
    s = sub_index("so2", full(10.0, 120.0))
    assert s is not None and s.statistic == "max" and s.atmo.key == "moyen"


def test_particles_use_the_daily_mean_and_gases_the_hourly_maximum() -> None:
    # PM10 mean 45 (dégradé) although its hourly maximum is 120; NO2 mean 30, max 95 (dégradé)
    pm = sub_index("pm10", full(45.0, 120.0))
    no2 = sub_index("no2", full(30.0, 95.0))
    assert pm is not None and pm.value == 45.0 and pm.atmo.key == "degrade"
    assert no2 is not None and no2.value == 95.0 and no2.atmo.key == "degrade"


def test_overall_index_is_the_worst_sub_index_and_names_its_driver() -> None:
    idx = atmo_index({"pm2_5": full(12.0), "pm10": full(55.0), "no2": full(20.0, 60.0)})
    assert idx.atmo is not None and idx.atmo.key == "mauvais"
    assert idx.drivers == ("pm10",)
    assert [s.atmo.key for s in idx.sub_indices] == ["moyen", "mauvais", "moyen"]
    assert idx.missing == ("o3", "so2")


def test_no2_drives_when_its_hourly_peak_is_the_worst() -> None:
    idx = atmo_index({"pm2_5": full(8.0), "pm10": full(15.0), "no2": full(50.0, 125.0)})
    assert idx.atmo is not None and idx.atmo.key == "mauvais" and idx.drivers == ("no2",)


def test_a_tie_gives_every_driver() -> None:
    idx = atmo_index({"pm2_5": full(15.0), "pm10": full(30.0)})
    assert idx.atmo is not None and idx.atmo.key == "moyen"
    assert idx.drivers == ("pm2_5", "pm10")


def test_a_bound_belongs_to_the_lower_class() -> None:
    idx = atmo_index({"pm10": full(40.0), "no2": full(1.0, 90.0)})
    assert idx.atmo is not None and idx.atmo.key == "moyen"


def test_an_incomplete_day_gives_no_sub_index_and_is_listed() -> None:
    # 17 of 24 hours: below 75 %; the worse PM10 is then left out
    idx = atmo_index({"pm2_5": full(12.0), "pm10": full(90.0, hours=17)})
    assert idx.atmo is not None and idx.atmo.key == "moyen" and idx.drivers == ("pm2_5",)
    assert idx.incomplete == ("pm10",)
    assert day_is_valid(DayStat(18, 24, 1, 1)) and not day_is_valid(DayStat(17, 24, 1, 1))
    # a 23-hour spring day needs 18 hours (ceil 17.25), a 25-hour autumn day 19 (ceil 18.75)
    assert not day_is_valid(DayStat(17, 23, 1, 1)) and day_is_valid(DayStat(18, 23, 1, 1))
    assert not day_is_valid(DayStat(18, 25, 1, 1)) and day_is_valid(DayStat(19, 25, 1, 1))


def test_no_valid_day_gives_no_index() -> None:
    idx = atmo_index({"pm2_5": full(12.0, hours=3)})
    assert idx.atmo is None and idx.drivers == () and idx.incomplete == ("pm2_5",)


def test_a_zone_takes_the_worst_station_per_pollutant() -> None:
    idx = zone_atmo_index(
        {
            "a": {"pm10": full(30.0), "no2": full(10.0, 100.0)},
            "b": {"pm10": full(45.0), "no2": full(10.0, 50.0)},
            "c": {"pm10": full(200.0, hours=5)},  # incomplete: ignored
        }
    )
    by_q = {s.quantity: s for s in idx.sub_indices}
    assert by_q["pm10"].station == "b" and by_q["pm10"].value == 45.0
    assert by_q["no2"].station == "a" and by_q["no2"].value == 100.0
    assert idx.atmo is not None and idx.atmo.key == "degrade"
    assert idx.drivers == ("pm10", "no2")


def test_zone_daily_means_average_the_valid_stations() -> None:
    means = zone_daily_means(
        {
            "a": {"2025-01-01": full(10.0), "2025-01-02": full(30.0, hours=2)},
            "b": {"2025-01-01": full(20.0), "2025-01-02": full(40.0)},
        }
    )
    assert means == {"2025-01-01": 15.0, "2025-01-02": 40.0}


def test_annual_references_are_who_2021_eu_2030_and_eu_2008() -> None:
    got = {r.key: v for r, v in annual_references("pm2_5")}
    assert got == {"who_2021": 5.0, "eu_2030": 10.0, "eu_2008": 25.0}
    assert {r.key: v for r, v in annual_references("no2")} == {
        "who_2021": 10.0,
        "eu_2030": 20.0,
        "eu_2008": 40.0,
    }
    assert {r.key: v for r, v in annual_references("pm10_hcorr")}["eu_2030"] == 20.0
    assert annual_references("co2") == []


def test_a_well_covered_year_is_compared() -> None:
    a = annual_assessment("pm2_5", [12.0] * 330, 365)
    assert a.coverage_status == "sufficient" and a.mean == pytest.approx(12.0)
    verdicts = {c.reference.key: c.exceeded for c in a.comparisons}
    assert verdicts == {"who_2021": True, "eu_2030": True, "eu_2008": False}


def test_a_poorly_covered_year_is_insufficient_not_compliant() -> None:
    a = annual_assessment("no2", [5.0] * 40, 365)  # 11 % of the days
    assert a.coverage_status == "insufficient" and a.mean == pytest.approx(5.0)
    assert all(c.exceeded is None for c in a.comparisons)


def test_coverage_statuses_follow_the_directive_figures() -> None:
    assert coverage_status(0.90) == "sufficient"
    assert coverage_status(0.8999) == "indicative"
    assert coverage_status(0.14) == "indicative"
    assert coverage_status(0.1399) == "insufficient"
    empty = annual_assessment("pm10", [], 366)
    assert empty.mean is None and empty.coverage == 0.0
    assert all(c.exceeded is None for c in empty.comparisons)
