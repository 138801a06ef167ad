"""Station registry administration, behind the admin token (``AIRQ_ADMIN_TOKEN``, sent as
``Authorization: Bearer <token>``): create, update name/location/indoor flag/public
precision, retire, rotate the station token. Station tokens are shown once and stored hashed;
exact locations are shown here only.

With the broker's admin account configured (``AIRQ_BROKER_ADMIN_URL``), creating, rotating and
retiring take effect on the broker before the answer (api/broker_accounts.py): the station can
publish at once, an old token is refused at once, a retired station's connection is closed.
When the broker cannot be reached the answer is 503 and nothing is changed."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airq_core.wire import STATION_ID_RE
from api import bulk_stations as bulk
from api.broker_accounts import BrokerError
from api.bulk_stations import MAX_ROWS
from api.deps import RegistryDep, SettingsDep
from api.hardware import book_for
from api.paging import LINK_HEADER, MAX_PAGE, PAGE, next_page
from api.problems import problem_responses
from api.protection import read_body_limited
from api.registry import (
    DEPLOYMENT_DEFAULT,
    PRECISION_MAX,
    PRECISION_MIN,
    Registry,
    RegistryError,
    Station,
)
from api.routes.qpv import forget_station_answers

_bearer = HTTPBearer(auto_error=False, description="AIRQ_ADMIN_TOKEN")


def require_admin(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = request.app.state.settings.admin_token
    if expected is None:
        raise HTTPException(
            403, "the registry endpoints are disabled on this server (set AIRQ_ADMIN_TOKEN)"
        )
    if creds is None or not hmac.compare_digest(
        creds.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(
            401, "admin token missing or wrong", headers={"WWW-Authenticate": "Bearer"}
        )


router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=problem_responses(
        401,
        403,
        429,
        what={401: "admin token missing or wrong", 403: "registry endpoints disabled"},
    ),
)

Lat = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Lon = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]
Name = Annotated[str, Field(max_length=200)]
Precision = Annotated[
    int,
    Field(
        strict=True,
        ge=PRECISION_MIN,
        le=PRECISION_MAX,
        description="decimals of lat/lon on every public output (map, station list, "
        "placements, exports): 2 ≈ 1 km, 3 ≈ 100 m, 4 ≈ 10 m, 5 ≈ 1 m; the owner's choice, "
        "the deployment's AIRQ_PUBLIC_LOCATION_DECIMALS when not given (docs/api.md, "
        '"Privacy")',
    ),
]


class StationBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationCreate(StationBase):
    id: Annotated[str, Field(pattern=STATION_ID_RE.pattern, examples=["lens-01"])]
    lat: Lat
    lon: Lon
    name: Name = ""
    indoor: bool = False
    precision: Precision | None = None


class StationUpdate(StationBase):
    name: Name | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    indoor: bool | None = None
    precision: Precision | None = Field(
        default=None,
        description="decimals of lat/lon on public outputs (null: back to the deployment's "
        "default). Moves nothing: the current placement is published at it from now on, and "
        "past placements published more precisely are coarsened to it",
    )
    moved_at: AwareDatetime | None = Field(
        default=None,
        description="when the station was moved (with lat/lon/indoor; default now): its "
        "placement until then keeps the data measured there",
    )


class StationAdmin(BaseModel):
    """A station as the registry holds it (exact location)."""

    id: str
    name: str
    lat: float
    lon: float
    indoor: bool
    source: str
    precision: int | None = Field(
        description="decimals of lat/lon on public outputs chosen for the station; null: the "
        "deployment's AIRQ_PUBLIC_LOCATION_DECIMALS"
    )
    created_at: AwareDatetime = Field(description="RFC 3339, UTC")
    retired_at: AwareDatetime | None = Field(description="RFC 3339, UTC; null while active")


class StationListed(StationAdmin):
    hardware: dict[str, Any] | None = Field(
        default=None,
        description="airrohr boards only: the current chip id (X-Sensor), since when, the "
        "number of hardware changes, and `foreign`: pushes from the chip of another station "
        "(flagged); null before the first push with a chip id",
    )


class StationWithToken(StationAdmin):
    token: str = Field(description="the station's secret, shown once: write it down")


def _out(s: Station) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "lat": s.lat,
        "lon": s.lon,
        "indoor": s.indoor,
        "source": s.source,
        "precision": s.precision,
        "created_at": s.created_at,
        "retired_at": s.retired_at,
    }


BROKER_DOWN = {503: "the broker could not apply the change: nothing was changed"}


def _broker_refused(exc: BrokerError) -> HTTPException:
    return HTTPException(503, f"{exc}", headers={"Retry-After": "5"})


async def _existing(registry: Registry, station_id: str) -> Station:
    station = None
    if STATION_ID_RE.fullmatch(station_id):
        station = await run_in_threadpool(registry.get, station_id)
    if station is None:
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    return station


@router.get(
    "/stations",
    response_model=list[StationListed],
    responses={200: {"description": "stations ordered by id", "headers": LINK_HEADER}},
)
async def admin_list(
    request: Request,
    registry: RegistryDep,
    include_retired: bool = True,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="stations per page")] = PAGE,
    after: Annotated[
        str | None,
        Query(max_length=64, description="the last id of the previous page (a cursor)"),
    ] = None,
) -> Response:
    """The stations with their exact location, ordered by id, a page at a time: a ``Link``
    header (``rel="next"``) gives the next page while there is one."""
    found = await run_in_threadpool(registry.list_page, after, limit + 1, include_retired)
    headers = {}
    if len(found) > limit:
        found = found[:limit]
        headers["Link"] = f'<{next_page(request, found[-1].id, limit)}>; rel="next"'
    # which board sends for each station: chip, hardware changes, foreign pushes (api/hardware.py)
    hardware = await run_in_threadpool(book_for(registry).summaries, [s.id for s in found])
    listing = [_out(s) | {"hardware": hardware.get(s.id)} for s in found]
    body = orjson.dumps(listing, option=orjson.OPT_UTC_Z)
    return Response(body, media_type="application/json", headers=headers)


class BulkRow(BaseModel):
    row: int = Field(description="position in the JSON array (from 1), or CSV line number")
    id: str | None = Field(description="the station id given on this row (null: none usable)")
    ok: bool
    code: str | None = Field(
        default=None,
        description="why the row is refused: bad_row, bad_id, bad_coords, bad_precision, "
        "duplicate, exists",
    )
    reason: str | None = Field(default=None, description="the same, as a sentence")
    token: str | None = Field(
        default=None, description="the station's secret, shown only this once"
    )


class BulkReport(BaseModel):
    created: int = Field(description="stations created (0 on a dry run)")
    dry_run: bool
    rows: list[BulkRow]


_CSV_DOC = (
    "a header naming id, lat, lon and optionally name, indoor, precision (any order), "
    "separated by , ; or tab, then one station per line; UTF-8; indoor: true/false (1/0, "
    f"yes/no, oui/non); precision: {PRECISION_MIN} to {PRECISION_MAX} decimals of lat/lon on "
    "public outputs, empty for the deployment's default"
)
_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "description": f"at most {MAX_ROWS} stations, within AIRQ_MAX_REQUEST_BYTES",
                    "items": StationCreate.model_json_schema(),
                }
            },
            "text/csv": {
                "schema": {"type": "string", "description": _CSV_DOC},
                "example": "id,lat,lon,name,indoor,precision\n"
                "lens-01,50.449,2.839,Grande Résidence,false,2\n"
                "lens-02,50.432,2.833,Mairie,false,\n",
            },
        },
    }
}


@router.post(
    "/stations/bulk",
    status_code=201,
    openapi_extra=_BULK_BODY,
    responses={
        200: {"model": BulkReport, "description": "dry run: every row valid, nothing created"},
        201: {"model": BulkReport, "description": "every station created; tokens shown once"},
        **problem_responses(
            400,
            413,
            415,
            422,
            503,
            what={
                400: "the body as a whole is unusable (not JSON, not an array, no CSV header)",
                413: "the body or the number of rows exceeds a limit",
                415: "the body is neither application/json nor text/csv",
                422: "rows refused: nothing was created; `rows` is the per-row report",
                **BROKER_DOWN,
            },
        ),
    },
)
async def admin_bulk_create(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    dry_run: Annotated[
        bool, Query(description="check every row, create nothing (the same report)")
    ] = False,
) -> Response:
    """Create many stations at once, all or none: a JSON array of stations (the fields of
    ``POST /v1/admin/stations``) or a CSV file. The answer is a report with one entry per
    row: its number, its id, ``ok``, and for a created station its token, shown only this
    once. When any row is refused (``code``, ``reason``), nothing is created and the answer is
    a 422 problem carrying the same ``rows``. With the broker configured, the accounts are
    created before the answer (docs/api.md, "Bulk registration")."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "text/csv"):
        raise HTTPException(415, "send a JSON array (application/json) or a CSV file (text/csv)")
    body = await read_body_limited(request, settings.max_request_bytes)
    try:
        if media == "text/csv":
            rows = bulk.rows_from_csv(body)
        else:
            try:
                items = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise bulk.BulkBodyError("the body is not JSON") from None
            rows = bulk.rows_from_json(items)
        if not rows:
            raise bulk.BulkBodyError("no station in the body")
    except bulk.BulkBodyError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    bulk.refuse_duplicates(rows)
    ids = [r.station.id for r in rows if r.station is not None]
    bulk.refuse_existing(rows, await run_in_threadpool(registry.existing_ids, ids))
    refused = sum(r.station is None for r in rows)
    report = [r.report() for r in rows]
    if refused:
        raise HTTPException(
            422,
            {
                "message": f"{refused} of {len(rows)} rows refused: nothing was created",
                "created": 0,
                "dry_run": dry_run,
                "rows": report,
            },
        )
    if dry_run:
        doc = {"created": 0, "dry_run": True, "rows": report}
        return Response(orjson.dumps(doc), media_type="application/json")
    new = [r.station for r in rows if r.station is not None]
    try:
        tokens = await run_in_threadpool(registry.add_many, new)
    except RegistryError as exc:  # added meanwhile by another request
        raise HTTPException(409, f"{exc}: nothing was created; send the file again") from None
    except BrokerError as exc:
        raise _broker_refused(exc) from None
    forget_station_answers(request.app.state)
    for entry, token in zip(report, tokens, strict=True):
        entry["token"] = token
    doc = {"created": len(tokens), "dry_run": False, "rows": report}
    return Response(orjson.dumps(doc), status_code=201, media_type="application/json")


@router.post(
    "/stations",
    status_code=201,
    response_model=StationWithToken,
    responses=problem_responses(
        400,
        409,
        503,
        what={400: "refused, or a body that is not JSON", 409: "station exists", **BROKER_DOWN},
    ),
)
async def admin_create(
    request: Request, body: StationCreate, registry: RegistryDep
) -> dict[str, Any]:
    """Create a station; the answer holds its token, shown only this once. The station can
    publish over MQTT as soon as the answer is sent (client id: its id). ``precision``: the
    decimals its location is published at (default: the deployment's)."""
    try:
        token = await run_in_threadpool(
            lambda: registry.add(
                body.id, body.lat, body.lon, body.name, body.indoor, precision=body.precision
            )
        )
    except RegistryError as exc:
        code = 409 if "already exists" in str(exc) else 400
        raise HTTPException(code, str(exc)) from None
    except BrokerError as exc:
        raise _broker_refused(exc) from None
    forget_station_answers(request.app.state)
    station = await _existing(registry, body.id)
    return {**_out(station), "token": token}


@router.patch(
    "/stations/{station_id}",
    response_model=StationAdmin,
    responses=problem_responses(
        400, 404, what={400: "refused, or a body that is not JSON", 404: "unknown station"}
    ),
)
async def admin_update(
    request: Request, station_id: str, body: StationUpdate, registry: RegistryDep
) -> dict[str, Any]:
    """Change the name, the location, the indoor flag or the public precision (only the
    fields given). A new location or indoor flag closes the current placement at
    ``moved_at`` (default now) and opens a new one (history: GET
    /v1/stations/{station_id}/placements). A precision alone moves nothing: every public
    output shows the current location at it at once, and past placements published more
    precisely are coarsened to it (none is made more precise); a move without ``precision``
    keeps the station's, unless it is finer than the deployment's default."""
    await _existing(registry, station_id)
    # null: back to the deployment's default; absent: unchanged
    default = body.precision is None and "precision" in body.model_fields_set
    precision = DEPLOYMENT_DEFAULT if default else body.precision
    try:
        station = await run_in_threadpool(
            lambda: registry.update(
                station_id,
                name=body.name,
                lat=body.lat,
                lon=body.lon,
                indoor=body.indoor,
                moved_at=body.moved_at,
                precision=precision,
            )
        )
    except RegistryError as exc:
        raise HTTPException(400, str(exc)) from None
    forget_station_answers(request.app.state)
    return _out(station)


@router.post(
    "/stations/{station_id}/retire",
    response_model=StationAdmin,
    responses=problem_responses(404, 503, what={404: "unknown station", **BROKER_DOWN}),
)
async def admin_retire(station_id: str, registry: RegistryDep) -> dict[str, Any]:
    """Retire a station: its token stops working (its broker connection is closed), its data
    stays available."""
    await _existing(registry, station_id)
    try:
        await run_in_threadpool(registry.retire, station_id)
    except BrokerError as exc:
        raise _broker_refused(exc) from None
    return _out(await _existing(registry, station_id))


@router.post(
    "/stations/{station_id}/token",
    response_model=StationWithToken,
    responses=problem_responses(404, 503, what={404: "unknown station", **BROKER_DOWN}),
)
async def admin_rotate_token(station_id: str, registry: RegistryDep) -> dict[str, Any]:
    """Give the station a new token: the old one stops working at once, over HTTP and on the
    broker (a connection open with it is closed)."""
    await _existing(registry, station_id)
    try:
        token = await run_in_threadpool(registry.rotate_token, station_id)
    except BrokerError as exc:
        raise _broker_refused(exc) from None
    return {**_out(await _existing(registry, station_id)), "token": token}
