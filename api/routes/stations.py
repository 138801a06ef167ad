"""Public station list (GeoJSON) with filters, and one station's record. Locations are rounded
at each station's public precision on these outputs: its owner's choice, else
``AIRQ_PUBLIC_LOCATION_DECIMALS`` (docs/api.md, "Privacy")."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.storage import TAG_SENSOR, TAG_STATION
from airq_core.wire import STATION_ID_RE
from api.access import OPTIONAL_AUTH, Viewer, ViewerDep, access_responses, count_hidden
from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.influx import InfluxReader
from api.paging import LINK_HEADER, MAX_PAGE, PAGE, next_page
from api.problems import problem_responses
from api.queries import build_last_seen_query
from api.registry import Placement, Registry, Station
from api.selection import parse_bbox, public_location, public_placement, select_by_qpv
from api.settings import ApiSettings

router = APIRouter(
    tags=["stations"],
    responses=problem_responses(429, 503),
)


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float] = Field(
        description="[lon, lat], rounded to the station's precision (properties.precision)"
    )


class StationProperties(BaseModel):
    id: str = Field(examples=["lens-01"])
    name: str
    indoor: bool
    source: str = Field(examples=["airquartiers", "sensor.community"])
    sensors: list[str] = Field(description="sensor models the store holds data of")
    quantities: list[str] = Field(description="quantities the store holds data of")
    last_seen: str | None = Field(description="time of its last value (RFC 3339, UTC)")
    active: bool = Field(description="seen within AIRQ_API_ACTIVE_WITHIN_H hours")
    retired: bool
    precision: int = Field(
        description="decimals of the coordinates: the precision chosen for the station, else "
        "the deployment's AIRQ_PUBLIC_LOCATION_DECIMALS"
    )


class StationFeature(BaseModel):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: StationProperties


class Link(BaseModel):
    href: str = Field(description="path and query of the linked page (relative to the API)")
    rel: str = Field(examples=["next"])
    type: str = Field(examples=["application/geo+json"])


class StationCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[StationFeature]
    numberMatched: int = Field(description="stations matching the filters, on every page")
    numberReturned: int = Field(description="features on this page")
    links: list[Link] = Field(description='rel="next": the following page, while there is one')


@dataclass
class Activity:
    """What the time-series store knows of each station: last time per sensor, quantities."""

    last_ms: dict[str, dict[str, int]] = field(default_factory=dict)
    quantities: dict[str, set[str]] = field(default_factory=dict)
    fetched_at: float = float("-inf")

    def last_seen(self, station: str) -> int | None:
        per_sensor = self.last_ms.get(station)
        return max(per_sensor.values()) if per_sensor else None


async def fetch_activity(influx: InfluxReader) -> Activity:
    """Last value time per (station, sensor) and quantity, from raw readings and from the
    daily aggregates (history older than the raw retention, imported archives)."""
    act = Activity()
    for tier in ("raw", "1d"):
        results = await influx.query(build_last_seen_query(tier))
        for qname, res in zip(QUANTITIES, results, strict=False):
            for series in res.get("series", []):
                tags = series.get("tags", {})
                st, sn = tags.get(TAG_STATION), tags.get(TAG_SENSOR)
                if not st or not sn:
                    continue
                t = int(series["values"][0][0])
                per = act.last_ms.setdefault(st, {})
                per[sn] = max(per.get(sn, 0), t)
                act.quantities.setdefault(st, set()).add(qname)
    return act


async def fetch_last_seen(influx: InfluxReader) -> dict[str, dict[str, int]]:
    """station -> {sensor: time of its last value (ms)} (kept for other callers)."""
    return (await fetch_activity(influx)).last_ms


async def cached_activity(request: Request, influx: InfluxReader, ttl: float) -> Activity:
    state = request.app.state
    act: Activity | None = getattr(state, "station_activity", None)
    if act is not None and time.monotonic() - act.fetched_at < ttl:
        return act
    lock = getattr(state, "station_activity_lock", None)
    if lock is None:
        lock = state.station_activity_lock = asyncio.Lock()
    async with lock:
        act = getattr(state, "station_activity", None)
        if act is None or time.monotonic() - act.fetched_at >= ttl:
            act = await fetch_activity(influx)
            act.fetched_at = time.monotonic()
            state.station_activity = act
    return act


def station_feature(s: Station, act: Activity, settings: ApiSettings) -> dict[str, Any]:
    lon, lat = public_location(s, settings.public_location_decimals)
    precision = settings.public_location_decimals if s.precision is None else s.precision
    last = act.last_seen(s.id)
    active = (
        last is not None and time.time() * 1000 - last <= settings.api_active_within_h * 3_600_000
    )
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "id": s.id,
            "name": s.name,
            "indoor": s.indoor,
            "source": s.source,
            "sensors": sorted(act.last_ms.get(s.id, {})),
            "quantities": sorted(act.quantities.get(s.id, set())),
            "last_seen": format_time(last / 1000) if last else None,
            "active": active,
            "retired": s.retired_at is not None,
            "precision": precision,
        },
    }


@router.get(
    "/v1/stations",
    openapi_extra=OPTIONAL_AUTH,
    response_model=None,
    responses={
        200: {
            "model": StationCollection,
            "description": "a GeoJSON FeatureCollection, one page of it",
            "headers": LINK_HEADER,
        },
        **problem_responses(
            400,
            401,
            404,
            503,
            what={
                401: "credentials given but wrong (none: the public view)",
                404: "unknown QPV (qpv=)",
                503: "InfluxDB or the QPV layer unavailable",
            },
        ),
    },
)
async def list_stations(
    request: Request,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    bbox: Annotated[
        str | None,
        Query(description="min_lon,min_lat,max_lon,max_lat (WGS84)", max_length=120),
    ] = None,
    quantity: Annotated[
        list[str] | None,
        Query(description="stations that measured any of these quantities", max_length=40),
    ] = None,
    active: Annotated[
        bool | None,
        Query(description="true: seen within AIRQ_API_ACTIVE_WITHIN_H hours; false: not"),
    ] = None,
    qpv: Annotated[str | None, Query(description="QPV code", max_length=32)] = None,
    include_retired: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="features per page")] = PAGE,
    after: Annotated[
        str | None,
        Query(max_length=64, description="the last id of the previous page (a cursor)"),
    ] = None,
) -> Response:
    """Stations as a GeoJSON FeatureCollection (locations rounded for privacy), ordered by id,
    ``limit`` at a time: while more stations match, ``links`` holds the next page
    (``rel="next"``, also in the ``Link`` header); ``numberMatched`` counts them all.
    Indoor stations are listed to their owner (with its credentials) and the admin only."""
    names = [p.strip(" ") for v in quantity or () for p in v.split(",") if p.strip(" ")]
    for q in names:
        if q not in QUANTITIES:
            raise HTTPException(400, f"unknown quantity {q[:40]!r}")
    box = parse_bbox(bbox) if bbox is not None else None
    act = await cached_activity(request, influx, settings.api_stations_cache_s)
    if box is None and not names and qpv is None and active is None:
        # no filter: the page is read from the registry, not the whole fleet (~1000 rows
        # instead of 13 000: reading a station costs ~50 µs)
        page = await _visible_page(registry, viewer, after, limit + 1, include_retired)
        matched = await run_in_threadpool(registry.count, include_retired)
        matched -= await run_in_threadpool(count_hidden, registry, viewer, include_retired)
        more = len(page) > limit
        page = page[:limit]
    else:
        stations = await run_in_threadpool(registry.list, include_retired)
        stations = [s for s in stations if viewer.sees(s)]
        d = settings.public_location_decimals
        if box is not None:
            stations = [s for s in stations if box.contains(*public_location(s, d))]
        if names:
            stations = [s for s in stations if act.quantities.get(s.id, set()) & set(names)]
        if qpv is not None:
            inside = await select_by_qpv(request, qpv, stations)
            stations = [s for s in stations if s.id in inside]
        if active is not None:
            within_ms = settings.api_active_within_h * 3_600_000
            now_ms = time.time() * 1000
            stations = [s for s in stations if _seen_within(act, s.id, now_ms, within_ms) is active]
        matched = len(stations)
        if after is not None:
            stations = [s for s in stations if s.id > after]  # registry.list is ordered by id
        more = len(stations) > limit
        page = stations[:limit]
    features = [station_feature(s, act, settings) for s in page]
    links, headers = [], {}
    if more:
        href = next_page(request, page[-1].id, limit)
        links.append({"href": href, "rel": "next", "type": "application/geo+json"})
        headers["Link"] = f'<{href}>; rel="next"'
    # the schema is documented, not checked on each answer: validating 200 features through
    # the model costs ~1.4 ms, writing them with orjson ~0.1 ms (the schemathesis test
    # checks the answers against the schema)
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": links,
    }
    return Response(orjson.dumps(doc), media_type="application/json", headers=headers)


async def _visible_page(
    registry: Registry, viewer: Viewer, after: str | None, limit: int, include_retired: bool
) -> list[Station]:
    """At most ``limit`` stations after ``after`` that exist for ``viewer`` (read a page at
    a time from the registry, skipping the indoor stations it may not see)."""
    out: list[Station] = []
    while len(out) < limit:
        want = limit - len(out)
        page = await run_in_threadpool(registry.list_page, after, want, include_retired)
        out += [s for s in page if viewer.sees(s)]
        if len(page) < want:
            break
        after = page[-1].id
    return out


def _seen_within(act: Activity, station_id: str, now_ms: float, within_ms: float) -> bool:
    """The ``active`` property of :func:`station_feature`, without building the feature."""
    last = act.last_seen(station_id)
    return last is not None and now_ms - last <= within_ms


@router.get("/v1/stations/{station_id}", openapi_extra=OPTIONAL_AUTH, responses=access_responses())
async def get_station(
    request: Request,
    station_id: str,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
) -> StationFeature:
    """One station as a GeoJSON Feature (retired stations too; an indoor station for its
    owner and the admin only)."""
    station = None
    if STATION_ID_RE.fullmatch(station_id):
        station = await run_in_threadpool(registry.get, station_id)
    if station is None or not viewer.sees(station):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    act = await cached_activity(request, influx, settings.api_stations_cache_s)
    return station_feature(station, act, settings)  # type: ignore[return-value]


class PlacementOut(BaseModel):
    valid_from: str = Field(description="RFC 3339, UTC")
    valid_to: str | None = Field(description="RFC 3339, UTC; null: the current placement")
    lat: float = Field(description="rounded to this placement's precision")
    lon: float = Field(description="rounded to this placement's precision")
    indoor: bool
    precision: int = Field(description="decimals of lat/lon on public outputs")


class PlacementList(BaseModel):
    station: str
    placements: list[PlacementOut]


def placement_out(p: Placement) -> dict[str, Any]:
    lon, lat = public_placement(p)
    return {
        "valid_from": format_time(p.valid_from.timestamp()),
        "valid_to": None if p.valid_to is None else format_time(p.valid_to.timestamp()),
        "lat": lat,
        "lon": lon,
        "indoor": p.indoor,
        "precision": p.precision,
    }


@router.get(
    "/v1/stations/{station_id}/placements",
    openapi_extra=OPTIONAL_AUTH,
    responses=access_responses(),
)
async def station_placements(
    station_id: str, registry: RegistryDep, viewer: ViewerDep
) -> PlacementList:
    """Where the station was, oldest first: each placement's period and its location rounded
    at the placement's public precision. Data measured during a placement is attributed to it
    (QPV statistics). Indoor placements (a home) are listed to the station's owner and the
    admin only; a station indoor now is unknown to anyone else."""
    station = None
    if STATION_ID_RE.fullmatch(station_id):
        station = await run_in_threadpool(registry.get, station_id)
    if station is None or not viewer.sees(station):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    found = await run_in_threadpool(registry.placements, station_id)
    if not viewer.sees_all_of(station_id):
        found = [p for p in found if not p.indoor]
    return PlacementList.model_validate(
        {"station": station_id, "placements": [placement_out(p) for p in found]}
    )
