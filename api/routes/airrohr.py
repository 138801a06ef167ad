"""``POST /v1/ingest/airrohr``: boards on the sensor.community firmware, configured to send
to "own API" (custom API), post here unchanged. HTTP Basic auth: station id and token.
Readings are stamped in UTC on receipt (the firmware sends no time) and published to the same
pipeline as MQTT readings."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core import wire
from airq_core.airrohr import MAX_VALUES, decode_body, parse_body
from airq_core.errors import WireFormatError
from airq_core.flags import FOREIGN_BOARD
from airq_core.readings import Reading
from airq_core.wire import STATION_ID_RE, reading_to_obj
from api.access import OPTIONAL_AUTH, ViewerDep, access_responses
from api.deps import PublisherDep, RegistryDep
from api.hardware import FOREIGN, SAME, book_for, chip_from_header, mask_chip
from api.problems import problem_responses
from api.protection import read_body_limited
from api.publish import PublishError
from api.routes.ingest_http import authenticated_station

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingest"])

MAX_BODY = 64 * 1024


class AirrohrAnswer(BaseModel):
    station: str
    accepted: dict[str, int] = Field(description="values accepted, per sensor")
    rejected: dict[str, int] = Field(description="values rejected, by reason")
    ignored: list[str] = Field(description="value types this platform does not store")
    hardware: str | None = Field(
        default=None,
        description="the board's chip (X-Sensor) for this station: first (bound now), same, "
        "changed (a hardware change, recorded), foreign (the chip of another station: "
        "recorded, and the readings stored with the flag foreign_board, left out of the "
        "station's windows and statistics); null without an X-Sensor header",
    )


@router.post(
    "/v1/ingest/airrohr",
    responses={
        200: {"model": AirrohrAnswer, "description": "accepted: counts per sensor"},
        **problem_responses(
            400,
            401,
            413,
            429,
            503,
            what={
                400: "not an airrohr body (the problem's `reason` says why)",
                401: "unknown station or wrong token",
                413: "body too large",
                503: "the broker is unreachable: the board retries next cycle",
            },
        ),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    # entries the firmware's own way (not an object, no value_type) are counted
                    # as rejected, not refused: the schema allows them
                    "schema": {
                        "type": "object",
                        "required": ["sensordatavalues"],
                        "properties": {
                            "esp8266id": {"type": "string"},
                            "software_version": {"type": "string"},
                            "sensordatavalues": {"type": "array", "maxItems": MAX_VALUES},
                        },
                    },
                    "example": {
                        "esp8266id": "3122405",
                        "software_version": "NRZ-2024-135",
                        "sensordatavalues": [
                            {"value_type": "SDS_P1", "value": "10.52"},
                            {"value_type": "SDS_P2", "value": "4.32"},
                            {"value_type": "BME280_pressure", "value": "98680.28"},
                        ],
                    },
                }
            },
        }
    },
)
async def ingest_airrohr(
    request: Request,
    station_id: Annotated[str, Depends(authenticated_station)],
    publisher: PublisherDep,
    registry: RegistryDep,
    x_pin: Annotated[str | None, Header(max_length=4)] = None,
    x_sensor: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    """The body the airrohr firmware sends (``sensordatavalues`` with prefixed value types as
    strings, pressure in Pa). ``X-PIN`` selects the sensor for the un-prefixed per-sensor form."""
    body = await read_body_limited(request, MAX_BODY)
    now = time.time()
    try:
        result = decode_body(parse_body(body, MAX_BODY), pin=x_pin)
    except WireFormatError as exc:
        raise HTTPException(400, {"reason": exc.reason, "message": str(exc)}) from None
    # the board first (X-Sensor): the readings of a board whose chip is bound to another
    # station are stored flagged "foreign_board", out of this station's windows and statistics
    hardware = None
    chip = chip_from_header(x_sensor)
    if chip is not None:
        hardware = await run_in_threadpool(book_for(registry).record, station_id, chip, now)
        if hardware == FOREIGN:
            log.warning("airrohr %s: pushed from %s, the chip of another station", station_id, chip)
        elif hardware != SAME:
            log.info("airrohr %s: chip %s (%s)", station_id, chip, hardware)
    extra = (FOREIGN_BOARD,) if hardware == FOREIGN else ()
    # the same validation as every other reading (ranges, vocabulary)
    # a shared X-PIN whose model is unknown keeps its flag ("model_unknown") on the reading;
    # the registry records no sensor models yet, so the value types decide (docs/airrohr.md)
    objs = [
        reading_to_obj(Reading(station_id, s.sensor, now, s.values, flags=(*s.flags, *extra)))
        for s in result.samples
    ]
    readings, errors = wire.decode_readings(station_id, objs, now) if objs else ([], [])
    if readings:
        try:
            await run_in_threadpool(publisher.publish, station_id, readings)
        except PublishError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from None
    log.debug(
        "airrohr %s (%s, %s): %d readings",
        station_id,
        x_sensor,
        result.software_version,
        len(readings),
    )
    return JSONResponse(
        {
            "station": station_id,
            "accepted": {r.sensor: len(r.values) for r in readings},
            "rejected": dict(Counter(e.reason for e in errors))
            | ({"not_number": len(result.rejected)} if result.rejected else {}),
            "ignored": sorted(set(result.ignored)),
            "hardware": hardware,
        }
    )


class HardwareEvent(BaseModel):
    chip: str = Field(description="the chip id, masked to its last 4 characters")
    kind: str = Field(description="first, changed or foreign (the chip of another station)")
    first_seen: AwareDatetime
    last_seen: AwareDatetime


class StationHardware(BaseModel):
    station: str
    chip: str | None = Field(description="the current chip (masked), null before any push")
    since: AwareDatetime | None
    events: list[HardwareEvent] = Field(description="oldest first")


@router.get(
    "/v1/stations/{station_id}/hardware",
    openapi_extra=OPTIONAL_AUTH,
    tags=["stations"],
    response_model=StationHardware,
    responses=access_responses(),
)
async def station_hardware(station_id: str, registry: RegistryDep, viewer: ViewerDep) -> Response:
    """The boards that have sent for this station (airrohr chip ids, from ``X-Sensor``):
    when the first was bound, hardware changes, and pushes from another station's chip
    (flagged). Chip ids are masked here; the admin listing shows them whole."""
    station = None
    if STATION_ID_RE.fullmatch(station_id):
        station = await run_in_threadpool(registry.get, station_id)
    if station is None or not viewer.sees(station):
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    events = await run_in_threadpool(book_for(registry).history, station_id)
    current = [e for e in events if e.kind != FOREIGN]
    body = {
        "station": station_id,
        "chip": mask_chip(current[-1].chip_id) if current else None,
        "since": current[-1].first_seen if current else None,
        "events": [e.as_json(full_chip=False) for e in events],
    }
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")
