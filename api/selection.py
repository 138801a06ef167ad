"""Which stations a request is about: explicit ids, a bounding box, a QPV (priority
neighbourhood); and how a station looks on public outputs (location rounded for privacy).

QPV filter: ``create_app`` puts a selector on ``app.state.qpv_selector`` (the real one is
``api.qpv.selector.QpvStationSelector``, over the polygons of ``AIRQ_QPV_FILE``). It receives
the request, the QPV code and the candidate stations (exact coordinates) and returns the ids of
the stations inside that QPV (sync or async); it raises ``KeyError`` for an unknown code.
:func:`select_by_qpv` answers 400 for a malformed code, 404 for an unknown one, and 503 on an
app built without a selector.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from airq_core.wire import STATION_ID_RE
from api.registry import Placement, Station

__all__ = [
    "BBox",
    "QpvSelector",
    "parse_bbox",
    "public_location",
    "select_by_qpv",
    "validate_station_ids",
]

QpvSelector = Callable[[Request, str, Sequence[Station]], "set[str] | Awaitable[set[str]]"]
QPV_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat


def parse_bbox(text: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat`` (WGS84 degrees) -> BBox; HTTP 400 otherwise."""
    parts = text.split(",") if len(text) <= 120 else []
    try:
        if len(parts) != 4:
            raise ValueError
        v = [float(p) for p in parts]
    except ValueError:
        raise HTTPException(
            400, "invalid 'bbox': use min_lon,min_lat,max_lon,max_lat, e.g. 2.7,50.3,3.2,50.6"
        ) from None
    if not all(math.isfinite(x) for x in v):
        raise HTTPException(400, "invalid 'bbox': numbers must be finite")
    box = BBox(*v)
    if not (-180 <= box.min_lon <= box.max_lon <= 180 and -90 <= box.min_lat <= box.max_lat <= 90):
        raise HTTPException(
            400, "invalid 'bbox': need -180 ≤ min_lon ≤ max_lon ≤ 180, -90 ≤ min_lat ≤ max_lat ≤ 90"
        )
    return box


def validate_station_ids(ids: Sequence[str], limit: int) -> list[str]:
    """Station ids of a query, deduplicated in order; HTTP 400 for a malformed id or too many."""
    out: list[str] = []
    for sid in ids:
        if not isinstance(sid, str) or not STATION_ID_RE.fullmatch(sid):
            raise HTTPException(400, f"invalid station id {str(sid)[:64]!r}")
        if sid not in out:
            out.append(sid)
    if len(out) > limit:
        raise HTTPException(400, f"too many stations: {len(out)} > {limit} per request")
    return out


def public_location(station: Station, decimals: int) -> tuple[float, float]:
    """(lon, lat) rounded for public outputs."""
    return round(station.lon, decimals), round(station.lat, decimals)


def public_placement(placement: Placement) -> tuple[float, float]:
    """(lon, lat) of a placement rounded at its own public precision."""
    return round(placement.lon, placement.precision), round(placement.lat, placement.precision)


async def select_by_qpv(request: Request, code: str, candidates: Sequence[Station]) -> set[str]:
    """Ids of ``candidates`` inside QPV ``code`` (through ``app.state.qpv_selector``)."""
    if not QPV_CODE_RE.fullmatch(code):
        raise HTTPException(
            400, f"invalid 'qpv' code {code[:32]!r}: letters, digits, '-' or '_', e.g. QP062025"
        )
    selector: QpvSelector | None = getattr(request.app.state, "qpv_selector", None)
    if selector is None:
        raise HTTPException(503, "QPV filtering is not configured on this server")
    try:
        got: Any = selector(request, code, candidates)
        if inspect.isawaitable(got):
            got = await got
    except KeyError:
        raise HTTPException(404, f"unknown QPV {code!r}; the list: GET /v1/qpv") from None
    return set(got)
