"""Priority neighbourhoods (QPV): list, exposure statistics, GeoJSON layers for Grafana maps."""

from __future__ import annotations

import asyncio
import copy
import math
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.reference_values import ATMO_CLASSES, atmo_class, daily_statistic
from api.deps import InfluxDep, RegistryDep, SettingsDep, parse_time_param
from api.influx import InfluxReader
from api.map_builder import BuildFn, layer_builder
from api.map_layers import (
    AnswerCache,
    Encoded,
    HourlyWindows,
    MapLayerSettings,
    ReadyAnswer,
    ReadyResponse,
    respond,
)
from api.problems import problem_responses
from api.qpv.exposure import HOUR, daily_values, day_value, hour_bounds, zone_statistics
from api.qpv.placement import ZONE_OUTSIDE, ZONE_QPV, Placement, buffer_zone
from api.qpv.polygons import Area, PolygonFileError
from api.qpv.service import (
    QpvService,
    QpvSettings,
    StationRef,
    build_hourly_query,
    check_quantity,
    clip_to_placements,
    parse_hourly,
    placement_refs,
)
from api.registry import Registry
from api.settings import ApiSettings

SWITCH_INTERVAL_S = 0.001


@asynccontextmanager
async def _map_answers(app: FastAPI) -> AsyncIterator[None]:
    """The ready answers of the map layers and the task keeping the page's ones warm."""
    cache = _answers(app.state)
    warm = asyncio.create_task(cache.keep_warm(), name="map-layers-warm")
    # Rebuilds run in worker threads while the event loop serves the held answers: the loop
    # waits for the GIL at each socket call, up to the switch interval (5 ms by default) when
    # a rebuild holds it, which made the served answers' p99 climb to hundreds of ms with
    # 13 000 stations (bench/public_crowd.py); 1 ms keeps it short.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(switch)
        warm.cancel()
        await asyncio.gather(warm, return_exceptions=True)
        await cache.aclose()
        builder = getattr(app.state, "map_builder", None)
        if builder is not None:
            await builder.aclose()


# every request is rate limited per client address before routing (AIRQ_RATE_LIMIT_*:
# api/protection.py, RateLimitMiddleware)
router = APIRouter(
    tags=["qpv"],
    responses=problem_responses(429),
    lifespan=_map_answers,
)

_init_lock = threading.Lock()
_RELATIVE = re.compile(r"^now(?:-(\d{1,5})([smhdw]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
NO_DATA = "sans_donnees"
PARTIAL = "_partiel"
CLASS_LABELS = {c.key: c for c in ATMO_CLASSES}
INDICATIVE_FR = "classe indicative (capteur citoyen), pas l'indice ATMO officiel"
INDICATIVE_EN = "indicative class (citizen sensor), not the official ATMO index"


def service_of(state: State) -> QpvService:
    """The QPV service of an app (built at first use; 503 while the polygon file is bad)."""
    svc: QpvService | None = getattr(state, "qpv", None)
    if svc is None:
        with _init_lock:
            svc = getattr(state, "qpv", None)
            if svc is None:
                try:
                    svc = QpvService(QpvSettings())
                except (ValidationError, PolygonFileError, OSError) as exc:
                    raise HTTPException(503, f"QPV layer unavailable: {exc}") from None
                state.qpv = svc
    return svc


def _service(request: Request) -> QpvService:
    return service_of(request.app.state)


def _answers(state: State) -> AnswerCache:
    cache: AnswerCache | None = getattr(state, "map_answers", None)
    if cache is None:
        s = MapLayerSettings()
        cache = state.map_answers = AnswerCache(s.refresh_s, s.cache_entries)
    return cache


def hourly_windows(state: State, key: Hashable) -> HourlyWindows:
    """The hourly windows kept between the rebuilds of ``stations.geojson`` for ``key``
    (quantity and minimum window coverage); they outlive the answers, which a station's
    change drops, since a station's hours do not depend on its place."""
    kept: dict[Hashable, HourlyWindows] | None = getattr(state, "map_hourly", None)
    if kept is None:
        kept = state.map_hourly = {}
    windows = kept.get(key)
    if windows is None:
        s = MapLayerSettings()
        windows = kept[key] = HourlyWindows(s.reread_s, s.full_read_s)
    return windows


QpvDep = Annotated[QpvService, Depends(_service)]
QuantityQ = Annotated[str, Query(description="pm2_5, pm10, no2, pm2_5_hcorr …")]
TimeQ = Annotated[
    str | None, Query(description="RFC 3339, Unix seconds, or relative to now: now-30d, now")
]


def _time(name: str, value: str | None, default: float, now: float) -> float:
    if value is not None:
        m = _RELATIVE.match(value.strip())
        if m:
            return now - (int(m.group(1)) * _UNITS[m.group(2)] if m.group(1) else 0)
    return parse_time_param(name, value, default)


def _period(svc: QpvService, start: str | None, end: str | None) -> tuple[float, float]:
    now = time.time()
    end_t = _time("end", end, now, now)
    start_t = _time("start", start, end_t - svc.settings.default_days * 86400, now)
    if start_t >= end_t:
        raise HTTPException(400, "'start' must be before 'end'")
    if end_t - start_t > svc.settings.max_days * 86400:
        raise HTTPException(
            400, f"period longer than {svc.settings.max_days} days; ask for a shorter one"
        )
    return start_t, end_t


def _quantity(quantity: str) -> str:
    try:
        return check_quantity(quantity)
    except ValueError:
        raise HTTPException(
            400, f"unknown quantity {quantity[:40]!r}; e.g. pm2_5, pm10, no2, pm2_5_hcorr"
        ) from None


def _unit(quantity: str) -> str:
    return QUANTITIES[quantity.removesuffix("_hcorr")].unit


def _read_refs(registry: Registry, period: tuple[float, float] | None) -> list[StationRef]:
    rows = registry.list(True)
    # every placement from the start: a station's first placement also holds the data
    # measured before it was registered (imported archives), see placement_refs
    found = registry.placements_between([s.id for s in rows], 0, time.time() + 1)
    refs = placement_refs(rows, found)
    if period is None:  # where the stations are now
        return [r for r in refs if r.valid_to == math.inf]
    return [r for r in refs if r.valid_from < period[1] and r.valid_to > period[0]]


async def _stations(
    registry: Registry, period: tuple[float, float] | None = None
) -> list[StationRef]:
    """Outdoor placements of the stations, retired ones included (their past data still
    counts): the current ones, or with ``period`` every placement overlapping it (a station
    moved during the period counts at each place for the hours it was there)."""
    return await run_in_threadpool(_read_refs, registry, period)


async def placed_area(
    svc: QpvService,
    registry: Registry,
    code: str,
    period: tuple[float, float] | None = None,
) -> tuple[Area, dict[str, Placement]]:
    """The QPV ``code`` of the current layer (404 when it has none) and the placement of every
    outdoor station (retired ones included): where it is now, or with ``period`` every
    placement overlapping it (keys: :class:`StationRef` ids)."""
    layer = svc.layer()
    area = layer.by_code.get(code.strip().upper())
    if area is None:
        raise HTTPException(404, f"unknown QPV {code[:20]!r} in {layer.source}")
    stations = await _stations(registry, period)
    return area, await run_in_threadpool(svc.placements, stations)


HOURLY_CHUNK = 100


def _bound(t: float) -> str | None:
    return None if math.isinf(t) else format_time(t)


async def fetch_placed_hourly(
    influx: InfluxReader,
    quantity: str,
    refs: list[StationRef],
    start: float,
    end: float,
    min_coverage: float,
) -> dict[str, dict[int, float]]:
    """Hourly means per placement (keyed on ``StationRef.id``): each station's series cut to
    the hours it spent at that placement."""
    stations = sorted({r.station for r in refs})
    series = await fetch_hourly(influx, quantity, stations, start, end, min_coverage)
    return await run_in_threadpool(clip_to_placements, series, refs)


async def fetch_hourly(
    influx: InfluxReader,
    quantity: str,
    stations: list[str],
    start: float,
    end: float,
    min_coverage: float,
) -> dict[str, dict[int, float]]:
    """Hourly means per station (windows under ``min_coverage`` left out, see parse_hourly).
    Read in statements of ``HOURLY_CHUNK`` stations (a short regex, and a short decoding on
    the event loop, which keeps serving the map meanwhile), parsed in a worker thread."""
    if not stations:
        return {}
    t0, t1 = hour_bounds(start, end)
    out: dict[str, dict[int, float]] = {}
    for i in range(0, len(stations), HOURLY_CHUNK):
        q = build_hourly_query(quantity, stations[i : i + HOURLY_CHUNK], t0, t1)
        results = await influx.query(q)
        out.update(await run_in_threadpool(parse_hourly, results, min_coverage))
    return out


def _qpv_summary(area: Area, zones: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "code": area.code,
        "name": area.name,
        "communes": list(area.communes),
        "departement": area.departement,
        "stations": {z: len(ids) for z, ids in zones.items()},
        "station_ids": {z: sorted({i.partition("@")[0] for i in ids}) for z, ids in zones.items()},
    }


@router.get("/v1/qpv")
async def list_qpv(
    svc: QpvDep,
    registry: RegistryDep,
    departement: Annotated[str | None, Query(max_length=3, description="e.g. 59")] = None,
    commune: Annotated[str | None, Query(max_length=100, description="e.g. Roubaix")] = None,
) -> dict[str, Any]:
    """Les quartiers prioritaires, avec le nombre de stations dans et autour de chacun.
    *The priority neighbourhoods with the number of stations inside and around each.*"""
    layer = svc.layer()
    stations = await _stations(registry)
    placements = await run_in_threadpool(svc.placements, stations)
    index = await run_in_threadpool(svc.zones_index, placements)
    items = []
    for area in layer.areas:
        if departement and area.departement != departement:
            continue
        if commune and commune.casefold() not in (c.casefold() for c in area.communes):
            continue
        items.append(_qpv_summary(area, index[area.code]))
    return {
        "source": layer.source,
        "version": layer.version,
        "millesime": layer.areas[0].millesime if layer.areas else None,
        "attribution": svc.settings.attribution,
        "buffers_m": list(svc.settings.buffers_m),
        "count": len(items),
        "qpv": items,
    }


def _zone_stats(
    svc: QpvService,
    zones: dict[str, list[str]],
    quantity: str,
    series: dict[str, dict[int, float]],
    start: float,
    end: float,
    memo: dict[frozenset[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Statistics of every zone of one QPV; ``memo`` shares the results of identical station
    sets between the QPV of one request (neighbours share their outside stations)."""
    s = svc.settings
    memo = {} if memo is None else memo
    out = {}
    for zone, ids in zones.items():
        key = frozenset(ids)
        if key not in memo:
            memo[key] = zone_statistics(
                quantity, series, ids, start, end, s.min_coverage, s.min_day_coverage
            )
        out[zone] = copy.deepcopy(memo[key])
    return out


# The map layers: answers kept ready (api/map_layers.py), rebuilt every AIRQ_MAP_REFRESH_S;
# the parameter set of the public map page (/carte) is kept warm.
PAGE_QUANTITY = "pm2_5"
MAP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    304: {"description": "Not Modified: the If-None-Match tag is still the answer"},
}


def exposure_key(p: Mapping[str, str | None]) -> Hashable:
    """The answer key of an exposure.geojson query (the route's and the hot path's)."""
    return (
        "exposure.geojson",
        p.get("quantity", PAGE_QUANTITY),
        p.get("start"),
        p.get("end"),
        p.get("departement"),
    )


def stations_key(p: Mapping[str, str | None]) -> Hashable:
    """The answer key of a stations.geojson query."""
    return ("stations.geojson", p.get("quantity", PAGE_QUANTITY))


def forget_station_answers(state: State) -> None:
    """Drop the held ``stations.geojson`` answers: a station was added, moved, renamed or
    given another public precision, which the map must not show late (other API processes
    rebuild theirs within ``AIRQ_MAP_REFRESH_S``)."""
    cache: AnswerCache | None = getattr(state, "map_answers", None)
    if cache is not None:
        cache.forget(lambda key: isinstance(key, tuple) and key[:1] == ("stations.geojson",))


# path -> (its query parameters, its key): ReadyAnswerMiddleware serves the answers held
# before routing (create_app installs it)
MAP_ANSWER_PATHS: dict[str, tuple[frozenset[str], Callable[[dict[str, str]], Hashable]]] = {
    "/v1/qpv/exposure.geojson": (
        frozenset({"quantity", "start", "end", "departement"}),
        exposure_key,
    ),
    "/v1/qpv/stations.geojson": (frozenset({"quantity"}), stations_key),
}


@router.get("/v1/qpv/exposure.geojson", response_model=None, responses=MAP_RESPONSES)
async def exposure_geojson(
    request: Request,
    quantity: QuantityQ = PAGE_QUANTITY,
    start: TimeQ = None,
    end: TimeQ = None,
    departement: Annotated[str | None, Query(max_length=3)] = None,
) -> ReadyResponse:
    """Polygones des QPV avec leurs statistiques d'exposition et une classe de couleur, pour la
    couche GeoJSON de la carte Grafana et de la carte publique. *QPV polygons with exposure
    statistics and a colour class as feature properties, for Grafana's Geomap GeoJSON layer
    style rules and the public map.* Polygons simplified for web maps (3 m); answers rebuilt at
    most every ``AIRQ_MAP_REFRESH_S`` seconds, with ``ETag`` (``If-None-Match`` gets 304) and
    gzip."""
    state = request.app.state
    key = exposure_key(
        {"quantity": quantity, "start": start, "end": end, "departement": departement}
    )
    pinned = key == exposure_key({})  # the page's
    args = (quantity, start, end, departement)
    answer = await _answers(state).get(
        key, lambda: build_layer(state, key, build_exposure, args), pinned
    )
    return respond(request, answer)


async def build_layer(
    state: State, key: Hashable, fn: BuildFn, args: tuple[Any, ...]
) -> Encoded | ReadyAnswer:
    """``fn(state, *args)`` built by the app's layer builder (a separate process, see
    api/map_builder.py), encoded; the answer held for ``key`` when its bytes did not change."""
    held = _answers(state).held(key)
    built = await layer_builder(state).build(fn, args, held.digest if held else None)
    if built is None and held is not None:
        return held
    if built is None:  # only when a digest was given
        raise RuntimeError(f"the build of {key!r} answered 'unchanged' with nothing held")
    return built


async def build_exposure(
    state: State, quantity: str, start: str | None, end: str | None, departement: str | None
) -> bytes:
    """The body of ``exposure.geojson``: every QPV (of ``departement``) with the statistics
    of its zones over the period, as JSON bytes."""
    svc = service_of(state)
    registry: Registry = state.registry
    settings: ApiSettings = state.settings
    quantity = _quantity(quantity)
    start_t, end_t = _period(svc, start, end)
    layer = svc.layer()
    stations = await _stations(registry, (start_t, end_t))
    placements = await run_in_threadpool(svc.placements, stations)
    index = await run_in_threadpool(svc.zones_index, placements)
    areas = [a for a in layer.areas if not departement or a.departement == departement]
    wanted = {key for a in areas for ids in index[a.code].values() for key in ids}
    series = await fetch_placed_hourly(
        state.influx,
        quantity,
        [r for r in stations if r.id in wanted],
        start_t,
        end_t,
        settings.qpv_min_window_coverage,
    )
    # the whole hours the statistics cover (a relative period gives the same bytes all hour)
    t0, t1 = hour_bounds(start_t, end_t)

    def build() -> bytes:
        geometries = svc.map_geometries()
        feats = []
        memo: dict[frozenset[str], dict[str, Any]] = {}
        for area in areas:
            zones = _zone_stats(svc, index[area.code], quantity, series, start_t, end_t, memo)
            props = _feature_properties(svc, area, quantity, zones)
            feats.append(
                {
                    "type": "Feature",
                    "id": area.code,
                    "geometry": geometries[area.code],
                    "properties": props,
                }
            )
        return orjson.dumps(
            {
                "type": "FeatureCollection",
                "name": f"qpv_exposure_{quantity}",
                "quantity": quantity,
                "unit": _unit(quantity),
                "start": format_time(t0),
                "end": format_time(t1),
                "attribution": svc.settings.attribution,
                "features": feats,
            }
        )

    return await run_in_threadpool(build)


def _feature_properties(
    svc: QpvService, area: Any, quantity: str, zones: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    order = [ZONE_QPV] + [buffer_zone(b) for b in svc.settings.buffers_m]
    basis = next((z for z in order if zones[z]["hours_with_data"] > 0), None)
    st = zones[basis] if basis else None
    outside = zones[ZONE_OUTSIDE]
    cls = st["atmo_class"] if st else None
    partial = bool(st and (st["low_coverage"] or basis != ZONE_QPV))
    style = (cls + (PARTIAL if partial else "")) if cls else NO_DATA
    unit = _unit(quantity)
    mean = st["mean"] if st else None
    diff = None
    if mean is not None and outside["mean"] is not None:
        diff = round(mean - outside["mean"], 2)
    label_cls = CLASS_LABELS[cls].label_fr if cls else "sans données"
    return {
        "code_qp": area.code,
        "nom_qp": area.name,
        "commune_qp": ", ".join(area.communes),
        "departement": area.departement,
        "quantity": quantity,
        "unit": unit,
        "basis": basis,
        "mean": mean,
        "median": st["median"] if st else None,
        "p95": st["p95"] if st else None,
        "coverage": st["coverage"] if st else 0.0,
        "low_coverage": st["low_coverage"] if st else True,
        "n_stations": st["n_stations"] if st else 0,
        "days_valid": st["days_valid"] if st else 0,
        "days_over_who": st["days_over_who"] if st else None,
        "who_24h": zones[ZONE_QPV]["who_24h"],
        "outside_mean": outside["mean"],
        "outside_n_stations": outside["n_stations"],
        "outside_coverage": outside["coverage"],
        "difference": diff,
        "atmo_class": cls,
        "style_class": style,
        "label": f"{area.name} : {mean:.1f} {unit}" if mean is not None else area.name,
        "class_label": f"{label_cls} ({INDICATIVE_FR})" if cls else label_cls,
        # No colours here (no simplestyle "fill"/"fill-opacity"/"stroke-width"): Grafana 10.4+
        # would let them override the panel's style rules. Colours come from the class: the
        # Geomap rules on style_class, the public map page's own table.
    }


@router.get("/v1/qpv/stations.geojson", response_model=None, responses=MAP_RESPONSES)
async def stations_geojson(request: Request, quantity: QuantityQ = PAGE_QUANTITY) -> ReadyResponse:
    """Stations avec la classe indicative (type ATMO) de leur dernier jour de mesure.
    *Stations with the indicative ATMO-like class of their latest day (not the official
    index).* Answers rebuilt at most every ``AIRQ_MAP_REFRESH_S`` seconds, with ``ETag``
    (``If-None-Match`` gets 304) and gzip."""
    state = request.app.state
    key = stations_key({"quantity": quantity})
    answer = await _answers(state).get(
        key, lambda: build_layer(state, key, build_stations, (quantity,)), key == stations_key({})
    )
    return respond(request, answer)


async def build_stations(state: State, quantity: str) -> bytes:
    """The body of ``stations.geojson``: every current outdoor placement with the class of
    its latest day, as JSON bytes."""
    svc = service_of(state)
    settings: ApiSettings = state.settings
    quantity = _quantity(quantity)
    stations = await _stations(state.registry)
    placements = await run_in_threadpool(svc.placements, stations)
    now = time.time()
    t0, t1 = hour_bounds(now - 2 * 86400, now)
    min_coverage = settings.qpv_min_window_coverage
    influx = state.influx

    async def fetch(ids: list[str], start: int, end: int) -> dict[str, dict[int, float]]:
        return await fetch_hourly(influx, quantity, ids, start, end, min_coverage)

    # only the hours that may have changed since the last rebuild are read (HourlyWindows)
    windows = hourly_windows(state, (quantity, min_coverage))
    hourly = await windows.read(fetch, sorted({r.station for r in stations}), t0, t1)
    series = await run_in_threadpool(clip_to_placements, hourly, stations)
    stat = daily_statistic(quantity)
    decimals = settings.public_location_decimals
    min_day = svc.settings.min_day_coverage

    def build() -> bytes:
        feats = [
            _station_feature(
                s, placements[s.id], series.get(s.id, {}), quantity, stat, decimals, min_day
            )
            for s in stations
        ]
        return orjson.dumps(
            {"type": "FeatureCollection", "name": f"stations_{quantity}", "features": feats}
        )

    return await run_in_threadpool(build)


def public_distance(metres: float | None, digits: int) -> float | None:
    """A distance published with a station, no finer than its published location: rounded
    to the step of its precision (2 decimals: 1000 m, 3: 100 m, 4: 10 m, 5: 1 m), so that the
    distance to a QPV's edge cannot narrow down a location rounded for privacy."""
    if metres is None:
        return None
    step = 10.0 ** (5 - digits)
    return round(round(metres / step) * step, 1)


def _station_feature(
    s: StationRef,
    p: Placement,
    hourly: dict[int, float],
    quantity: str,
    stat: str,
    decimals: int,
    min_day_coverage: float,
) -> dict[str, Any]:
    days = daily_values(hourly, min_day_coverage)
    day, d = max(days.items()) if days else (None, None)
    value = round(day_value(d, stat), 2) if d else None
    cls = atmo_class(quantity, value) if value is not None else None
    nearest = p.near[0] if p.near else None
    # public output: coordinates rounded as on the other public endpoints, at the precision
    # chosen for the station (else the deployment's)
    digits = decimals if s.precision is None else s.precision
    return {
        "type": "Feature",
        "id": s.id,
        "geometry": {
            "type": "Point",
            "coordinates": [round(s.lon, digits), round(s.lat, digits)],
        },
        "properties": {
            "station_id": s.id,
            "name": s.name,
            "precision": digits,
            "qpv": list(p.inside),
            "nearest_qpv": nearest[0] if nearest else None,
            "nearest_qpv_m": public_distance(nearest[1], digits) if nearest else None,
            "quantity": quantity,
            "day": day,
            "day_complete": bool(d and d["valid"]),
            "hours": d["hours"] if d else 0,
            "value": value,
            "statistic": stat,
            "atmo_class": cls.key if cls else NO_DATA,
            "class_label": (
                f"{cls.label_fr} ({INDICATIVE_FR})" if cls else "pas de donnée récente"
            ),
            "class_label_en": (f"{cls.label_en} ({INDICATIVE_EN})" if cls else "no recent data"),
        },
    }


@router.get("/v1/qpv/{code}/exposure")
async def qpv_exposure(
    code: str,
    svc: QpvDep,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    quantity: QuantityQ = "pm2_5",
    start: TimeQ = None,
    end: TimeQ = None,
) -> dict[str, Any]:
    """Exposition mesurée dans un QPV, dans ses zones tampons et dans le reste de la commune.
    *Measured exposure inside one QPV, within its buffers, and in the rest of the commune.*"""
    quantity = _quantity(quantity)
    start_t, end_t = _period(svc, start, end)
    refs = await _stations(registry, (start_t, end_t))
    area, placements = await placed_area(svc, registry, code, (start_t, end_t))
    zones = svc.zones(area.code, placements)
    wanted = {key for ids in zones.values() for key in ids}
    series = await fetch_placed_hourly(
        influx,
        quantity,
        [r for r in refs if r.id in wanted],
        start_t,
        end_t,
        settings.qpv_min_window_coverage,
    )
    stats = await run_in_threadpool(_zone_stats, svc, zones, quantity, series, start_t, end_t)
    by_key = {r.id: r for r in refs}
    for zone, st in stats.items():
        for entry in st["stations"]:
            key = entry["id"]
            ref = by_key.get(key)
            digits = settings.public_location_decimals
            if ref is not None and ref.precision is not None:
                digits = ref.precision
            entry["distance_m"] = public_distance(placements[key].distance_to(area.code), digits)
            if ref is not None:  # the station (and, once moved, the time it was here)
                entry["id"] = ref.station
            if ref is not None and (ref.valid_from > -math.inf or ref.valid_to < math.inf):
                # null: since the start of its data / still there
                entry["placed_from"] = _bound(ref.valid_from)
                entry["placed_to"] = _bound(ref.valid_to)
        st["zone"] = zone
    t0, t1 = hour_bounds(start_t, end_t)
    return {
        "code": area.code,
        "name": area.name,
        "communes": list(area.communes),
        "departement": area.departement,
        "quantity": quantity,
        "unit": _unit(quantity),
        "start": format_time(t0),
        "end": format_time(t1),
        "hours": (t1 - t0) // HOUR,
        "min_coverage": svc.settings.min_coverage,
        "min_window_coverage": settings.qpv_min_window_coverage,
        "buffers_m": list(svc.settings.buffers_m),
        "outside_definition": svc.outside_definition(area.code),
        "attribution": svc.settings.attribution,
        "zones": stats,
    }
