"""Exposure statistics of a zone over a period, from hourly aggregates (pure).

Definitions (docs/qpv-dashboards.md explains them for readers):

* Input: for each station, its hourly means (``{hour start, Unix s: value}``), hours whose
  aggregate ``count`` is 0 being absent.
* Zone hourly value: the mean of the hourly means of the zone's stations that have data that
  hour (each station weighs the same).
* ``mean``, ``median``, ``p95``: over the zone's hourly values in the period (p95 by linear
  interpolation between closest ranks, as numpy's default).
* ``coverage``: hours with a zone value / hours in the period; ``low_coverage`` when below
  ``min_coverage`` (the figures are still given, marked).
* Daily values, on Europe/Paris civil days: a day is *valid* when at least ``min_day_coverage``
  of its hours have data (75 %, i.e. 18 of 24 h, as for regulatory daily means). Its value is
  the mean of its hourly values, and, for the ATMO-like class, the statistic the ATMO sub-index
  uses (daily mean for particles, maximum hourly mean for NO₂/O₃).
* ``days_over_who``: valid days whose daily mean is strictly above the WHO 2021 24-h guideline.
* ``atmo_days``: number of valid days in each ATMO class (upper bound inclusive).
* ``atmo_class``: the class of the mean of the valid days' ATMO statistic — indicative only.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from airq_core.reference_values import ATMO_CLASSES, atmo_class, daily_statistic, who_24h

HOUR = 3600
PARIS = ZoneInfo("Europe/Paris")

HourlySeries = Mapping[int, float]  # hour start (Unix s, UTC) -> hourly mean


class DayValues(TypedDict):
    """One Paris day of a zone or station: hours with data, validity, mean and maximum of
    its hourly values."""

    hours: int
    valid: bool
    mean: float
    max: float


class StationCoverage(TypedDict):
    id: str
    hours_with_data: int
    coverage: float | None


def day_value(day: DayValues, stat: str) -> float:
    """The ``stat`` of a day: ``"mean"`` or ``"max"``, as ``daily_statistic`` names them."""
    if stat == "mean":
        return day["mean"]
    if stat == "max":
        return day["max"]
    raise ValueError(f"unknown daily statistic {stat!r}")


def hour_bounds(start: float, end: float) -> tuple[int, int]:
    """The whole hours covering [start, end): start floored, end ceiled."""
    return int(start // HOUR * HOUR), int(math.ceil(end / HOUR) * HOUR)


def zone_hourly(series: Mapping[str, HourlySeries], stations: Iterable[str]) -> dict[int, float]:
    sums: dict[int, list[float]] = {}
    for sid in stations:
        for t, v in series.get(sid, {}).items():
            sums.setdefault(t, []).append(v)
    return {t: math.fsum(vs) / len(vs) for t, vs in sums.items()}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@functools.lru_cache(maxsize=16_384)  # hours repeat across stations: a map rebuild asks the
def _local_day(t: int) -> str:  # same few hundred for each of 13 000 stations
    return datetime.fromtimestamp(t, PARIS).date().isoformat()


@functools.lru_cache(maxsize=64)
def days_in_period(t0: int, t1: int) -> int:
    """Paris civil days touched by the hours [t0, t1)."""
    return len({_local_day(t) for t in range(t0, t1, HOUR)})


def _day_length_hours(day: str) -> int:
    d = datetime.fromisoformat(day).replace(tzinfo=PARIS)
    nxt = (d + timedelta(days=1)).replace(tzinfo=PARIS)
    return round((nxt.astimezone(UTC) - d.astimezone(UTC)).total_seconds() / HOUR)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def daily_values(hourly: Mapping[int, float], min_day_coverage: float) -> dict[str, DayValues]:
    """Paris day -> {hours, valid, mean, max} from a zone's hourly values."""
    by_day: dict[str, list[float]] = {}
    for t, v in hourly.items():
        by_day.setdefault(_local_day(t), []).append(v)
    out: dict[str, DayValues] = {}
    for day, vs in sorted(by_day.items()):
        need = math.ceil(min_day_coverage * _day_length_hours(day) - 1e-9)
        out[day] = {
            "hours": len(vs),
            "valid": len(vs) >= need,
            "mean": math.fsum(vs) / len(vs),
            "max": max(vs),
        }
    return out


def zone_statistics(
    quantity: str,
    series: Mapping[str, HourlySeries],
    stations: Iterable[str],
    start: float,
    end: float,
    min_coverage: float = 0.75,
    min_day_coverage: float = 0.75,
) -> dict[str, Any]:
    """Statistics of one zone (see the module docstring). ``series`` may hold other stations."""
    t0, t1 = hour_bounds(start, end)
    stations = sorted(set(stations))
    hours_total = (t1 - t0) // HOUR
    clipped = {
        sid: {t: v for t, v in series.get(sid, {}).items() if t0 <= t < t1} for sid in stations
    }
    per_station: list[StationCoverage] = [
        {
            "id": sid,
            "hours_with_data": len(clipped[sid]),
            "coverage": _r(len(clipped[sid]) / hours_total, 3),
        }
        for sid in stations
    ]
    hourly = zone_hourly(clipped, stations)
    values = list(hourly.values())
    coverage = len(hourly) / hours_total if hours_total else 0.0
    days_total = days_in_period(t0, t1)
    days = daily_values(hourly, min_day_coverage)
    valid = [d for d in days.values() if d["valid"]]
    who = who_24h(quantity)
    stat = daily_statistic(quantity)
    atmo_days: dict[str, int] | None = None
    period_class = None
    if atmo_class(quantity, 0.0) is not None:
        atmo_days = {c.key: 0 for c in ATMO_CLASSES}
        for d in valid:
            cls = atmo_class(quantity, day_value(d, stat))
            assert cls is not None
            atmo_days[cls.key] += 1
        if valid:
            mean_stat = math.fsum(day_value(d, stat) for d in valid) / len(valid)
            period_class = atmo_class(quantity, mean_stat)
    return {
        "stations": per_station,
        "n_stations": sum(1 for s in per_station if s["hours_with_data"] > 0),
        "hours_total": hours_total,
        "hours_with_data": len(hourly),
        "coverage": _r(coverage, 3),
        "low_coverage": coverage < min_coverage,
        "mean": _r(statistics.fmean(values)) if values else None,
        "median": _r(statistics.median(values)) if values else None,
        "p95": _r(percentile(values, 0.95)) if values else None,
        "days_total": days_total,
        "days_valid": len(valid),
        "who_24h": who,
        "days_over_who": None if who is None else sum(1 for d in valid if d["mean"] > who),
        "atmo_statistic": stat if atmo_days is not None else None,
        "atmo_days": atmo_days,
        "atmo_class": period_class.key if period_class else None,
    }
