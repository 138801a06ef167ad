"""Which stations a request is about: explicit ids, a bounding box, a QPV (priority
neighbourhood); and how a station looks on public outputs (location rounded for privacy).

QPV filter: ``create_app`` puts a selector on ``app.state.qpv_selector`` (the real one is
``api.qpv.selector.QpvStationSelector``, over the polygons of ``AIRQ_QPV_FILE``). It receives
the request, the QPV code and the candidate stations (exact coordinates) and returns the ids of
the stations inside that QPV (sync or async); it raises ``KeyError`` for an unknown code.
:func:`select_by_qpv` answers 400 for a malformed code, 404 for an unknown one, and 503 on an
app built without a selector.

Over a period (``/v1/series``), a place selects by placement: :func:`spans_in_qpv` and
:func:`spans_in_bbox` give, per station, the times (``api.spans``) its placement then was in
the QPV or the box, so a moved station is served only for the times it was there. A selector
with an ``intervals`` method (the real one) places every outdoor placement; another selector
places the stations where they are now, over the whole period.
"""

from __future__ import annotations

import inspect
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from airq_core.wire import STATION_ID_RE
from api.registry import Placement, Registry, Station
from api.spans import Spans, merge_spans

__all__ = [
    "BBox",
    "QpvSelector",
    "parse_bbox",
    "public_location",
    "select_by_qpv",
    "spans_in_bbox",
    "spans_in_qpv",
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
    """(lon, lat) rounded for public outputs: at the precision chosen for the station, else
    at ``decimals`` (the deployment's AIRQ_PUBLIC_LOCATION_DECIMALS)."""
    d = decimals if station.precision is None else station.precision
    return round(station.lon, d), round(station.lat, d)


def public_placement(placement: Placement) -> tuple[float, float]:
    """(lon, lat) of a placement rounded at its own public precision."""
    return round(placement.lon, placement.precision), round(placement.lat, placement.precision)


def qpv_selector(request: Request, code: str) -> QpvSelector:
    """The app's QPV selector, once ``code`` is checked (HTTP 400 for a malformed code, 503
    on an app built without a selector)."""
    if not QPV_CODE_RE.fullmatch(code):
        raise HTTPException(
            400, f"invalid 'qpv' code {code[:32]!r}: letters, digits, '-' or '_', e.g. QP062025"
        )
    selector: QpvSelector | None = getattr(request.app.state, "qpv_selector", None)
    if selector is None:
        raise HTTPException(503, "QPV filtering is not configured on this server")
    return selector


async def select_by_qpv(request: Request, code: str, candidates: Sequence[Station]) -> set[str]:
    """Ids of ``candidates`` inside QPV ``code`` (through ``app.state.qpv_selector``)."""
    selector = qpv_selector(request, code)
    try:
        got: Any = selector(request, code, candidates)
        if inspect.isawaitable(got):
            got = await got
    except KeyError:
        raise HTTPException(404, f"unknown QPV {code!r}; the list: GET /v1/qpv") from None
    return set(got)


def _spans_ms(intervals: Sequence[tuple[float, float]], start_ms: int, end_ms: int) -> Spans:
    """Intervals in epoch seconds within [start_ms, end_ms] -> spans in ms; the bounds of the
    period map to themselves exactly."""
    out = []
    for a, b in intervals:
        a_ms = start_ms if a <= start_ms / 1000 else math.ceil(a * 1000)
        b_ms = end_ms if b >= end_ms / 1000 else math.ceil(b * 1000)
        out.append((max(a_ms, start_ms), min(b_ms, end_ms)))
    return merge_spans(out)


async def spans_in_qpv(
    request: Request,
    registry: Registry,
    code: str,
    candidates: Sequence[Station],
    start_ms: int,
    end_ms: int,
) -> dict[str, Spans]:
    """station id -> the times in [start_ms, end_ms) its outdoor placement was inside QPV
    ``code`` (stations never inside then are left out); HTTP 404 for an unknown code."""
    selector = qpv_selector(request, code)
    intervals = getattr(selector, "intervals", None)
    try:
        if intervals is None:  # a selector that knows only where stations are now
            got: Any = selector(request, code, candidates)
            if inspect.isawaitable(got):
                got = await got
            return {sid: ((start_ms, end_ms),) for sid in got}
        found = await intervals(request, registry, code, candidates, start_ms / 1000, end_ms / 1000)
    except KeyError:
        raise HTTPException(404, f"unknown QPV {code!r}; the list: GET /v1/qpv") from None
    spans = {sid: _spans_ms(iv, start_ms, end_ms) for sid, iv in found.items()}
    return {sid: sp for sid, sp in spans.items() if sp}


def spans_in_bbox(
    registry: Registry,
    candidates: Sequence[Station],
    box: BBox,
    decimals: int,
    start_ms: int,
    end_ms: int,
) -> dict[str, Spans]:
    """station id -> the times in [start_ms, end_ms) its published location was in ``box``
    (indoor placements too: a box is about place only): the current placement as the map
    shows it (``decimals``), an earlier one at its own public precision; a station's first
    placement also holds what was measured before it was registered. Blocking (registry)."""
    # every placement up to now: the first one also holds the time before registration
    until = max(end_ms / 1000, time.time()) + 1
    found = registry.placements_between([s.id for s in candidates], 0, until)
    out: dict[str, Spans] = {}
    for s in candidates:
        placements = found.get(s.id)
        if not placements:  # no placement recorded: where it is now, over the period
            if box.contains(*public_location(s, decimals)):
                out[s.id] = ((start_ms, end_ms),)
            continue
        spans = []
        for i, p in enumerate(placements):
            where = public_location(s, decimals) if p.valid_to is None else public_placement(p)
            if not box.contains(*where):
                continue
            a = start_ms if i == 0 else max(start_ms, math.ceil(p.valid_from.timestamp() * 1000))
            b = (
                end_ms
                if p.valid_to is None
                else min(end_ms, math.ceil(p.valid_to.timestamp() * 1000))
            )
            spans.append((a, b))
        merged = merge_spans(spans)
        if merged:
            out[s.id] = merged
    return out
