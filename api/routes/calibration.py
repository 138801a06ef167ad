"""Calibration routes: fitted corrections with their provenance, co-located station/reference
pairs, and one station's raw, EPA-corrected and calibrated series side by side
(docs/calibration.md)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core.calibration import (
    DEFAULT_MAX_DISTANCE_M,
    EPA_METHOD,
    FIT_METHOD,
    apply_fit,
    colocated,
    epa_correct,
)
from airq_core.readings import format_time
from airq_core.wire import STATION_ID_RE
from api.access import OPTIONAL_AUTH, ViewerDep, access_responses, read_public_spans
from api.calibration_data import StationHours, fetch_station_hours
from api.calibration_store import CalibrationRecord, CalibrationStore
from api.deps import InfluxDep, RegistryDep, parse_time_param
from api.problems import problem_responses
from api.registry import Registry
from api.spans import Spans

router = APIRouter(tags=["calibration"], responses=problem_responses(429, 503))

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_SPAN_DAYS = 366
DEFAULT_SPAN_DAYS = 7

METHODS = {
    "raw": (
        "raw",
        "valeurs brutes du capteur (moyennes horaires)",
        "the sensor's raw values (hourly means)",
    ),
    "epa_corrected": (
        EPA_METHOD,
        "correction générique de l'EPA (PurpleAir, 2021) avec terme d'humidité, sans "
        "ajustement local ; établie pour les capteurs Plantower : indicative pour les autres",
        "US EPA generic PurpleAir correction (2021) with a humidity term, no local fit; "
        "established for Plantower sensors: indicative for others",
    ),
    "calibrated": (
        FIT_METHOD,
        "étalonnage local : moindres carrés sur les heures co-localisées avec une station "
        "de référence (voir la provenance)",
        "local calibration: least squares on hours co-located with a reference station "
        "(see the provenance)",
    ),
}


class CalibrationPublic(BaseModel):
    """A fitted correction ``ref = a·raw + b·RH + c`` and where it comes from."""

    id: int
    scope: Literal["station", "model"] = Field(
        description="fitted for one station, or for every co-located station of a model"
    )
    station: str | None
    sensor: str = Field(examples=["sds011"])
    quantity: str = Field(examples=["pm2_5"])
    method: str = Field(examples=[FIT_METHOD])
    formula: str = Field(examples=["pm2_5 = 0.61·raw − 0.07·RH + 1.3"])
    a: float
    b: float
    c: float
    reference_site: str = Field(examples=["FR28010"])
    stations_used: list[str]
    max_distance_m: float
    period_start: datetime
    period_end: datetime
    n_pairs: int = Field(description="co-located hourly pairs the fit used")
    r2: float = Field(description="coefficient of determination on those pairs")
    rmse: float = Field(description="root-mean-square error on those pairs, µg/m³")
    raw_range: tuple[float, float] = Field(description="raw values the fit covers, µg/m³")
    rh_range: tuple[float, float] = Field(description="relative humidity it covers, %")
    created_at: datetime


class CalibrationList(BaseModel):
    calibrations: list[CalibrationPublic]


class ColocatedPair(BaseModel):
    station: str
    reference_site: str
    site_name: str
    distance_m: float = Field(description="rounded to 10 m")


class ColocatedList(BaseModel):
    max_distance_m: float
    pairs: list[ColocatedPair]


class SeriesPoint(BaseModel):
    time: str = Field(description="window start, RFC 3339 UTC")
    value: float | None
    flags: list[str] = Field(
        default_factory=list,
        description="no_humidity (no RH that hour: no correction), extrapolated (outside "
        "the raw or humidity range of the fit)",
    )


class LabelledSeries(BaseModel):
    name: Literal["raw", "epa_corrected", "calibrated"]
    method: str
    label: str = Field(description="what the series is, in French")
    label_en: str
    points: list[SeriesPoint]


class CalibratedSeries(BaseModel):
    station: str
    sensor: str
    quantity: Literal["pm2_5"]
    unit: Literal["µg/m³"] = "µg/m³"
    every: Literal["1h", "1d"]
    start: str
    end: str
    series: list[LabelledSeries]
    calibration: CalibrationPublic


def _public(r: CalibrationRecord) -> CalibrationPublic:
    f = r.fit
    sign = "−" if f.b < 0 else "+"
    csign = "−" if f.c < 0 else "+"
    formula = f"{r.quantity} = {f.a:.3f}·raw {sign} {abs(f.b):.4f}·RH {csign} {abs(f.c):.2f}"
    return CalibrationPublic(
        id=r.id,
        scope="station" if r.scope == "station" else "model",
        station=r.station,
        sensor=r.sensor,
        quantity=r.quantity,
        method=r.method,
        formula=formula,
        a=f.a,
        b=f.b,
        c=f.c,
        reference_site=r.site,
        stations_used=r.stations_used,
        max_distance_m=r.max_distance_m,
        period_start=r.period_start,
        period_end=r.period_end,
        n_pairs=f.n,
        r2=round(f.r2, 4),
        rmse=round(f.rmse, 3),
        raw_range=(f.raw_min, f.raw_max),
        rh_range=(f.rh_min, f.rh_max),
        created_at=r.created_at,
    )


async def _store(request: Request, registry: Registry) -> CalibrationStore:
    store: CalibrationStore | None = getattr(request.app.state, "calibration_store", None)
    if store is None:
        # tables created on first use, on the registry's own database
        store = await run_in_threadpool(CalibrationStore, registry.engine)
        request.app.state.calibration_store = store
    return store


@router.get("/v1/calibrations", response_model=CalibrationList)
async def list_calibrations(request: Request, registry: RegistryDep) -> CalibrationList:
    """Every fitted correction, newest first, with its provenance."""
    store = await _store(request, registry)
    records = await run_in_threadpool(store.list_fits)
    return CalibrationList(calibrations=[_public(r) for r in records])


@router.get("/v1/calibrations/colocated", response_model=ColocatedList)
async def colocated_pairs(
    request: Request,
    registry: RegistryDep,
    max_distance_m: Annotated[
        float, Query(gt=0, le=1000, description="co-location distance, metres")
    ] = DEFAULT_MAX_DISTANCE_M,
) -> ColocatedList:
    """Stations within ``max_distance_m`` of an imported reference site, nearest first."""
    store = await _store(request, registry)
    sites = await run_in_threadpool(store.sites)
    stations = await run_in_threadpool(registry.list)
    names = {s.code: s.name for s in sites}
    pairs = colocated(
        [(s.id, s.lat, s.lon) for s in stations if not s.indoor],
        [(s.code, s.lat, s.lon) for s in sites],
        max_distance_m,
    )
    return ColocatedList(
        max_distance_m=max_distance_m,
        pairs=[
            ColocatedPair(
                station=st, reference_site=code, site_name=names[code], distance_m=round(d, -1)
            )
            for st, code, d in pairs
        ],
    )


def public_hours(hours: StationHours, spans: Spans) -> StationHours:
    """``hours`` without the hours that are not whole inside ``spans``."""

    def public(t: int) -> bool:
        return any(a <= t and t + HOUR_MS <= b for a, b in spans)

    return StationHours(
        pm={s: {t: v for t, v in per.items() if public(t)} for s, per in hours.pm.items()},
        rh={t: v for t, v in hours.rh.items() if public(t)},
    )


def _window(t_ms: int, every_ms: int) -> int:
    return t_ms - t_ms % every_ms


def _downsample(
    points: list[tuple[int, float | None, list[str]]], every_ms: int
) -> list[SeriesPoint]:
    """Hourly points -> windows of ``every_ms``: mean of the hours with a value; a window
    carries the flags of its hours."""
    windows: dict[int, tuple[list[float], set[str]]] = {}
    for t, v, flags in points:
        values, wflags = windows.setdefault(_window(t, every_ms), ([], set()))
        if v is not None:
            values.append(v)
        wflags.update(flags)
    return [
        SeriesPoint(
            time=format_time(w / 1000),
            value=round(sum(vs) / len(vs), 3) if vs else None,
            flags=sorted(fl),
        )
        for w, (vs, fl) in sorted(windows.items())
    ]


@router.get(
    "/v1/stations/{station_id}/calibrated",
    openapi_extra=OPTIONAL_AUTH,
    response_model=CalibratedSeries,
    responses=access_responses(
        400,
        409,
        what={
            404: "unknown station, or no PM data for it in the period",
            409: "no calibration fitted for this station or its sensor model",
        },
    ),
)
async def station_calibrated(
    request: Request,
    station_id: str,
    registry: RegistryDep,
    influx: InfluxDep,
    viewer: ViewerDep,
    quantity: Annotated[Literal["pm2_5"], Query(description="only pm2_5 for now")] = "pm2_5",
    start: Annotated[
        str | None, Query(max_length=40, description="RFC 3339 or Unix seconds")
    ] = None,
    end: Annotated[
        str | None, Query(max_length=40, description="RFC 3339 or Unix seconds; default now")
    ] = None,
    every: Annotated[Literal["1h", "1d"], Query(description="window")] = "1h",
) -> CalibratedSeries:
    """The station's raw hourly PM, the EPA humidity correction of it and its local
    calibration, side by side, each labelled with its method; with the fit's provenance."""
    station = (
        await run_in_threadpool(registry.get, station_id)
        if STATION_ID_RE.fullmatch(station_id)
        else None
    )
    if station is None or not viewer.sees(station):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    now = time.time()
    end_s = parse_time_param("end", end, now)
    start_s = parse_time_param("start", start, end_s - DEFAULT_SPAN_DAYS * 86400)
    if end_s <= start_s:
        raise HTTPException(400, "invalid 'start': it must be before 'end'")
    if end_s - start_s > MAX_SPAN_DAYS * 86400:
        raise HTTPException(400, f"invalid 'start': at most {MAX_SPAN_DAYS} days per request")
    start_ms = _window(int(start_s * 1000), HOUR_MS)
    end_ms = int(end_s * 1000)
    store = await _store(request, registry)
    hours = await fetch_station_hours(influx, station.id, quantity, start_ms, end_ms)
    if not viewer.sees_all_of(station.id):  # the hours it stood indoors stay private
        spans = await run_in_threadpool(read_public_spans, registry, [station], start_ms, end_ms)
        hours = public_hours(hours, spans.get(station.id, ()))
    record = await run_in_threadpool(store.for_station, station.id, sorted(hours.pm), quantity)
    if record is None:
        raise HTTPException(
            409,
            f"no calibration of {quantity} for station {station.id!r} or its sensor model: "
            f"fit one with `airq calibration fit --station {station.id} --site CODE` on a "
            "period co-located with a reference site (GET /v1/calibrations/colocated)",
        )
    sensor = record.sensor if record.sensor in hours.pm else next(iter(sorted(hours.pm)), None)
    if sensor is None:
        raise HTTPException(
            404, f"no hourly {quantity} of station {station.id!r} between start and end"
        )
    raw_points: list[tuple[int, float | None, list[str]]] = []
    epa_points: list[tuple[int, float | None, list[str]]] = []
    cal_points: list[tuple[int, float | None, list[str]]] = []
    for t, raw in sorted(hours.pm[sensor].items()):
        raw_points.append((t, raw, []))
        rh = hours.rh.get(t)
        if rh is None:
            epa_points.append((t, None, ["no_humidity"]))
            cal_points.append((t, None, ["no_humidity"]))
            continue
        epa_points.append((t, epa_correct(raw, rh), []))
        value, outside = apply_fit(record.fit, raw, rh)
        cal_points.append((t, value, ["extrapolated"] if outside else []))
    every_ms = HOUR_MS if every == "1h" else DAY_MS
    series = []
    for name, points in (
        ("raw", raw_points),
        ("epa_corrected", epa_points),
        ("calibrated", cal_points),
    ):
        method, fr, en = METHODS[name]
        if name == "calibrated":
            method = record.method
        series.append(
            LabelledSeries(
                name=name,  # type: ignore[arg-type]
                method=method,
                label=fr,
                label_en=en,
                points=_downsample(points, every_ms),
            )
        )
    return CalibratedSeries(
        station=station.id,
        sensor=sensor,
        quantity=quantity,
        every=every,
        start=format_time(start_ms / 1000),
        end=format_time(end_ms / 1000),
        series=series,
        calibration=_public(record),
    )
