"""Who may read an indoor station's data (issue 17: indoor stations are private to their owner).

A *viewer* is the caller of a read route: the admin (``AIRQ_ADMIN_TOKEN`` as a Bearer token),
one station (its id and token: ``Authorization: Basic <id:token>``, or its token as a Bearer
with the station named by the route's path or its single ``station`` parameter), or anyone.

The rule (docs/api.md, "Indoor stations"):

* a station whose current placement is indoor is, for anyone but the admin and itself, a
  station that does not exist: 404 on its own routes, left out of every selection and list;
* a station outdoor now serves to anyone only the times its placement was outdoor: the
  readings taken while it stood indoors (an earlier placement) stay private. A station's first
  placement also holds what it measured before it was registered, as for the QPV statistics.

Credentials that are given but wrong are a 401 whatever the station (so a 401 tells nothing of
it); no credentials is simply the public view.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.concurrency import run_in_threadpool

from airq_core.wire import STATION_ID_RE
from api.problems import problem_responses
from api.registry import Placement, Registry, Station, stations
from api.spans import Spans, merge_spans

__all__ = [
    "ANYONE",
    "OPTIONAL_AUTH",
    "Viewer",
    "ViewerDep",
    "access_responses",
    "count_hidden",
    "public_spans",
    "read_public_spans",
    "read_viewer",
]

_AUTH = {"WWW-Authenticate": 'Basic realm="airq station", charset="UTF-8"'}
_MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller of a read route: the admin, one station (by its token), or anyone."""

    admin: bool = False
    station: str | None = None

    def sees_all_of(self, station_id: str) -> bool:
        """Whether this viewer reads every reading of ``station_id`` (indoor ones too)."""
        return self.admin or self.station == station_id

    def sees(self, station: Station) -> bool:
        """Whether ``station`` exists for this viewer (indoor now: its owner and the admin)."""
        return not station.indoor or self.sees_all_of(station.id)


ANYONE = Viewer()


def public_spans(
    station: Station, placements: Sequence[Placement], start_ms: int, end_ms: int
) -> Spans:
    """The times in [start_ms, end_ms) of ``station``'s readings anyone may read: its outdoor
    placements (the first one reaching back before registration); none when it is indoor
    now; the whole period for a station without any placement recorded (then its flag)."""
    if station.indoor:
        return ()
    if not placements:
        return ((start_ms, end_ms),)
    spans = []
    for i, p in enumerate(placements):
        if p.indoor:
            continue
        a = start_ms if i == 0 else max(start_ms, math.ceil(p.valid_from.timestamp() * 1000))
        b = end_ms if p.valid_to is None else min(end_ms, math.ceil(p.valid_to.timestamp() * 1000))
        if a < b:
            spans.append((a, b))
    return merge_spans(spans)


def read_public_spans(
    registry: Registry, stations: Iterable[Station], start_ms: int, end_ms: int
) -> dict[str, Spans]:
    """station id -> :func:`public_spans` for each of ``stations`` (those with none left out).
    Every placement up to the end is read: the first one also covers the time before it.
    Blocking (registry)."""
    chosen = list(stations)
    found = registry.placements_between([s.id for s in chosen], 0, end_ms / 1000 + 1)
    out: dict[str, Spans] = {}
    for s in chosen:
        spans = public_spans(s, found.get(s.id, ()), start_ms, end_ms)
        if spans:
            out[s.id] = spans
    return out


WRONG_CREDENTIALS = "credentials given but wrong (none: the public view)"
# the routes' ``openapi_extra``: the schemes are optional (an empty requirement added to the
# declared ones): without credentials, the public view
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}
INDOOR_404 = "; an indoor station, to anyone but its owner and the admin"


def access_responses(*codes: int, what: dict[int, str] | None = None) -> dict[int | str, Any]:
    """The problem answers of a read route that serves indoor stations to their owner: 401
    and 404 (with the indoor case said) besides ``codes``."""
    what = dict(what or {})
    what[404] = what.get(404, "unknown station") + INDOOR_404
    what.setdefault(401, WRONG_CREDENTIALS)
    return problem_responses(*sorted({401, 404, *codes}), what=what)


def count_hidden(registry: Registry, viewer: Viewer, include_retired: bool) -> int:
    """How many stations of the registry do not exist for ``viewer`` (indoor, not its own).
    Blocking (registry)."""
    if viewer.admin:
        return 0
    q = sa.select(sa.func.count()).select_from(stations).where(stations.c.indoor.is_(True))
    if viewer.station is not None:
        q = q.where(stations.c.id != viewer.station)
    if not include_retired:
        q = q.where(stations.c.retired_at.is_(None))
    with registry.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


class _DocumentedBasic(HTTPBasic):
    """Declares the scheme in the OpenAPI document; :func:`read_viewer` reads the header."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _DocumentedBearer(HTTPBearer):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


# the same scheme as the ingest routes (same name, same description: one entry in OpenAPI)
_station_basic = _DocumentedBasic(
    scheme_name="stationBasic", description="station id and token", auto_error=False
)
_reader_bearer = _DocumentedBearer(
    scheme_name="readerBearer",
    description="the admin token (AIRQ_ADMIN_TOKEN), or a station's token for that station "
    "(named by the path, or by a single ?station=<id>)",
    auto_error=False,
)


def _is_admin(request: Request, token: str) -> bool:
    expected = request.app.state.settings.admin_token
    return expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    )


def _named_station(request: Request) -> str | None:
    """The station a Bearer token is for: the path's, else a single ``station`` parameter."""
    path_id = request.path_params.get("station_id")
    if isinstance(path_id, str):
        return path_id
    given = [p for v in request.query_params.getlist("station") for p in v.split(",") if p]
    return given[0].strip() if len(given) == 1 else None


async def read_viewer(
    request: Request,
    _basic: Annotated[None, Depends(_station_basic)] = None,
    _bearer: Annotated[None, Depends(_reader_bearer)] = None,
) -> Viewer:
    """The viewer of this request; 401 when credentials are given but wrong."""
    header = request.headers.get("authorization")
    if header is None:
        return ANYONE
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    registry: Registry = request.app.state.registry
    if scheme == "bearer":
        if _is_admin(request, value):
            return Viewer(admin=True)
        station_id = _named_station(request)
        token = value
    elif scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPException(401, "malformed Basic credentials", headers=_AUTH) from None
        station_id, sep, token = decoded.partition(":")
        if not sep:
            raise HTTPException(401, "Basic credentials must be station:token", headers=_AUTH)
    else:
        raise HTTPException(
            401,
            "use Basic station:token, or a Bearer token (the station's or the admin's)",
            headers=_AUTH,
        )
    ok = (
        station_id is not None
        and bool(STATION_ID_RE.fullmatch(station_id))
        and 0 < len(token) <= _MAX_TOKEN
        and await run_in_threadpool(registry.verify_token, station_id, token)
    )
    if not ok:
        raise HTTPException(
            401,
            "wrong credentials: the station's id and token, or the admin token "
            "(a Bearer station token needs the station in the path or ?station=<id>)",
            headers=_AUTH,
        )
    assert station_id is not None
    return Viewer(station=station_id)


ViewerDep = Annotated[Viewer, Depends(read_viewer)]
