"""The ``qpv=`` filter of ``/v1/stations``, ``/v1/series`` (and so of ``airq pull --qpv`` and
the client's ``qpv=``): the stations whose exact location lies inside the QPV's polygon, from
the same QPV service (``app.state.qpv``) as the ``/v1/qpv`` routes.

``create_app`` puts a :class:`QpvStationSelector` on ``app.state.qpv_selector``; the QPV
layer is loaded on first use (``AIRQ_QPV_FILE``, the bundled Hauts-de-France file by default).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fastapi import HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.qpv.polygons import PolygonFileError
from api.qpv.service import QpvService, QpvSettings
from api.registry import Station

__all__ = ["QpvStationSelector"]


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

    async def __call__(self, request: Request, code: str, stations: Sequence[Station]) -> set[str]:
        # the first call loads the layer (~0.1 s) and the geometry is CPU work: off the loop
        return await run_in_threadpool(self._select, request, code.strip().upper(), stations)
