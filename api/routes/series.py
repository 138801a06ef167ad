"""Time series: raw readings or windows (mean, min, max, count from the stored aggregate tiers;
median and p95 from raw readings), for one station or several, as JSON, CSV or Parquet."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.sensors import SENSORS
from airq_core.wire import STATION_ID_RE
from api.access import ANYONE, OPTIONAL_AUTH, Viewer, ViewerDep, read_public_spans
from api.deps import InfluxDep, RegistryDep, SettingsDep, parse_time_param
from api.exports import (
    FORMATS,
    csv_body,
    csv_stream,
    json_body,
    json_stream,
    parquet_body,
    parquet_stream,
    provenance,
)
from api.influx import InfluxQueryError
from api.problems import problem_responses
from api.protection import RateLimitDep
from api.queries import HCORR_SUFFIX, SERIES_FIELDS
from api.registry import Registry, Station
from api.selection import (
    parse_bbox,
    public_location,
    qpv_selector,
    spans_in_bbox,
    spans_in_qpv,
    validate_station_ids,
)
from api.series_source import (
    ContentCache,
    Rows,
    SeriesPlan,
    count_raw_values,
    fetch_one_to_one,
    fetch_one_to_one_file,
    fetch_rows,
    is_one_to_one,
)
from api.settings import ApiSettings
from api.spans import Spans, intersect_spans
from api.windows import AGGS, DAY, RAW_ONLY_AGGS, plan_window

log = logging.getLogger(__name__)

router = APIRouter(tags=["series"], dependencies=[RateLimitDep])

MAX_QUANTITIES = 20
PlaceFilter = Callable[[int, int], Awaitable[dict[str, Spans]]]
"""``(start_ms, end_ms) -> station id -> spans``: the stations a selection by place keeps over
the period served, each with the times it was in the place (``api.spans``)."""
LATEST_TIME = 4_102_444_800.0  # 2100-01-01: later times are refused (and earlier than 1970)

QuantityQ = Annotated[
    list[str],
    Query(
        description="quantities (repeat the parameter or separate with commas): pm2_5, pm10, "
        "co2, … and the humidity-corrected pm2_5_hcorr, pm10_hcorr",
        max_length=MAX_QUANTITIES,
    ),
]
TimeQ = Annotated[
    str | None,
    Query(description="RFC 3339 with a zone, or Unix seconds", max_length=40),
]
EveryQ = Annotated[
    str,
    Query(
        description="`raw`, or a window of at least 1 minute: 1m, 15m, 1h, 6h, 1d, 7d … "
        "(served from the coarsest stored aggregate tier that tiles it)",
        max_length=12,
    ),
]
AggQ = Annotated[
    list[str] | None,
    Query(
        description="statistics of each window: mean (default), min, max, count; median and "
        "p95 are computed from raw readings (period limited)",
        max_length=len(AGGS),
    ),
]
TzQ = Annotated[
    Literal["UTC", "Europe/Paris"],
    Query(description="time zone of daily windows (windows of whole days follow civil days)"),
]
FormatQ = Annotated[Literal["json", "csv", "parquet"], Query(description="output format")]
SensorQ = Annotated[str | None, Query(description="only this sensor model", max_length=40)]
IncludeFlaggedQ = Annotated[
    bool,
    Query(
        description="every=raw only: also return the raw readings whose flags exclude them "
        "from the aggregates (warmup, clock_suspect and any flag not listed as informational; "
        "humid, coarse_no2, model_unknown are informational and always returned). Every raw "
        "row carries its `flags` (comma-joined; null/empty when none)",
    ),
]


def _split(values: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        out.extend(p.strip(" ") for p in v.split(",") if p.strip(" "))
    return out


def _check_quantities(values: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(_split(values)))
    if not names:
        raise HTTPException(400, "give at least one 'quantity' (e.g. quantity=pm2_5)")
    if len(names) > MAX_QUANTITIES:
        raise HTTPException(400, f"too many quantities: at most {MAX_QUANTITIES}")
    for q in names:
        if q not in SERIES_FIELDS:
            raise HTTPException(
                400, f"unknown quantity {q[:40]!r}; known: {', '.join(SERIES_FIELDS)}"
            )
    return names


def _check_aggs(values: Sequence[str] | None) -> tuple[str, ...]:
    names = list(dict.fromkeys(_split(values))) or ["mean"]
    for a in names:
        if a not in AGGS:
            raise HTTPException(400, f"unknown agg {a[:20]!r}; use {', '.join(AGGS)}")
    return tuple(names)


def _time(name: str, value: str | None, default: float) -> float:
    t = parse_time_param(name, value, default)
    if not 0 <= t <= LATEST_TIME:
        raise HTTPException(400, f"'{name}' must be between 1970 and 2100")
    return t


def _correction(quantities: Sequence[str]) -> str:
    return "humidity" if any(q.endswith(HCORR_SUFFIX) for q in quantities) else "none"


def _json_header(
    header: dict[str, Any], quantities: Sequence[str], query: dict[str, Any], every: str, tz: str
) -> dict[str, Any]:
    head = dict(header)
    if len(quantities) == 1:
        head["quantity"] = quantities[0]
        head["unit"] = QUANTITIES[SERIES_FIELDS[quantities[0]]].unit
    head.update(
        units={q: QUANTITIES[SERIES_FIELDS[q]].unit for q in quantities},
        start=query["start"],
        end=query["end"],
        every=every,
        agg=query["agg"],
        tz=tz,
    )
    return head


def _cache(request: Request) -> ContentCache | None:
    return getattr(request.app.state, "series_cache", None)


async def serve_series(
    request: Request,
    stations: Sequence[Station],
    influx: Any,
    settings: ApiSettings,
    quantity: Sequence[str],
    start: str | None,
    end: str | None,
    every: str,
    agg: Sequence[str] | None,
    tz: str,
    fmt: str,
    sensor: str | None,
    header: dict[str, Any],
    filename: str,
    include_flagged: bool = False,
    placed: PlaceFilter | None = None,
    visible: PlaceFilter | None = None,
) -> Any:
    """Validate, check the size of the answer, and stream it. With ``placed``, only the
    stations it keeps over the period asked, each for the times it gives (the header's
    ``stations`` then lists them); with ``visible`` (the caller's view of indoor stations,
    :func:`visible_filter`), likewise, silently."""
    quantities = _check_quantities(quantity)
    aggs = _check_aggs(agg)
    if sensor is not None and sensor not in SENSORS:
        raise HTTPException(400, f"unknown sensor {sensor[:40]!r}; known: {', '.join(SENSORS)}")
    try:
        window = plan_window(every, tz, raw_aggs=bool(RAW_ONLY_AGGS.intersection(aggs)))
    except ValueError as exc:
        raise HTTPException(400, f"invalid 'every'/'tz': {exc}") from None
    end_t = _time("end", end, time.time())
    start_t = _time("start", start, end_t - settings.api_default_window_h * 3600)
    if start_t >= end_t:
        raise HTTPException(400, "'start' must be before 'end'")
    if include_flagged and not window.is_raw_output:
        raise HTTPException(
            400,
            "'include_flagged' applies to raw readings (every=raw) only: windows always leave "
            "flagged values out of their statistics (see their n_flagged)",
        )
    start_ms, end_ms = window.align(int(start_t * 1000), int(end_t * 1000))
    clip: tuple[tuple[str, Spans], ...] = ()
    if placed is not None or visible is not None:
        whole = ((start_ms, end_ms),)
        spans = await placed(start_ms, end_ms) if placed else {s.id: whole for s in stations}
        if visible is not None:
            seen = await visible(start_ms, end_ms)
            both = {sid: intersect_spans(sp, seen[sid]) for sid, sp in spans.items() if sid in seen}
            spans = {sid: sp for sid, sp in both.items() if sp}
        stations = [s for s in stations if s.id in spans]
        if placed is not None:
            _check_count(stations, settings)
        if "stations" in header:
            header = {**header, "stations": [s.id for s in stations]}
        # only the stations not there (or not public) all along are clipped
        clip = tuple((s.id, spans[s.id]) for s in stations if spans[s.id] != whole)
    ids = tuple(s.id for s in stations)
    plan = SeriesPlan(
        ids, tuple(quantities), sensor, start_ms, end_ms, window, aggs, include_flagged, clip
    )

    limit = settings.api_max_points if fmt == "json" else settings.api_max_export_rows
    what = "points" if fmt == "json" else "rows"
    hint = "ask for a shorter period, fewer stations or quantities, or a coarser 'every'"
    if fmt == "json":
        hint += "; CSV and Parquet exports allow more rows"
    estimate: int | None = None  # windows × stations × quantities, for window requests
    if ids and window.tier == "raw":
        days = (end_ms - start_ms) / 1000 / DAY
        if days > settings.api_max_raw_days:
            kind = "raw readings" if window.is_raw_output else "median and p95"
            raise HTTPException(
                413,
                f"{kind} are served for at most {settings.api_max_raw_days:g} days per request "
                f"(asked: {days:.1f}); split the period, or use mean/min/max/count windows",
            )
        n = await count_raw_values(influx, plan)
        raw_limit = limit if window.is_raw_output else settings.api_max_raw_values
        if n > raw_limit:
            raise HTTPException(
                413,
                f"this request reads {n} raw values, more than the limit of {raw_limit}; {hint}",
            )
    elif ids:
        estimate = window.count(start_ms, end_ms) * len(ids) * len(quantities)
        if estimate > limit:
            raise HTTPException(
                413,
                f"this request could return up to {estimate} {what}, more than the limit of "
                f"{limit}; {hint}",
            )

    query: dict[str, Any] = {
        "stations": list(ids),
        "quantity": quantities,
        "sensor": sensor,
        "start": format_time(start_ms / 1000),
        "end": format_time(end_ms / 1000),
        "every": every,
        "agg": list(plan.aggs) if not window.is_raw_output else [],
        "tz": tz,
    }
    if window.is_raw_output:
        query["include_flagged"] = include_flagged
    prov = provenance(stations, _correction(quantities), query)

    if fmt == "json" and ids and is_one_to_one(plan):
        # every stored window is one output row: read at once, build the document at once
        points = await fetch_one_to_one(influx, plan, _cache(request))  # JSON text
        head = _json_header(header, quantities, query, every, tz)
        return Response(json_body(points, plan.columns, prov, head), media_type=FORMATS[fmt])
    headers = {}
    if fmt != "json":
        headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    if (
        fmt in ("csv", "parquet")
        and is_one_to_one(plan)
        and estimate is not None
        and estimate <= settings.api_max_points
    ):
        # the same for a CSV or Parquet file of at most api_max_points rows, built column-wise
        encode_file = csv_body if fmt == "csv" else parquet_body

        def build(rows: Rows | None) -> bytes:
            if rows is None:
                empty = np.zeros(0, np.int64)
                return encode_file(empty, empty, [], {c: [] for c in plan.columns}, prov)
            return encode_file(rows.times, rows.label_of, rows.labels, rows.columns, prov)

        variant = f"{fmt} {prov.without_time()}"
        data = await fetch_one_to_one_file(influx, plan, build, variant, _cache(request))
        return Response(data, media_type=FORMATS[fmt], headers=headers)

    async def rows() -> AsyncIterator[Any]:
        if ids:
            async for r in fetch_rows(influx, plan):
                yield r

    columns = plan.columns
    if fmt == "csv":
        stream = csv_stream(rows(), columns, prov, tz)
    elif fmt == "parquet":
        stream = parquet_stream(rows(), columns, prov, tz)
    else:
        stream = json_stream(
            rows(), columns, prov, tz, _json_header(header, quantities, query, every, tz)
        )

    # The first piece is produced before the response starts, so that a store failure at the
    # start is a clean 503; a failure later truncates the body (CSV: with a '# ERROR' line).
    first = await anext(stream)

    async def chained() -> AsyncIterator[bytes]:
        yield first
        try:
            async for piece in stream:
                yield piece
        except InfluxQueryError as exc:
            log.warning("series export interrupted: %s", exc)
            if fmt == "csv":
                yield f"# ERROR: export interrupted, the data above is incomplete: {exc}\n".encode()
            raise

    return StreamingResponse(chained(), media_type=FORMATS[fmt], headers=headers)


async def _get_station(registry: Registry, station_id: str, viewer: Viewer) -> Station:
    """The station, or 404 (an indoor station to anyone but its owner and the admin too)."""
    if not STATION_ID_RE.fullmatch(station_id):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    if registry.embedded:  # SQLite: a key lookup (~0.1 ms) costs less than a thread hop
        station = registry.get(station_id)
    else:
        station = await run_in_threadpool(registry.get, station_id)
    if station is None or not viewer.sees(station):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    return station


def visible_filter(
    registry: Registry, viewer: Viewer, stations: Sequence[Station]
) -> PlaceFilter | None:
    """The times of each station's readings ``viewer`` may read (``api.access``): all of
    them for its own station or the admin, else those of outdoor placements; None when the
    viewer reads everything of ``stations``."""
    others = [s for s in stations if not viewer.sees_all_of(s.id)]
    if not others:
        return None

    async def visible(start_ms: int, end_ms: int) -> dict[str, Spans]:
        if registry.embedded:  # SQLite: one indexed query costs less than a thread hop
            spans = read_public_spans(registry, others, start_ms, end_ms)
        else:
            spans = await run_in_threadpool(read_public_spans, registry, others, start_ms, end_ms)
        whole = ((start_ms, end_ms),)
        return {**{s.id: whole for s in stations if viewer.sees_all_of(s.id)}, **spans}

    return visible


class SeriesDocument(BaseModel):
    """The JSON answer (CSV and Parquet carry the same rows and provenance)."""

    model_config = ConfigDict(extra="allow")

    station: str | None = Field(default=None, description="one-station route")
    location: dict[str, float] | None = Field(
        default=None, description="one-station route: rounded {lat, lon}"
    )
    stations: list[str] | None = Field(default=None, description="/v1/series: stations served")
    quantity: str | None = Field(default=None, description="when one quantity was asked")
    unit: str | None = Field(default=None, description="when one quantity was asked")
    units: dict[str, str] = Field(description="unit of each quantity")
    start: str = Field(description="start served (RFC 3339), rounded outward to windows")
    end: str = Field(description="end served (RFC 3339)")
    every: str
    agg: list[str] = Field(description="statistics of each window (empty for raw readings)")
    tz: str
    licence: dict[str, Any] = Field(description="licence, attribution and provenance")
    columns: list[str] = Field(description="the keys of each point, in order")
    points: list[dict[str, Any]] = Field(
        description="one object per row: time, station, sensor, quantity, then value or "
        "one member per statistic"
    )


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": SeriesDocument,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "the series (JSON object, CSV with '#' licence lines, or Parquet)",
    },
    **problem_responses(
        400,
        401,
        404,
        413,
        429,
        503,
        what={
            401: "credentials given but wrong (none: the public view)",
            404: "unknown station (or QPV); an indoor station to anyone but its owner and "
            "the admin",
            413: "the answer would exceed a limit (the detail gives it and how to get under it)",
            503: "InfluxDB (or the QPV layer) unavailable",
        },
    ),
}


@router.get(
    "/v1/stations/{station_id}/series",
    openapi_extra=OPTIONAL_AUTH,
    responses=_RESPONSES,
    response_model=None,
)
async def station_series(
    request: Request,
    station_id: str,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    quantity: QuantityQ,
    start: TimeQ = None,
    end: TimeQ = None,
    every: EveryQ = "raw",
    agg: AggQ = None,
    tz: TzQ = "UTC",
    format: FormatQ = "json",
    sensor: SensorQ = None,
    include_flagged: IncludeFlaggedQ = False,
) -> Any:
    """Series of one station (default: raw readings of the last 24 hours).

    Rows are long: one per (time, station, sensor, quantity), with `value` and `flags` for
    raw readings or one column per statistic. Window times are window starts. Licence and
    provenance come with every format (JSON `licence`, CSV `#` lines, Parquet key-value
    metadata).

    Flagged readings: raw readings whose flags exclude them from the aggregates (`warmup`,
    `clock_suspect` and any flag not listed as informational) are left out unless
    `include_flagged=true`; readings with informational flags only (`humid`, `coarse_no2`,
    `model_unknown`) are always returned, with their flags. Windows leave the excluded
    values out of their statistics, as the stored aggregates do.
    """
    station = await _get_station(registry, station_id, viewer)
    lon, lat = public_location(station, settings.public_location_decimals)
    header = {"station": station.id, "location": {"lat": lat, "lon": lon}}
    return await serve_series(
        request,
        [station],
        influx,
        settings,
        quantity,
        start,
        end,
        every,
        agg,
        tz,
        format,
        sensor,
        header,
        f"airq_{station.id}",
        include_flagged,
        visible=visible_filter(registry, viewer, [station]),
    )


@router.get("/v1/series", openapi_extra=OPTIONAL_AUTH, responses=_RESPONSES, response_model=None)
async def series(
    request: Request,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    quantity: QuantityQ,
    station: Annotated[
        list[str] | None, Query(description="station ids (repeat the parameter)", max_length=1000)
    ] = None,
    bbox: Annotated[
        str | None,
        Query(description="min_lon,min_lat,max_lon,max_lat (WGS84)", max_length=120),
    ] = None,
    qpv: Annotated[
        str | None, Query(description="QPV code (stations of that QPV)", max_length=32)
    ] = None,
    start: TimeQ = None,
    end: TimeQ = None,
    every: EveryQ = "1h",
    agg: AggQ = None,
    tz: TzQ = "UTC",
    format: FormatQ = "json",
    sensor: SensorQ = None,
    include_flagged: IncludeFlaggedQ = False,
) -> Any:
    """Series of several stations: `station=a&station=b`, a bounding box, or a QPV (the
    stations matching every filter given; retired stations included, for history).

    Flagged readings: raw readings whose flags exclude them from the aggregates (`warmup`,
    `clock_suspect` and any flag not listed as informational) are left out unless
    `include_flagged=true`; readings with informational flags only (`humid`, `coarse_no2`,
    `model_unknown`) are always returned, with their flags (column `flags`). Windows leave
    the excluded values out of their statistics, as the stored aggregates do.
    """
    ids = _split(station)
    if not ids and bbox is None and qpv is None:
        raise HTTPException(400, "select stations with 'station', 'bbox' or 'qpv'")
    chosen, placed = await select_stations(
        request, registry, settings, ids, bbox, qpv, include_retired=True, viewer=viewer
    )
    return await serve_series(
        request,
        chosen,
        influx,
        settings,
        quantity,
        start,
        end,
        every,
        agg,
        tz,
        format,
        sensor,
        {"stations": [s.id for s in chosen]},
        "airq_series",
        include_flagged,
        placed,
        visible_filter(registry, viewer, chosen),
    )


async def select_stations(
    request: Request,
    registry: Registry,
    settings: ApiSettings,
    ids: Sequence[str],
    bbox: str | None,
    qpv: str | None,
    include_retired: bool,
    viewer: Viewer = ANYONE,
) -> tuple[list[Station], PlaceFilter | None]:
    """Stations of the explicit ids (all must exist for ``viewer``: an indoor station is
    unknown to anyone but its owner and the admin), else every station ``viewer`` sees; and,
    when a place
    is given (``bbox``, ``qpv``), the filter that keeps of them, over the period asked, the
    times their placement was in every place given (see :data:`PlaceFilter`)."""
    wanted = validate_station_ids(ids, settings.api_max_stations) if ids else []
    box = parse_bbox(bbox) if bbox is not None else None
    if qpv is not None:
        qpv_selector(request, qpv)  # a malformed code or no selector: refused before reading
    if wanted:
        # only the stations asked are read: a request's cost does not grow with the fleet
        if registry.embedded and len(wanted) <= 10:  # SQLite: less than a thread hop
            found = registry.get_many(wanted)
        else:
            found = await run_in_threadpool(registry.get_many, wanted)
        by_id = {sid: s for sid, s in found.items() if viewer.sees(s)}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise HTTPException(404, f"unknown station(s): {', '.join(missing[:10])}")
        chosen = [by_id[i] for i in wanted]
    else:
        listed = await run_in_threadpool(registry.list, include_retired)
        chosen = [s for s in listed if viewer.sees(s)]
    if box is None and qpv is None:
        _check_count(chosen, settings)
        return chosen, None
    decimals = settings.public_location_decimals

    async def placed(start_ms: int, end_ms: int) -> dict[str, Spans]:
        spans: dict[str, Spans] | None = None
        candidates = chosen
        if box is not None:
            spans = await run_in_threadpool(
                spans_in_bbox, registry, candidates, box, decimals, start_ms, end_ms
            )
            candidates = [s for s in candidates if s.id in spans]
        if qpv is not None:
            got = await spans_in_qpv(request, registry, qpv, candidates, start_ms, end_ms)
            if spans is not None:
                got = {sid: intersect_spans(sp, spans[sid]) for sid, sp in got.items()}
            spans = {sid: sp for sid, sp in got.items() if sp}
        assert spans is not None
        return spans

    return chosen, placed


def _check_count(chosen: Sequence[Station], settings: ApiSettings) -> None:
    if len(chosen) > settings.api_max_stations:
        raise HTTPException(
            413,
            f"{len(chosen)} stations selected, more than {settings.api_max_stations} per "
            "request; narrow the bounding box",
        )
