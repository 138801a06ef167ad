"""The overall daily ATMO index and annual means against the WHO and EU references (pure).

Definitions (docs/qpv-dashboards.md, "Indice ATMO global et moyennes annuelles"):

* A **day** is a Europe/Paris civil day (23, 24 or 25 hours). Its statistics per pollutant come
  from the hourly means: ``hours`` with data, their ``mean`` and their maximum (``max``). A day
  is *valid* when at least ``min_day_coverage`` of its hours have data (75 %, 18 of 24 h).
* **Sub-index** (arrêté du 10 juillet 2020, annex I): the ATMO class of the daily mean for
  PM2.5 and PM10, of the maximum hourly mean for NO₂, O₃ and SO₂, on a valid day only.
* **Overall index** (art. 6): the worst sub-index of the day over the pollutants measured;
  ``drivers`` are the pollutants whose sub-index is that class (several on a tie).
* A **zone** (a QPV) takes, per pollutant, the worst station's statistic ("maximum des maxima
  horaires" of the arrêté for the gases; the same rule for particles here), then the same rule.
* **Annual mean**: the mean of the valid days' means of a calendar (Paris) year. ``coverage``:
  valid days / days of the year. ``sufficient`` at 90 % (the data capture the directives ask of
  fixed measurements), ``indicative`` from 14 % (the minimum time coverage of indicative
  measurements), else ``insufficient``: no comparison is then given, only the figures.

Everything computed from citizen sensors is *indicative*, never the official ATMO index (an
AASQA product for a whole zone) nor a regulatory assessment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from airq_core.reference_values import (
    ATMO_CLASSES,
    ATMO_POLLUTANTS,
    MIN_CAPTURE_FIXED,
    MIN_TIME_COVERAGE_INDICATIVE,
    AnnualReference,
    AtmoClass,
    annual_references,
    atmo_class,
    daily_statistic,
)

__all__ = [
    "COVERAGE_LABELS",
    "INDICATIVE_EN",
    "INDICATIVE_FR",
    "AnnualAssessment",
    "AtmoIndex",
    "Comparison",
    "DayStat",
    "SubIndex",
    "annual_assessment",
    "atmo_index",
    "coverage_status",
    "day_is_valid",
    "sub_index",
    "zone_atmo_index",
    "zone_daily_means",
]

INDICATIVE_FR = (
    "indicatif : calculé sur des capteurs citoyens, ce n'est pas l'indice ATMO officiel "
    "ni une évaluation réglementaire"
)
INDICATIVE_EN = (
    "indicative: computed from citizen sensors, not the official ATMO index nor a regulatory "
    "assessment"
)
COVERAGE_LABELS: dict[str, tuple[str, str]] = {
    "sufficient": (
        "couverture suffisante (≥ 90 % des jours)",
        "sufficient coverage (≥ 90 % of days)",
    ),
    "indicative": (
        "couverture de mesure indicative (≥ 14 % des jours, < 90 %)",
        "indicative-measurement coverage (≥ 14 % of days, < 90 %)",
    ),
    "insufficient": (
        "couverture insuffisante (< 14 % des jours) : pas de comparaison",
        "insufficient coverage (< 14 % of days): no comparison",
    ),
}
_RANK = {c.key: i for i, c in enumerate(ATMO_CLASSES)}


@dataclass(frozen=True, slots=True)
class DayStat:
    """One pollutant on one Paris day at one place, from its hourly means: ``hours`` with
    data, of ``day_hours`` (23, 24 or 25), their ``mean`` and their maximum ``max``."""

    hours: int
    day_hours: int
    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class SubIndex:
    quantity: str
    statistic: str  # "mean" or "max" (of the hourly means)
    value: float
    atmo: AtmoClass
    hours: int
    station: str | None = None  # in a zone: the station that gives the value


@dataclass(frozen=True, slots=True)
class AtmoIndex:
    """The overall index of a day (None when no pollutant has a valid day)."""

    atmo: AtmoClass | None
    drivers: tuple[str, ...]
    sub_indices: tuple[SubIndex, ...]
    incomplete: tuple[str, ...]  # pollutants with data, but too few hours that day
    missing: tuple[str, ...]  # ATMO pollutants without any data that day


def day_is_valid(day: DayStat, min_day_coverage: float = 0.75) -> bool:
    """At least ``min_day_coverage`` of the day's hours have data (18 of 24 at 75 %)."""
    return day.hours >= math.ceil(min_day_coverage * day.day_hours - 1e-9)


def sub_index(
    quantity: str, day: DayStat, min_day_coverage: float = 0.75, station: str | None = None
) -> SubIndex | None:
    """The ATMO sub-index of one pollutant's day, or None (invalid day, or no thresholds)."""
    if not day_is_valid(day, min_day_coverage):
        return None
    stat = daily_statistic(quantity)
    value = day.mean if stat == "mean" else day.max
    cls = atmo_class(quantity, value)
    if cls is None:
        return None
    return SubIndex(quantity, stat, value, cls, day.hours, station)


def _overall(
    subs: list[SubIndex], days: Iterable[tuple[str, bool]], measured: set[str]
) -> AtmoIndex:
    present = {s.quantity for s in subs}
    incomplete = tuple(q for q, has_data in days if has_data and q not in present)
    missing = tuple(q for q in ATMO_POLLUTANTS if q not in measured)
    if not subs:
        return AtmoIndex(None, (), (), incomplete, missing)
    worst = max(_RANK[s.atmo.key] for s in subs)
    drivers = tuple(s.quantity for s in subs if _RANK[s.atmo.key] == worst)
    return AtmoIndex(ATMO_CLASSES[worst], drivers, tuple(subs), incomplete, missing)


def atmo_index(days: Mapping[str, DayStat], min_day_coverage: float = 0.75) -> AtmoIndex:
    """The overall index of one station's day: ``days`` maps pollutants to their day (other
    quantities are ignored)."""
    subs = []
    for q in ATMO_POLLUTANTS:
        d = days.get(q)
        s = sub_index(q, d, min_day_coverage) if d is not None else None
        if s is not None:
            subs.append(s)
    measured = {q for q in ATMO_POLLUTANTS if q in days and days[q].hours > 0}
    return _overall(subs, ((q, q in measured) for q in ATMO_POLLUTANTS), measured)


def zone_atmo_index(
    stations: Mapping[str, Mapping[str, DayStat]], min_day_coverage: float = 0.75
) -> AtmoIndex:
    """The overall index of a zone's day: per pollutant the worst valid station's sub-index
    value (ties: the first station id), then the worst sub-index."""
    subs = []
    measured: set[str] = set()
    for q in ATMO_POLLUTANTS:
        best: SubIndex | None = None
        for sid in sorted(stations):
            d = stations[sid].get(q)
            if d is None:
                continue
            if d.hours > 0:
                measured.add(q)
            s = sub_index(q, d, min_day_coverage, sid)
            if s is not None and (best is None or s.value > best.value):
                best = s
        if best is not None:
            subs.append(best)
    return _overall(subs, ((q, q in measured) for q in ATMO_POLLUTANTS), measured)


def zone_daily_means(
    stations: Mapping[str, Mapping[str, DayStat]], min_day_coverage: float = 0.75
) -> dict[str, float]:
    """A zone's daily means of one pollutant: ``stations`` maps station -> day -> DayStat; a
    zone day is valid when one of its stations has a valid day; its mean is the mean of the
    valid stations' daily means (each station weighs the same)."""
    acc: dict[str, list[float]] = {}
    for days in stations.values():
        for day, d in days.items():
            if day_is_valid(d, min_day_coverage):
                acc.setdefault(day, []).append(d.mean)
    return {day: math.fsum(vs) / len(vs) for day, vs in sorted(acc.items())}


@dataclass(frozen=True, slots=True)
class Comparison:
    reference: AnnualReference
    value: float
    exceeded: bool | None  # None: coverage insufficient, or no mean


@dataclass(frozen=True, slots=True)
class AnnualAssessment:
    quantity: str
    mean: float | None
    days_valid: int
    days_in_year: int
    coverage: float
    coverage_status: str  # "sufficient", "indicative" or "insufficient"
    comparisons: tuple[Comparison, ...]


def coverage_status(coverage: float) -> str:
    if coverage >= MIN_CAPTURE_FIXED:
        return "sufficient"
    if coverage >= MIN_TIME_COVERAGE_INDICATIVE:
        return "indicative"
    return "insufficient"


def annual_assessment(
    quantity: str, daily_means: Iterable[float], days_in_year: int
) -> AnnualAssessment:
    """The annual mean of the valid days' means and its comparison with every annual
    reference of the quantity; no verdict (``exceeded`` None) below the 14 % coverage."""
    values = list(daily_means)
    mean = math.fsum(values) / len(values) if values else None
    coverage = len(values) / days_in_year if days_in_year else 0.0
    status = coverage_status(coverage)
    judged = mean is not None and status != "insufficient"
    comparisons = tuple(
        Comparison(ref, v, (mean > v) if judged and mean is not None else None)
        for ref, v in annual_references(quantity)
    )
    return AnnualAssessment(
        quantity, mean, len(values), days_in_year, coverage, status, comparisons
    )
