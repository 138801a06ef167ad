"""``POST /v1/ingest/readings``: wire-format v1 batches over HTTP, for boards that cannot speak
MQTT. The station authenticates with its token (HTTP Basic ``station:token``, or
``Authorization: Bearer <token>`` with ``?station=<id>``); valid readings are published to the
broker like MQTT readings (same pipeline, same validation), and the answer counts what was
accepted and what was rejected, by reason."""

from __future__ import annotations

import base64
import binascii
import time
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core import wire
from airq_core.errors import WireFormatError
from airq_core.sensors import SENSORS
from airq_core.wire import STATION_ID_RE
from api.deps import PublisherDep, RegistryDep
from api.problems import problem_response, problem_responses
from api.protection import read_body_limited
from api.publish import PublishError

router = APIRouter(tags=["ingest"])

_AUTH = {"WWW-Authenticate": 'Basic realm="airq station", charset="UTF-8"'}
MAX_ERRORS_SHOWN = 20

_READING_SCHEMA = {
    "type": "object",
    "required": ["ts", "sensor", "values"],
    "properties": {
        "ts": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]},
        "sensor": {"type": "string", "enum": sorted(SENSORS)},
        "values": {"type": "object", "additionalProperties": {"type": "number"}},
        # null: no sequence number (what the decoder does with an absent one)
        "seq": {"type": ["integer", "null"], "minimum": 0, "maximum": wire.SEQ_MAX},
        "flags": {
            "type": "array",
            "maxItems": 16,
            "items": {"type": "string", "pattern": f"^{wire.FLAG_RE.pattern}$"},
        },
    },
}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _READING_SCHEMA,
                        {
                            "type": "array",
                            "items": _READING_SCHEMA,
                            "minItems": 1,
                            "maxItems": 1000,
                        },
                    ]
                },
                "example": {
                    "ts": "2026-11-21T20:15:00Z",
                    "sensor": "sds011",
                    "values": {"pm2_5": 7.1, "pm10": 12.3},
                    "seq": 42,
                },
            }
        },
    }
}


class IngestAnswer(BaseModel):
    station: str
    accepted: int = Field(description="readings published to the pipeline")
    rejected: dict[str, int] = Field(description="rejected readings or values, by reason")
    errors: list[str] = Field(description=f"the first {MAX_ERRORS_SHOWN} rejections")


class _DocumentedBasic(HTTPBasic):
    """Declares the scheme in the OpenAPI document (so clients and schemathesis's ignored_auth
    know the route is protected); :func:`_credentials` reads the header itself."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _DocumentedBearer(HTTPBearer):
    """See :class:`_DocumentedBasic`: the station's token, with ``?station=<id>``."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_station_basic = _DocumentedBasic(
    scheme_name="stationBasic", description="station id and token", auto_error=False
)
_station_bearer = _DocumentedBearer(
    scheme_name="stationBearer", description="station token, with ?station=<id>", auto_error=False
)


def _credentials(request: Request, station_q: str | None) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPException(401, "malformed Basic credentials", headers=_AUTH) from None
        station, sep, token = decoded.partition(":")
        if not sep:
            raise HTTPException(401, "Basic credentials must be station:token", headers=_AUTH)
        return station, token
    if scheme == "bearer":
        if not station_q:
            # incomplete credentials are credentials refused: 401, like a wrong token
            raise HTTPException(
                401, "with a Bearer token, give the station as ?station=<id>", headers=_AUTH
            )
        return station_q, value.strip()
    raise HTTPException(401, "station credentials required (Basic station:token)", headers=_AUTH)


async def authenticated_station(
    request: Request,
    registry: RegistryDep,
    station: Annotated[str | None, Query(description="station id, with a Bearer token")] = None,
    _basic: Annotated[None, Depends(_station_basic)] = None,
    _bearer: Annotated[None, Depends(_station_bearer)] = None,
) -> str:
    """The station id whose token the request carries; 401 otherwise (before anything else)."""
    station_id, token = _credentials(request, station)
    ok = (
        bool(STATION_ID_RE.fullmatch(station_id))
        and len(token) <= 200
        and await run_in_threadpool(registry.verify_token, station_id, token)
    )
    if not ok:
        raise HTTPException(401, "unknown station or wrong token", headers=_AUTH)
    return station_id


@router.post(
    "/v1/ingest/readings",
    openapi_extra=_BODY_DOC,
    responses={
        200: {"model": IngestAnswer, "description": "counts of accepted and rejected readings"},
        **problem_responses(
            400,
            401,
            413,
            422,
            429,
            503,
            what={
                400: "the payload is not wire format v1 (not JSON, bad structure): the problem's "
                "`reason` says which",
                401: "unknown station or wrong token",
                413: "payload too large",
                422: "every reading was rejected: the problem carries the counts by reason",
                503: "the broker is unreachable (or not configured): retry later",
            },
        ),
    },
)
async def ingest_readings(
    request: Request,
    station_id: Annotated[str, Depends(authenticated_station)],
    publisher: PublisherDep,
) -> Response:
    """Readings of one station in wire format v1 (one object or an array), published to the
    same pipeline as MQTT readings. Answer: ``{"accepted": n, "rejected": {reason: n}}``."""
    limits = wire.DEFAULT_LIMITS
    body = await read_body_limited(request, limits.max_payload_bytes)
    try:
        obj = wire.parse_json(body, limits)
    except WireFormatError as exc:
        raise HTTPException(400, {"reason": exc.reason, "message": str(exc)}) from None
    readings, errors = wire.decode_readings(station_id, obj, time.time(), limits)
    rejected = Counter(e.reason for e in errors)
    if not readings and errors and rejected.keys() <= {"bad_structure", "too_many_readings"}:
        raise HTTPException(400, {"reason": errors[0].reason, "message": str(errors[0])})
    if readings:
        try:
            await run_in_threadpool(publisher.publish, station_id, readings)
        except PublishError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None
    counts = dict(rejected)
    shown = [f"{e.reason}: {e}" for e in errors[:MAX_ERRORS_SHOWN]]
    if not readings:  # a problem, with the same counts: do not send these readings again
        detail = "every reading was rejected: " + ", ".join(
            f"{reason} ({n})" for reason, n in sorted(rejected.items())
        )
        return problem_response(
            422, detail, request, station=station_id, accepted=0, rejected=counts, errors=shown
        )
    return JSONResponse(
        {"station": station_id, "accepted": len(readings), "rejected": counts, "errors": shown}
    )
