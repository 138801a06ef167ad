"""The ``qpv=`` filter of ``/v1/stations``, ``/v1/series`` (and so of ``airq pull --qpv`` and
the client's ``qpv=``): the stations whose exact location lies inside the QPV's polygon, from
the same QPV service (``app.state.qpv``) as the ``/v1/qpv`` routes.

``create_app`` puts a :class:`QpvStationSelector` on ``app.state.qpv_selector``; the QPV
layer is loaded on first use (``AIRQ_QPV_FILE``, the bundled Hauts-de-France file by default).

The selector itself takes the stations where they are now (the map). For data over a period,
:func:`qpv_intervals` gives, per station, the times its outdoor placement was inside the QPV,
and :func:`clip_rows` keeps the readings of those times only: a station moved into or out of
the QPV contributes only what it measured there.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Sequence

from fastapi import HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.qpv.polygons import PolygonFileError
from api.qpv.service import QpvService, QpvSettings, placement_refs
from api.registry import Registry, Station

__all__ = ["QpvStationSelector", "clip_rows", "qpv_intervals"]

Intervals = list[tuple[float, float]]


def qpv_intervals(
    svc: QpvService,
    registry: Registry,
    code: str,
    stations: Iterable[Station],
    start: float,
    end: float,
) -> dict[str, Intervals]:
    """station id -> the [t0, t1) (epoch seconds, within [start, end)) its outdoor placement
    was inside QPV ``code``, oldest first; stations never inside then are left out. Raises
    ``KeyError`` for an unknown code. A station's first placement also covers the time before
    it was registered (imported archives)."""
    rows = list(stations)
    # every placement up to now, not only up to ``end``: the first one also holds the data
    # from before registration, and a period before it would otherwise find none
    found = registry.placements_between([s.id for s in rows], 0, max(end, time.time()) + 1)
    refs = [r for r in placement_refs(rows, found) if r.valid_from < end and r.valid_to > start]
    inside = svc.stations_inside(code, [(r.id, r.lat, r.lon) for r in refs])
    out: dict[str, Intervals] = {}
    for r in refs:
        if r.id in inside:
            out.setdefault(r.station, []).append((max(start, r.valid_from), min(end, r.valid_to)))
    return {sid: sorted(spans) for sid, spans in out.items()}


def clip_rows(times: Sequence[float], intervals: Intervals) -> list[bool]:
    """For each time (epoch seconds, as ``qpv_intervals``), whether it falls in one of the
    intervals: the mask a series route applies to a station's rows."""
    starts = [a for a, _ in intervals]
    keep = []
    for t in times:
        i = bisect.bisect_right(starts, t) - 1
        keep.append(i >= 0 and t < intervals[i][1])
    return keep


class QpvStationSelector:
    """``await selector(request, code, stations)`` -> ids of the stations inside QPV ``code``;
    ``KeyError`` for an unknown code, HTTP 503 when the QPV layer cannot be loaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def service(self, request: Request) -> QpvService:
        """The app's QPV service, created on first use (shared with the /v1/qpv routes)."""
        state = request.app.state
        svc: QpvService | None = getattr(state, "qpv", None)
        if svc is None:
            with self._lock:
                svc = getattr(state, "qpv", None)
                if svc is None:
                    try:
                        svc = QpvService(QpvSettings())
                    except (ValidationError, PolygonFileError, OSError) as exc:
                        raise HTTPException(503, f"QPV layer unavailable: {exc}") from None
                    state.qpv = svc
        return svc

    def _select(self, request: Request, code: str, stations: Sequence[Station]) -> set[str]:
        svc = self.service(request)
        return svc.stations_inside(code, [(s.id, s.lat, s.lon) for s in stations])

    async def intervals(
        self,
        request: Request,
        registry: Registry,
        code: str,
        stations: Sequence[Station],
        start: float,
        end: float,
    ) -> dict[str, Intervals]:
        """:func:`qpv_intervals` on the app's QPV service, off the event loop."""
        svc = self.service(request)
        return await run_in_threadpool(
            qpv_intervals, svc, registry, code.strip().upper(), stations, start, end
        )

    async def __call__(self, request: Request, code: str, stations: Sequence[Station]) -> set[str]:
        # the first call loads the layer (~0.1 s) and the geometry is CPU work: off the loop
        return await run_in_threadpool(self._select, request, code.strip().upper(), stations)
