"""Indices a council report quotes: the overall daily ATMO index (the worst sub-index of the
day, with the pollutant that drives it) and annual means against the WHO 2021 guidelines and
the EU limit values, per station and per QPV. Every answer is labelled *indicatif* (citizen
sensors: never the official ATMO index nor a regulatory assessment). Definitions in
``airq_core.indices``; daily statistics from the hourly aggregates (``api.daily_stats``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core.indices import (
    COVERAGE_LABELS,
    INDICATIVE_EN,
    INDICATIVE_FR,
    AnnualAssessment,
    AtmoIndex,
    DayStat,
    annual_assessment,
    atmo_index,
    day_is_valid,
    zone_atmo_index,
    zone_daily_means,
)
from airq_core.reference_values import ATMO_POLLUTANTS
from airq_core.wire import STATION_ID_RE
from api.access import OPTIONAL_AUTH, Viewer, ViewerDep, access_responses, read_public_spans
from api.daily_stats import PARIS, DailyStats, build_daily_query, paris_midnight, parse_daily
from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.influx import InfluxReader
from api.problems import problem_responses
from api.qpv.selector import qpv_intervals
from api.registry import Station
from api.routes.qpv import QpvDep

router = APIRouter(
    tags=["indices"],
    responses=problem_responses(429, 503),
)

ANNUAL_QUANTITIES = ("pm2_5", "pm10", "no2")
HOUR = 3600
FIRST_YEAR, LAST_YEAR = 1970, 2200  # the calendar a stored aggregate can be in
StationPath = Annotated[
    str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")
]
QpvPath = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9]+$")]
DayQ = Annotated[
    date | None,
    Query(description="jour civil (heure de Paris), AAAA-MM-JJ ; par défaut hier. "
          "*Paris civil day; default yesterday.*"),
]  # fmt: skip
YearQ = Annotated[
    int | None,
    Query(ge=FIRST_YEAR, le=LAST_YEAR, description="année civile ; par défaut l'année "
          "précédente. *Calendar year; default the previous one.*"),
]  # fmt: skip


class Label(BaseModel):
    fr: str
    en: str


INDICATIF = Label(fr=INDICATIVE_FR, en=INDICATIVE_EN)


class SubIndexOut(BaseModel):
    quantity: str = Field(examples=["pm10"])
    statistic: str = Field(description="mean: daily mean; max: maximum hourly mean")
    value: float = Field(description="µg/m³")
    atmo_class: str = Field(examples=["degrade"])
    label: Label
    colour: str
    hours: int = Field(description="hours with data that day")
    station: str | None = Field(default=None, description="for a QPV: the worst station")


class AtmoIndexOut(BaseModel):
    atmo_class: str | None = Field(description="worst sub-index; null: no valid day")
    label: Label | None
    colour: str | None
    drivers: list[str] = Field(description="pollutants whose sub-index is the index")
    sub_indices: list[SubIndexOut]
    incomplete: list[str] = Field(description="pollutants with data but < 75 % of the hours")
    missing: list[str] = Field(description="ATMO pollutants not measured that day")


class StationAtmo(AtmoIndexOut):
    station: str


class AtmoAnswer(BaseModel):
    """Indice ATMO global d'un jour (indicatif). *Overall daily ATMO index (indicative).*"""

    indicatif: Label
    day: str = Field(examples=["2025-01-15"])
    timezone: str = "Europe/Paris"
    station: str | None = None
    qpv: str | None = None
    name: str | None = None
    stations: list[str] = Field(description="stations used")
    index: AtmoIndexOut
    per_station: list[StationAtmo] = Field(description="for a QPV: each station's own index")
    method: Label


class ComparisonOut(BaseModel):
    reference: str = Field(examples=["eu_2030"])
    source: str
    kind: str = Field(description="guideline (WHO) or limit (EU)")
    label: Label
    value: float = Field(description="annual reference, µg/m³")
    exceeded: bool | None = Field(description="null: coverage insufficient or no data")


class AnnualOut(BaseModel):
    quantity: str
    mean: float | None = Field(description="mean of the valid days' means, µg/m³")
    days_valid: int
    days_in_year: int
    coverage: float = Field(description="valid days / days of the year")
    coverage_status: str = Field(description="sufficient, indicative or insufficient")
    coverage_label: Label
    comparisons: list[ComparisonOut]


class AnnualAnswer(BaseModel):
    """Moyennes annuelles et valeurs de référence (indicatif). *Annual means (indicative).*"""

    indicatif: Label
    year: int
    station: str | None = None
    qpv: str | None = None
    name: str | None = None
    stations: list[str]
    year_complete: bool = Field(description="false while the year is not over")
    quantities: list[AnnualOut]
    method: Label


ATMO_METHOD = Label(
    fr="Sous-indices (arrêté du 10 juillet 2020) : moyenne journalière pour PM2,5 et PM10, "
    "maximum des moyennes horaires pour NO₂, O₃ et SO₂, sur les jours avec au moins 75 % des "
    "heures ; indice = le plus mauvais sous-indice. Pour un QPV : par polluant, la station la "
    "plus exposée du quartier.",
    en="Sub-indices (arrêté of 10 July 2020): daily mean for PM2.5 and PM10, maximum hourly "
    "mean for NO2, O3 and SO2, on days with at least 75 % of the hours; index = the worst "
    "sub-index. For a QPV: per pollutant, the most exposed station inside it.",
)
ANNUAL_METHOD = Label(
    fr="Moyenne des moyennes journalières des jours valides (≥ 75 % des heures) de l'année "
    "civile ; comparaison aux valeurs guides OMS 2021 et aux valeurs limites UE (2008/50/CE, "
    "2024/2881 pour 2030) seulement si la couverture atteint 14 % des jours. Pour un QPV : "
    "chaque jour, moyenne des stations du quartier.",
    en="Mean of the daily means of the valid days (≥ 75 % of the hours) of the calendar year; "
    "compared with the WHO 2021 guidelines and the EU limit values (2008/50/EC, 2024/2881 for "
    "2030) only when coverage reaches 14 % of the days. For a QPV: each day, the mean of its "
    "stations.",
)


def _index_out(idx: AtmoIndex) -> AtmoIndexOut:
    return AtmoIndexOut(
        atmo_class=idx.atmo.key if idx.atmo else None,
        label=Label(fr=idx.atmo.label_fr, en=idx.atmo.label_en) if idx.atmo else None,
        colour=idx.atmo.colour if idx.atmo else None,
        drivers=list(idx.drivers),
        sub_indices=[
            SubIndexOut(
                quantity=s.quantity,
                statistic=s.statistic,
                value=round(s.value, 2),
                atmo_class=s.atmo.key,
                label=Label(fr=s.atmo.label_fr, en=s.atmo.label_en),
                colour=s.atmo.colour,
                hours=s.hours,
                station=s.station,
            )
            for s in idx.sub_indices
        ],
        incomplete=list(idx.incomplete),
        missing=list(idx.missing),
    )


def _annual_out(a: AnnualAssessment) -> AnnualOut:
    fr, en = COVERAGE_LABELS[a.coverage_status]
    return AnnualOut(
        quantity=a.quantity,
        mean=None if a.mean is None else round(a.mean, 2),
        days_valid=a.days_valid,
        days_in_year=a.days_in_year,
        coverage=round(a.coverage, 3),
        coverage_status=a.coverage_status,
        coverage_label=Label(fr=fr, en=en),
        comparisons=[
            ComparisonOut(
                reference=c.reference.key,
                source=c.reference.source,
                kind=c.reference.kind,
                label=Label(fr=c.reference.label_fr, en=c.reference.label_en),
                value=c.value,
                exceeded=c.exceeded,
            )
            for c in a.comparisons
        ],
    )


async def fetch_daily(
    influx: InfluxReader,
    quantities: tuple[str, ...],
    stations: list[str],
    first: date,
    last: date,
    min_coverage: float,
    spans: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> DailyStats:
    """Per-day statistics of ``stations`` for the Paris days ``first``..``last``, from the
    hourly windows whose coverage reaches ``min_coverage`` (see api.daily_stats). A station
    in ``spans`` counts only the whole hours within its spans (epoch seconds: the times it
    was in the place asked about); the others count every hour."""
    if not stations or not FIRST_YEAR <= first.year <= last.year <= LAST_YEAR:
        return {}
    start, end = paris_midnight(first), paris_midnight(last + timedelta(days=1))
    spans = spans or {}
    whole = [sid for sid in stations if sid not in spans]
    out: DailyStats = {}
    for i in range(0, len(whole), 200):  # keep the regex of one statement short
        q = build_daily_query(quantities, whole[i : i + 200], start, end, min_coverage)
        out.update(parse_daily(await influx.query(q), quantities))
    for sid in stations:
        for a, b in spans.get(sid, ()):
            # whole hours only: the hour in which a station was moved counts for neither place
            t0 = math.ceil(max(a, start) / HOUR) * HOUR
            t1 = math.floor(min(b, end) / HOUR) * HOUR
            if t0 < t1:
                q = build_daily_query(quantities, [sid], t0, t1, min_coverage)
                _add_days(out, parse_daily(await influx.query(q), quantities))
    return out


def _add_days(out: DailyStats, more: DailyStats) -> None:
    """Days of ``more`` into ``out``; a day in both (a station there twice that day, at
    disjoint hours) sums its hours, weighs its means by them and keeps the larger maximum."""
    for sid, per_q in more.items():
        for q, days in per_q.items():
            have = out.setdefault(sid, {}).setdefault(q, {})
            for day, d in days.items():
                old = have.get(day)
                if old is None:
                    have[day] = d
                    continue
                hours = old.hours + d.hours
                mean = (old.mean * old.hours + d.mean * d.hours) / hours
                have[day] = DayStat(hours, d.day_hours, mean, max(old.max, d.max))


async def _station(registry: RegistryDep, station_id: str, viewer: Viewer) -> Station:
    st = await run_in_threadpool(registry.get, station_id)
    if st is None or not STATION_ID_RE.fullmatch(station_id) or not viewer.sees(st):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    return st


async def _public_days(
    registry: RegistryDep, viewer: Viewer, st: Station, stats: DailyStats, first: date, last: date
) -> DailyStats:
    """``stats`` without the Paris days ``viewer`` may not read whole (the station stood
    indoors during part of them: ``api.access``)."""
    if viewer.sees_all_of(st.id):
        return stats
    start_ms = int(paris_midnight(first) * 1000)
    end_ms = int(paris_midnight(last + timedelta(days=1)) * 1000)
    spans = (await run_in_threadpool(read_public_spans, registry, [st], start_ms, end_ms)).get(
        st.id, ()
    )

    def public(day: str) -> bool:
        d = date.fromisoformat(day)
        a = paris_midnight(d) * 1000
        b = paris_midnight(d + timedelta(days=1)) * 1000
        return any(s <= a and b <= e for s, e in spans)

    return {
        sid: {q: {d: v for d, v in days.items() if public(d)} for q, days in per.items()}
        for sid, per in stats.items()
    }


async def _qpv(
    svc: QpvDep, registry: RegistryDep, code: str, first: date, last: date
) -> tuple[str, str, list[str], dict[str, list[tuple[float, float]]]]:
    """(code, name, ids of the stations whose outdoor placement was inside the QPV during the
    Paris days ``first``..``last``, the times each was: only the stations moved into or out
    of it then) or 404. As the exposure routes: a reading counts for where the station was
    when it was taken, never where it is now."""
    layer = await run_in_threadpool(svc.layer)
    area = layer.by_code.get(code.strip().upper())
    if area is None:
        raise HTTPException(404, f"unknown QPV {code[:20]!r} in {layer.source}")
    start, end = paris_midnight(first), paris_midnight(last + timedelta(days=1))
    rows = await run_in_threadpool(registry.list, True)
    found = await run_in_threadpool(qpv_intervals, svc, registry, area.code, rows, start, end)
    partial = {sid: iv for sid, iv in found.items() if _merged(iv) != [(start, end)]}
    return area.code, area.name, sorted(found), partial


def _merged(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _yesterday() -> date:
    return datetime.now(PARIS).date() - timedelta(days=1)


def _day_of(stats: DailyStats, sid: str, day: str) -> dict[str, DayStat]:
    return {q: d[day] for q, d in stats.get(sid, {}).items() if day in d}


_ATMO_RESPONSES = problem_responses(404, what={404: "unknown station or QPV"})
_STATION_RESPONSES = access_responses()


@router.get(
    "/v1/indices/atmo/stations/{station_id}",
    openapi_extra=OPTIONAL_AUTH,
    responses=_STATION_RESPONSES,
)
async def station_atmo_index(
    station_id: StationPath,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    day: DayQ = None,
) -> AtmoAnswer:
    """Indice ATMO global d'un jour pour une station (indicatif) : le plus mauvais sous-indice
    et le polluant qui le détermine. *Overall daily ATMO index of one station (indicative):
    the worst sub-index and the pollutant driving it.*"""
    st = await _station(registry, station_id, viewer)
    sid = st.id
    d = day or _yesterday()
    stats = await fetch_daily(
        influx, ATMO_POLLUTANTS, [sid], d, d, settings.qpv_min_window_coverage
    )
    stats = await _public_days(registry, viewer, st, stats, d, d)
    idx = atmo_index(_day_of(stats, sid, d.isoformat()))
    return AtmoAnswer(
        indicatif=INDICATIF,
        day=d.isoformat(),
        station=sid,
        stations=[sid],
        index=_index_out(idx),
        per_station=[],
        method=ATMO_METHOD,
    )


@router.get("/v1/indices/atmo/qpv/{code}", responses=_ATMO_RESPONSES)
async def qpv_atmo_index(
    code: QpvPath,
    svc: QpvDep,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    day: DayQ = None,
) -> AtmoAnswer:
    """Indice ATMO global d'un jour dans un QPV (indicatif), d'après les stations situées dans
    le quartier. *Overall daily ATMO index inside one QPV (indicative), from its stations.*"""
    d = day or _yesterday()
    qcode, name, ids, spans = await _qpv(svc, registry, code, d, d)
    stats = await fetch_daily(
        influx, ATMO_POLLUTANTS, ids, d, d, settings.qpv_min_window_coverage, spans
    )
    per = {sid: _day_of(stats, sid, d.isoformat()) for sid in ids}
    per_station = [
        StationAtmo(station=sid, **_index_out(atmo_index(days)).model_dump())
        for sid, days in per.items()
    ]
    return AtmoAnswer(
        indicatif=INDICATIF,
        day=d.isoformat(),
        qpv=qcode,
        name=name,
        stations=ids,
        index=_index_out(zone_atmo_index(per)),
        per_station=per_station,
        method=ATMO_METHOD,
    )


def _year(year: int | None) -> tuple[int, date, date, bool]:
    today = datetime.now(PARIS).date()
    y = year if year is not None else today.year - 1
    return y, date(y, 1, 1), date(y, 12, 31), date(y, 12, 31) < today


def _days_in(y: int) -> int:
    return (date(y + 1, 1, 1) - date(y, 1, 1)).days if y < 9999 else 365


@router.get(
    "/v1/indices/annual/stations/{station_id}",
    openapi_extra=OPTIONAL_AUTH,
    responses=_STATION_RESPONSES,
)
async def station_annual(
    station_id: StationPath,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    year: YearQ = None,
) -> AnnualAnswer:
    """Moyennes annuelles d'une station comparées aux valeurs guides OMS 2021 et aux valeurs
    limites UE, avec la couverture (indicatif). *Annual means of one station against the WHO
    2021 guidelines and the EU limit values, with coverage (indicative).*"""
    st = await _station(registry, station_id, viewer)
    sid = st.id
    y, first, last, complete = _year(year)
    stats = await fetch_daily(
        influx, ANNUAL_QUANTITIES, [sid], first, last, settings.qpv_min_window_coverage
    )
    stats = await _public_days(registry, viewer, st, stats, first, last)
    out = []
    for q in ANNUAL_QUANTITIES:
        days = stats.get(sid, {}).get(q, {})
        means = [d.mean for d in days.values() if day_is_valid(d)]
        out.append(_annual_out(annual_assessment(q, means, _days_in(y))))
    return AnnualAnswer(
        indicatif=INDICATIF,
        year=y,
        station=sid,
        stations=[sid],
        year_complete=complete,
        quantities=out,
        method=ANNUAL_METHOD,
    )


@router.get("/v1/indices/annual/qpv/{code}", responses=_ATMO_RESPONSES)
async def qpv_annual(
    code: QpvPath,
    svc: QpvDep,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    year: YearQ = None,
) -> AnnualAnswer:
    """Moyennes annuelles dans un QPV comparées aux valeurs guides OMS 2021 et aux valeurs
    limites UE, avec la couverture (indicatif). *Annual means inside one QPV against the WHO
    2021 guidelines and the EU limit values, with coverage (indicative).*"""
    y, first, last, complete = _year(year)
    qcode, name, ids, spans = await _qpv(svc, registry, code, first, last)
    stats = await fetch_daily(
        influx, ANNUAL_QUANTITIES, ids, first, last, settings.qpv_min_window_coverage, spans
    )
    out = []
    for q in ANNUAL_QUANTITIES:
        means = zone_daily_means({sid: stats.get(sid, {}).get(q, {}) for sid in ids})
        out.append(_annual_out(annual_assessment(q, means.values(), _days_in(y))))
    return AnnualAnswer(
        indicatif=INDICATIF,
        year=y,
        qpv=qcode,
        name=name,
        stations=ids,
        year_complete=complete,
        quantities=out,
        method=ANNUAL_METHOD,
    )
