"""Which stations a request is about: explicit ids, a bounding box, a QPV (priority
neighbourhood); and how a station looks on public outputs (location rounded for privacy).

QPV hook: the QPV module registers a selector with :func:`register_qpv_selector`; it receives
the request, the QPV code and the candidate stations (exact coordinates) and returns the ids of
the stations that belong to that QPV (sync or async). It raises ``KeyError`` for an unknown
code. Until a selector is registered, ``qpv=`` answers 501.
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
from api.registry import Station

__all__ = [
    "BBox",
    "QpvSelector",
    "parse_bbox",
    "public_location",
    "register_qpv_selector",
    "select_by_qpv",
    "validate_station_ids",
]

QpvSelector = Callable[[Request, str, Sequence[Station]], "set[str] | Awaitable[set[str]]"]
_qpv_selector: list[QpvSelector] = []
QPV_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def register_qpv_selector(selector: QpvSelector) -> None:
    """Let ``qpv=<code>`` filters use ``selector`` (the QPV module calls this once)."""
    _qpv_selector[:] = [selector]


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


async def select_by_qpv(request: Request, code: str, candidates: Sequence[Station]) -> set[str]:
    """Ids of ``candidates`` inside QPV ``code`` (through the registered selector)."""
    if not QPV_CODE_RE.match(code):
        raise HTTPException(400, f"invalid 'qpv' code {code[:32]!r}")
    if not _qpv_selector:
        raise HTTPException(400, "QPV filtering is not available on this server yet")
    try:
        got: Any = _qpv_selector[0](request, code, candidates)
        if inspect.isawaitable(got):
            got = await got
    except KeyError:
        raise HTTPException(404, f"unknown QPV {code!r}") from None
    return set(got)
