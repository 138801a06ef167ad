"""Time series: raw readings or windows (mean, min, max, count from the stored aggregate tiers;
median and p95 from raw readings), for one station or several, as JSON, CSV or Parquet."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
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
    Provenance,
    Row,
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
from api.windows import AGGS, DAY, RAW_ONLY_AGGS, Window, plan_window

log = logging.getLogger(__name__)

router = APIRouter(tags=["series"])

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
StationQ = Annotated[
    list[str] | None, Query(description="station ids (repeat the parameter)", max_length=1000)
]
BboxQ = Annotated[
    str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS84)", max_length=120)
]
QpvQ = Annotated[str | None, Query(description="QPV code (stations of that QPV)", max_length=32)]
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


# -- the query: one typed object, built by the routes' dependencies ---------------------------


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """The query parameters of a series route, as given (checked by :func:`validate`);
    ``station``, ``bbox`` and ``qpv`` select the stations of ``/v1/series``."""

    quantity: Sequence[str]
    start: str | None = None
    end: str | None = None
    every: str = "raw"
    agg: Sequence[str] | None = None
    tz: str = "UTC"
    format: str = "json"
    sensor: str | None = None
    include_flagged: bool = False
    station: Sequence[str] = ()
    bbox: str | None = None
    qpv: str | None = None


async def station_series_query(
    quantity: QuantityQ,
    start: TimeQ = None,
    end: TimeQ = None,
    every: EveryQ = "raw",
    agg: AggQ = None,
    tz: TzQ = "UTC",
    format: FormatQ = "json",
    sensor: SensorQ = None,
    include_flagged: IncludeFlaggedQ = False,
) -> SeriesQuery:
    """The query of ``/v1/stations/{station_id}/series`` (raw readings by default). Async,
    as every dependency that does not block: FastAPI runs a plain ``def`` in a thread."""
    return SeriesQuery(quantity, start, end, every, agg, tz, format, sensor, include_flagged)


async def series_query(
    quantity: QuantityQ,
    station: StationQ = None,
    bbox: BboxQ = None,
    qpv: QpvQ = None,
    start: TimeQ = None,
    end: TimeQ = None,
    every: EveryQ = "1h",
    agg: AggQ = None,
    tz: TzQ = "UTC",
    format: FormatQ = "json",
    sensor: SensorQ = None,
    include_flagged: IncludeFlaggedQ = False,
) -> SeriesQuery:
    """The query of ``/v1/series`` (hourly windows by default), with its selection."""
    return SeriesQuery(
        quantity,
        start,
        end,
        every,
        agg,
        tz,
        format,
        sensor,
        include_flagged,
        _split(station),
        bbox,
        qpv,
    )


# -- validate → plan → size check → render ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    """A query found valid: what it asks for, the period aligned to its windows."""

    quantities: tuple[str, ...]
    aggs: tuple[str, ...]
    window: Window
    start_ms: int
    end_ms: int


def validate(query: SeriesQuery, settings: ApiSettings) -> Checked:
    """The query checked (400 with a sentence saying what is wrong), its period aligned."""
    quantities = _check_quantities(query.quantity)
    aggs = _check_aggs(query.agg)
    sensor = query.sensor
    if sensor is not None and sensor not in SENSORS:
        raise HTTPException(400, f"unknown sensor {sensor[:40]!r}; known: {', '.join(SENSORS)}")
    try:
        window = plan_window(query.every, query.tz, raw_aggs=bool(RAW_ONLY_AGGS.intersection(aggs)))
    except ValueError as exc:
        raise HTTPException(400, f"invalid 'every'/'tz': {exc}") from None
    end_t = _time("end", query.end, time.time())
    start_t = _time("start", query.start, end_t - settings.api_default_window_h * 3600)
    if start_t >= end_t:
        raise HTTPException(400, "'start' must be before 'end'")
    if query.include_flagged and not window.is_raw_output:
        raise HTTPException(
            400,
            "'include_flagged' applies to raw readings (every=raw) only: windows always leave "
            "flagged values out of their statistics (see their n_flagged)",
        )
    start_ms, end_ms = window.align(int(start_t * 1000), int(end_t * 1000))
    return Checked(tuple(quantities), aggs, window, start_ms, end_ms)


@dataclass(frozen=True, slots=True)
class Selection:
    """The stations a route serves, before the period is known: with ``placed``, only those
    it keeps over the period, each for the times it gives (the header's ``stations`` then
    lists them); with ``visible`` (the caller's view of indoor stations,
    :func:`visible_filter`), likewise, silently."""

    stations: Sequence[Station]
    header: dict[str, Any]
    filename: str
    placed: PlaceFilter | None = None
    visible: PlaceFilter | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """What will be read: the plan, the stations served and the document's header."""

    plan: SeriesPlan
    stations: Sequence[Station]
    header: dict[str, Any]


async def plan_series(
    query: SeriesQuery, checked: Checked, selection: Selection, settings: ApiSettings
) -> Planned:
    """The plan of a valid query over the stations selected, each clipped to the times the
    selection keeps it for (413 when a place keeps too many stations)."""
    stations, header = selection.stations, selection.header
    start_ms, end_ms = checked.start_ms, checked.end_ms
    placed, visible = selection.placed, selection.visible
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
    plan = SeriesPlan(
        tuple(s.id for s in stations),
        checked.quantities,
        query.sensor,
        start_ms,
        end_ms,
        checked.window,
        checked.aggs,
        query.include_flagged,
        clip,
    )
    return Planned(plan, stations, header)


async def check_size(plan: SeriesPlan, fmt: str, influx: Any, settings: ApiSettings) -> int | None:
    """413 when the answer would exceed a limit (the detail says how to get under it). Returns
    the estimated rows of a window request (windows × stations × quantities), else None."""
    if not plan.stations:
        return None
    window = plan.window
    limit = settings.api_max_points if fmt == "json" else settings.api_max_export_rows
    hint = "ask for a shorter period, fewer stations or quantities, or a coarser 'every'"
    if fmt == "json":
        hint += "; CSV and Parquet exports allow more rows"
    if window.tier == "raw":
        days = (plan.end_ms - plan.start_ms) / 1000 / DAY
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
        return None
    estimate = window.count(plan.start_ms, plan.end_ms) * len(plan.stations) * len(plan.quantities)
    if estimate > limit:
        what = "points" if fmt == "json" else "rows"
        raise HTTPException(
            413,
            f"this request could return up to {estimate} {what}, more than the limit of "
            f"{limit}; {hint}",
        )
    return estimate


@dataclass(frozen=True, slots=True)
class Document:
    """What every format carries besides its rows: the licence and provenance, the JSON
    header, the columns of each row."""

    prov: Provenance
    header: dict[str, Any]
    columns: tuple[str, ...]


def describe(query: SeriesQuery, planned: Planned) -> Document:
    """The provenance (with the query as served) and the JSON header of an answer."""
    plan = planned.plan
    raw = plan.window.is_raw_output
    served: dict[str, Any] = {
        "stations": list(plan.stations),
        "quantity": list(plan.quantities),
        "sensor": plan.sensor,
        "start": format_time(plan.start_ms / 1000),
        "end": format_time(plan.end_ms / 1000),
        "every": query.every,
        "agg": [] if raw else list(plan.aggs),
        "tz": query.tz,
    }
    if raw:
        served["include_flagged"] = plan.include_flagged
    prov = provenance(planned.stations, _correction(plan.quantities), served)
    head = _json_header(planned.header, plan.quantities, served, query.every, query.tz)
    return Document(prov, head, plan.columns)


async def serve_series(
    request: Request,
    query: SeriesQuery,
    selection: Selection,
    influx: Any,
    settings: ApiSettings,
) -> Response:
    """The series a route selected, in the format asked: validate → plan → size check →
    render."""
    checked = validate(query, settings)
    planned = await plan_series(query, checked, selection, settings)
    estimate = await check_size(planned.plan, query.format, influx, settings)
    doc = describe(query, planned)
    plan, fmt = planned.plan, query.format
    if plan.stations and is_one_to_one(plan):
        if fmt == "json":
            return await render_json(plan, doc, influx, _cache(request))
        if estimate is not None and estimate <= settings.api_max_points:
            return await render_file(plan, doc, fmt, selection.filename, influx, _cache(request))
    return await render_stream(plan, doc, fmt, query.tz, selection.filename, influx)


async def render_json(
    plan: SeriesPlan, doc: Document, influx: Any, cache: ContentCache | None
) -> Response:
    """Stored windows served one to one: read at once, the document built at once."""
    points = await fetch_one_to_one(influx, plan, cache)  # JSON text
    return Response(
        json_body(points, doc.columns, doc.prov, doc.header), media_type=FORMATS["json"]
    )


async def render_file(
    plan: SeriesPlan,
    doc: Document,
    fmt: str,
    filename: str,
    influx: Any,
    cache: ContentCache | None,
) -> Response:
    """Stored windows served one to one as a CSV or Parquet file of at most api_max_points
    rows, built column-wise (the bytes of :func:`render_stream`)."""
    encode_file = csv_body if fmt == "csv" else parquet_body

    def build(rows: Rows | None) -> bytes:
        if rows is None:
            empty = np.zeros(0, np.int64)
            return encode_file(empty, empty, [], {c: [] for c in doc.columns}, doc.prov)
        return encode_file(rows.times, rows.label_of, rows.labels, rows.columns, doc.prov)

    variant = f"{fmt} {doc.prov.without_time()}"
    data = await fetch_one_to_one_file(influx, plan, build, variant, cache)
    return Response(data, media_type=FORMATS[fmt], headers=_attachment(fmt, filename))


async def render_stream(
    plan: SeriesPlan, doc: Document, fmt: str, tz: str, filename: str, influx: Any
) -> Response:
    """Rows streamed as InfluxDB gives them, one row at a time through the format's encoder.
    The first piece is produced before the response starts, so that a store failure at the
    start is a clean 503; a failure later truncates the body (CSV: with a '# ERROR' line)."""

    async def rows() -> AsyncIterator[Row]:
        if plan.stations:
            async for r in fetch_rows(influx, plan):
                yield r

    if fmt == "csv":
        stream = csv_stream(rows(), doc.columns, doc.prov, tz)
    elif fmt == "parquet":
        stream = parquet_stream(rows(), doc.columns, doc.prov, tz)
    else:
        stream = json_stream(rows(), doc.columns, doc.prov, tz, doc.header)
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

    return StreamingResponse(chained(), media_type=FORMATS[fmt], headers=_attachment(fmt, filename))


def _attachment(fmt: str, filename: str) -> dict[str, str]:
    if fmt == "json":
        return {}
    return {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}


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
    query: Annotated[SeriesQuery, Depends(station_series_query)],
) -> Response:
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
    selection = Selection(
        [station],
        {"station": station.id, "location": {"lat": lat, "lon": lon}},
        f"airq_{station.id}",
        visible=visible_filter(registry, viewer, [station]),
    )
    return await serve_series(request, query, selection, influx, settings)


@router.get("/v1/series", openapi_extra=OPTIONAL_AUTH, responses=_RESPONSES, response_model=None)
async def series(
    request: Request,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    query: Annotated[SeriesQuery, Depends(series_query)],
) -> Response:
    """Series of several stations: `station=a&station=b`, a bounding box, or a QPV (the
    stations matching every filter given; retired stations included, for history).

    Flagged readings: raw readings whose flags exclude them from the aggregates (`warmup`,
    `clock_suspect` and any flag not listed as informational) are left out unless
    `include_flagged=true`; readings with informational flags only (`humid`, `coarse_no2`,
    `model_unknown`) are always returned, with their flags (column `flags`). Windows leave
    the excluded values out of their statistics, as the stored aggregates do.
    """
    if not query.station and query.bbox is None and query.qpv is None:
        raise HTTPException(400, "select stations with 'station', 'bbox' or 'qpv'")
    chosen, placed = await select_stations(
        request,
        registry,
        settings,
        query.station,
        query.bbox,
        query.qpv,
        include_retired=True,
        viewer=viewer,
    )
    selection = Selection(
        chosen,
        {"stations": [s.id for s in chosen]},
        "airq_series",
        placed,
        visible_filter(registry, viewer, chosen),
    )
    return await serve_series(request, query, selection, influx, settings)


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
        if registry.embedded and len(wanted) <= 10:
            # SQLite: each station from the registry's memo (~10 µs, forgotten at every
            # commit to the file) rather than one query through SQLAlchemy (~150 µs)
            found = {sid: s for sid in wanted if (s := registry.get(sid)) is not None}
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
