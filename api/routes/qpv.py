"""Priority neighbourhoods (QPV): list, exposure statistics, GeoJSON layers for Grafana maps."""

from __future__ import annotations

import copy
import math
import re
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.reference_values import ATMO_CLASSES, atmo_class, daily_statistic
from api.deps import InfluxDep, RegistryDep, SettingsDep, parse_time_param
from api.influx import InfluxReader
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

router = APIRouter(tags=["qpv"])

_init_lock = threading.Lock()
_RELATIVE = re.compile(r"^now(?:-(\d{1,5})([smhdw]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
NO_DATA = "sans_donnees"
PARTIAL = "_partiel"
CLASS_LABELS = {c.key: c for c in ATMO_CLASSES}
INDICATIVE_FR = "classe indicative (capteur citoyen), pas l'indice ATMO officiel"
INDICATIVE_EN = "indicative class (citizen sensor), not the official ATMO index"


def _service(request: Request) -> QpvService:
    svc: QpvService | None = getattr(request.app.state, "qpv", None)
    if svc is None:
        with _init_lock:
            svc = getattr(request.app.state, "qpv", None)
            if svc is None:
                try:
                    svc = QpvService(QpvSettings())
                except (ValidationError, PolygonFileError, OSError) as exc:
                    raise HTTPException(503, f"QPV layer unavailable: {exc}") from None
                request.app.state.qpv = svc
    return svc


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
    return clip_to_placements(series, refs)


async def fetch_hourly(
    influx: InfluxReader,
    quantity: str,
    stations: list[str],
    start: float,
    end: float,
    min_coverage: float,
) -> dict[str, dict[int, float]]:
    """Hourly means per station (windows under ``min_coverage`` left out, see parse_hourly)."""
    if not stations:
        return {}
    t0, t1 = hour_bounds(start, end)
    out: dict[str, dict[int, float]] = {}
    for i in range(0, len(stations), 200):  # keep the regex of one statement short
        q = build_hourly_query(quantity, stations[i : i + 200], t0, t1)
        out.update(parse_hourly(await influx.query(q), min_coverage))
    return out


def _qpv_summary(svc: QpvService, code: str, placements: dict[str, Placement]) -> dict[str, Any]:
    area = svc.layer().by_code[code]
    zones = svc.zones(code, placements)
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
    items = []
    for area in layer.areas:
        if departement and area.departement != departement:
            continue
        if commune and commune.casefold() not in (c.casefold() for c in area.communes):
            continue
        items.append(_qpv_summary(svc, area.code, placements))
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
    code: str,
    placements: dict[str, Placement],
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
    for zone, ids in svc.zones(code, placements).items():
        key = frozenset(ids)
        if key not in memo:
            memo[key] = zone_statistics(
                quantity, series, ids, start, end, s.min_coverage, s.min_day_coverage
            )
        out[zone] = copy.deepcopy(memo[key])
    return out


@router.get("/v1/qpv/exposure.geojson")
async def exposure_geojson(
    svc: QpvDep,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    quantity: QuantityQ = "pm2_5",
    start: TimeQ = None,
    end: TimeQ = None,
    departement: Annotated[str | None, Query(max_length=3)] = None,
) -> dict[str, Any]:
    """Polygones des QPV avec leurs statistiques d'exposition et une classe de couleur, pour la
    couche GeoJSON de la carte Grafana. *QPV polygons with exposure statistics and a colour
    class as feature properties, for Grafana's Geomap GeoJSON layer style rules.*"""
    quantity = _quantity(quantity)
    start_t, end_t = _period(svc, start, end)
    layer = svc.layer()
    stations = await _stations(registry, (start_t, end_t))
    placements = await run_in_threadpool(svc.placements, stations)
    areas = [a for a in layer.areas if not departement or a.departement == departement]
    wanted = {key for a in areas for ids in svc.zones(a.code, placements).values() for key in ids}
    series = await fetch_placed_hourly(
        influx,
        quantity,
        [r for r in stations if r.id in wanted],
        start_t,
        end_t,
        settings.qpv_min_window_coverage,
    )

    def build() -> list[dict[str, Any]]:
        feats = []
        memo: dict[frozenset[str], dict[str, Any]] = {}
        for area in areas:
            zones = _zone_stats(svc, area.code, placements, quantity, series, start_t, end_t, memo)
            props = _feature_properties(svc, area, quantity, zones)
            feats.append(
                {
                    "type": "Feature",
                    "id": area.code,
                    "geometry": area.geometry_wgs84.__geo_interface__,
                    "properties": props,
                }
            )
        return feats

    features = await run_in_threadpool(build)
    return {
        "type": "FeatureCollection",
        "name": f"qpv_exposure_{quantity}",
        "quantity": quantity,
        "unit": _unit(quantity),
        "start": format_time(start_t),
        "end": format_time(end_t),
        "attribution": svc.settings.attribution,
        "features": features,
    }


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


@router.get("/v1/qpv/stations.geojson")
async def stations_geojson(
    svc: QpvDep,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    quantity: QuantityQ = "pm2_5",
) -> dict[str, Any]:
    """Stations avec la classe indicative (type ATMO) de leur dernier jour de mesure.
    *Stations with the indicative ATMO-like class of their latest day (not the official
    index).*"""
    quantity = _quantity(quantity)
    stations = await _stations(registry)
    placements = await run_in_threadpool(svc.placements, stations)
    now = time.time()
    series = await fetch_placed_hourly(
        influx, quantity, stations, now - 2 * 86400, now, settings.qpv_min_window_coverage
    )
    stat = daily_statistic(quantity)
    decimals = settings.public_location_decimals
    feats = []
    for s in stations:
        p = placements[s.id]
        days = daily_values(series.get(s.id, {}), svc.settings.min_day_coverage)
        day, d = max(days.items()) if days else (None, None)
        value = round(day_value(d, stat), 2) if d else None
        cls = atmo_class(quantity, value) if value is not None else None
        nearest = p.near[0] if p.near else None
        feats.append(
            {
                "type": "Feature",
                "id": s.id,
                # public output: coordinates rounded as on the other public endpoints
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(s.lon, decimals), round(s.lat, decimals)],
                },
                "properties": {
                    "station_id": s.id,
                    "name": s.name,
                    "qpv": list(p.inside),
                    "nearest_qpv": nearest[0] if nearest else None,
                    "nearest_qpv_m": nearest[1] if nearest else None,
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
                    "class_label_en": (
                        f"{cls.label_en} ({INDICATIVE_EN})" if cls else "no recent data"
                    ),
                },
            }
        )
    return {"type": "FeatureCollection", "name": f"stations_{quantity}", "features": feats}


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
    stats = await run_in_threadpool(
        _zone_stats, svc, area.code, placements, quantity, series, start_t, end_t
    )
    by_key = {r.id: r for r in refs}
    for zone, st in stats.items():
        for entry in st["stations"]:
            key = entry["id"]
            entry["distance_m"] = placements[key].distance_to(area.code)
            ref = by_key.get(key)
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
