"""Alert subscriptions (``/v1/alerts/…``, docs/alerts.md), sent as ``Authorization: Bearer
<token>``:

- a resident subscribes to **their own station** with the station's token (the station is the
  body's ``station``, or ``?station=`` for listing);
- a council or the operators, with the admin token (``AIRQ_ADMIN_TOKEN``), to a QPV (the
  stations inside it; by default the alert needs two of them to agree), a list of stations, or
  the whole fleet (``fleet: true``, e.g. silent stations).

Every message carries an unsubscribe link (``/v1/alerts/unsubscribe/{id}?key=…``): its page
asks for a confirmation (a button, POST), so a mail client that opens links does not end the
subscription. The alerts service (``airq alerts run``) evaluates the rules.
"""

from __future__ import annotations

import hmac
import html
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airq_core.alerts import (
    DRIFT_DEFAULTS,
    PRESETS,
    AlertRuleError,
    parse_bbox,
    parse_duration,
    resolve_level,
)
from airq_core.wire import STATION_ID_RE
from api.alerts_store import AlertStore, AlertStoreError, Subscription
from api.deps import RegistryDep
from api.problems import problem_responses
from api.registry import Registry

_bearer = HTTPBearer(
    auto_error=False, description="the station's token (with its id) or AIRQ_ADMIN_TOKEN"
)

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

Duration = Annotated[str, Field(max_length=20, description="90s, 10m, 2h or 7d", examples=["10m"])]
StationId = Annotated[str, Field(pattern=STATION_ID_RE.pattern, examples=["lens-01"])]


class SubscriptionCreate(BaseModel):
    """One rule and where to send its messages."""

    model_config = ConfigDict(extra="forbid")

    station: StationId | None = Field(None, description="a station (its token, or admin)")
    stations: list[StationId] | None = Field(None, max_length=5000, description="admin only")
    qpv: str | None = Field(None, max_length=40, description="a QPV code (admin only)")
    bbox: str | None = Field(
        None,
        max_length=100,
        description="the stations inside lon1,lat1,lon2,lat2 (admin only)",
        examples=["3.05,50.60,3.10,50.65"],
    )
    fleet: bool = Field(False, description="every active station (admin only)")
    min_stations: int | None = Field(
        None, ge=1, description="stations that must agree (default: 2 for a QPV or a list)"
    )
    area_mean: bool = Field(
        False,
        description="an area starts when its stations' mean crosses, with at least "
        "min_stations of them heard (instead of min_stations each above)",
    )
    kind: Literal["threshold", "silent", "stuck", "drift"] = "threshold"
    preset: Literal["radon", "co2", "pm2_5_who_24h"] | None = Field(
        None, description="a ready-made threshold rule (its fields can be overridden)"
    )
    quantity: str | None = Field(None, max_length=40, examples=["pm2_5"])
    above: float | Literal["who-24h"] | None = Field(
        None, description="a threshold, or who-24h (the WHO 2021 24-h guideline)", examples=[50]
    )
    above_class: (
        Literal["moyen", "degrade", "mauvais", "tres_mauvais", "extremement_mauvais"] | None
    ) = Field(None, description="the ATMO class reached (its sub-index's statistic)")
    clear: float | None = Field(None, description="ends below this (default above − 10 %)")
    window: Duration = Field("0s", description="how long the value must stay above")
    clear_window: Duration | None = Field(None, description="how long below to end (= window)")
    mode: Literal["all", "mean"] | None = Field(
        None, description="all: every reading above; mean: the window's mean"
    )
    silent_after: Duration | None = Field(None, description="silent rule: no reading for this")
    stuck_readings: int | None = Field(
        None, ge=3, le=100_000, description="stuck rule: the same value this many times"
    )
    drift_ratio: float | None = Field(
        None, gt=1, le=1000, description="drift: times more (or less) than the neighbours' median"
    )
    drift_diff: float | None = Field(
        None, gt=0, le=1e9, description="drift: apart from the neighbours' median by more than"
    )
    radius_km: float = Field(2.0, ge=0.05, le=50, description="drift: neighbours within")
    min_neighbours: int = Field(3, ge=1, le=100, description="drift: neighbours with readings")
    repeat: Duration = Field("0s", description="a reminder this often while on (0: none)")
    at_most_every: Duration | None = Field(
        None,
        description="at most one message per this period (a start and an end held "
        "together cancel out)",
    )
    quiet: str | None = Field(None, max_length=10, description="local hours, e.g. 22-7")
    lang: Literal["fr", "en"] = "fr"
    notify: str = Field(
        max_length=2000,
        description="an Apprise URL: mailto://…, ntfy://…, tgram://…, json://…",
        examples=["mailto://user:password@example.org"],
    )


class SubscriptionPublic(BaseModel):
    id: int
    created_at: AwareDatetime
    kind: str
    owner: str
    station_id: str | None
    qpv: str | None
    stations: list[str]
    min_stations: int
    quantity: str | None
    above: float | None
    clear: float | None
    for_s: float
    clear_for_s: float | None
    silent_after_s: float | None
    repeat_s: float
    quiet: str | None
    mode: str
    lang: str
    stuck_readings: int | None
    drift_ratio: float | None = None
    drift_diff: float | None = None
    radius_km: float | None = None
    min_neighbours: int | None = None
    level: str | None = Field(None, description="a named threshold: who_24h, atmo:<class>")
    bbox: str | None = None
    cap_s: float | None = None
    area_mean: bool = False
    target: str = Field(description="the Apprise URL without credentials")


class SubscriptionCreated(SubscriptionPublic):
    unsubscribe_url: str = Field(description="the link every message carries")


def alert_store(request: Request) -> AlertStore:
    """The app's subscription store (created on first use, on the registry's database)."""
    store: AlertStore | None = getattr(request.app.state, "alert_store", None)
    if store is None:
        store = AlertStore(request.app.state.registry.engine)
        request.app.state.alert_store = store
    return store


StoreDep = Annotated[AlertStore, Depends(alert_store)]


class Caller(BaseModel):
    admin: bool
    station: str | None = None


def _is_admin(request: Request, token: str) -> bool:
    expected = request.app.state.settings.admin_token
    return expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    )


async def _caller(
    request: Request,
    registry: RegistryDep,
    creds: HTTPAuthorizationCredentials | None,
    station: str | None,
) -> Caller:
    auth = {"WWW-Authenticate": "Bearer"}
    if creds is None:
        raise HTTPException(401, "token missing (the station's token or the admin's)", auth)
    token = creds.credentials
    if _is_admin(request, token):
        return Caller(admin=True)
    if (
        station is not None
        and STATION_ID_RE.fullmatch(station)
        and len(token) <= 200
        and await run_in_threadpool(registry.verify_token, station, token)
    ):
        return Caller(admin=False, station=station)
    raise HTTPException(401, "wrong token for this station (or not the admin token)", auth)


def _active(registry: Registry, station_id: str) -> bool:
    st = registry.get(station_id)
    return st is not None and st.retired_at is None


def _public(sub: Subscription) -> dict[str, Any]:
    return sub.public()


WEBHOOK_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})

_AUTH_PROBLEMS = {401: "token missing or wrong", 403: "not allowed with a station's token"}


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    responses=problem_responses(400, 401, 403, 404, 422, 429, what=_AUTH_PROBLEMS),
)
async def create_alert_subscription(
    request: Request,
    body: SubscriptionCreate,
    registry: RegistryDep,
    store: StoreDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> dict[str, Any]:
    """Subscribe to an alert. With a station's token: that station only (``station``).
    With the admin token: a station, ``stations``, a ``qpv`` or the ``fleet``."""
    caller = await _caller(request, registry, creds, body.station)
    area = body.stations is not None or body.qpv is not None or body.bbox is not None or body.fleet
    if not caller.admin and area:
        raise HTTPException(403, "a station's token subscribes to that station only")
    scheme = body.notify.partition("://")[0].lower()
    if not caller.admin and scheme in WEBHOOK_SCHEMES:
        # the server would post wherever a resident points it, inside its own network too
        raise HTTPException(
            403, "webhook targets (json://, xml://, form://) are for the admin token only"
        )
    if sum((body.station is not None, body.stations is not None, body.qpv is not None,
            body.bbox is not None, body.fleet)) != 1:  # fmt: skip
        raise HTTPException(400, "give exactly one of station, stations, qpv, bbox or fleet")
    try:
        bbox = parse_bbox(body.bbox) if body.bbox is not None else None
    except AlertRuleError as exc:
        raise HTTPException(400, str(exc)) from None
    if body.station is not None:
        if not _active(registry, body.station):
            raise HTTPException(404, f"unknown station {body.station!r}")
        stations = [body.station]
    elif body.stations is not None:
        stations = list(body.stations)
        unknown = [s for s in stations if not _active(registry, s)]
        if unknown:
            raise HTTPException(404, f"unknown station {unknown[0]!r}")
    else:
        active = await run_in_threadpool(registry.list)
        if body.fleet:
            stations = sorted(s.id for s in active)
        elif bbox is not None:
            w, so, e, n = bbox
            stations = sorted(s.id for s in active if w <= s.lon <= e and so <= s.lat <= n)
        else:
            try:
                inside = await request.app.state.qpv_selector(request, body.qpv or "", active)
            except KeyError:
                raise HTTPException(404, f"unknown QPV {body.qpv!r}") from None
            stations = sorted(inside)
        if not stations:
            raise HTTPException(400, "no station there yet: nothing to watch")
    preset = PRESETS.get(body.preset) if body.preset else None
    quantity = body.quantity or (preset.quantity if preset else None)
    try:
        level = None
        above = body.above if isinstance(body.above, float | int) else None
        if body.above_class is not None or isinstance(body.above, str):
            # both given: a guideline beside the class, refused by resolve_level
            guideline: str | None = None if body.above is None else str(body.above)
            level = resolve_level(quantity, body.above_class, guideline)
            above = level.above
        elif above is None and preset is not None:
            above = preset.above
        for_s = parse_duration(body.window, "window")
        if "window" not in body.model_fields_set:
            if level is not None:
                for_s = level.for_s
            elif preset is not None:
                for_s = preset.for_s
            elif body.kind == "drift":
                for_s = DRIFT_DEFAULTS["for_s"]
        cap_s = parse_duration(body.at_most_every, "at_most_every") if body.at_most_every else None
        clear_for_s = (
            parse_duration(body.clear_window, "clear_window") if body.clear_window else None
        )
        silent_s = parse_duration(body.silent_after, "silent_after") if body.silent_after else None
        repeat_s = parse_duration(body.repeat, "repeat")
    except AlertRuleError as exc:
        raise HTTPException(400, str(exc)) from None
    default_min = 2 if (area and body.kind == "threshold" and len(stations) > 1) else 1
    if default_min == 2 and body.area_mean and len(stations) >= 3:
        default_min = 3  # a mean of two can be carried by one faulty sensor
    try:
        sub = await run_in_threadpool(
            lambda: store.add(
                kind="threshold" if preset else body.kind,
                owner="admin" if caller.admin else "station",
                station_id=body.station,
                qpv=body.qpv.strip().upper() if body.qpv else None,
                stations=stations,
                min_stations=min(body.min_stations or default_min, len(stations)),
                quantity=quantity,
                above=above,
                clear=body.clear,
                for_s=for_s,
                clear_for_s=clear_for_s,
                silent_after_s=silent_s,
                repeat_s=repeat_s,
                quiet=body.quiet,
                mode=body.mode or (level.mode if level else preset.mode if preset else "all"),
                lang=body.lang,
                stuck_readings=body.stuck_readings,
                drift_ratio=body.drift_ratio
                if body.drift_ratio is not None or body.drift_diff is not None
                else DRIFT_DEFAULTS["ratio"],
                drift_diff=body.drift_diff,
                radius_km=body.radius_km,
                min_neighbours=body.min_neighbours,
                level=level.level if level else None,
                bbox=",".join(f"{x:g}" for x in bbox) if bbox else None,
                cap_s=cap_s,
                area_mean=body.area_mean,
                target=body.notify,
            )
        )
    except AlertStoreError as exc:
        raise HTTPException(400, str(exc)) from None
    from airq_core.urls import alert_unsubscribe_url

    base = str(request.base_url)
    return {
        **_public(sub),
        "unsubscribe_url": alert_unsubscribe_url(base, sub.id, sub.unsubscribe_key),
    }


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionPublic],
    responses=problem_responses(401, 429, what=_AUTH_PROBLEMS),
)
async def list_alert_subscriptions(
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    station: Annotated[
        str | None, Query(description="with a station's token: its subscriptions")
    ] = None,
) -> list[dict[str, Any]]:
    """The subscriptions: a station's own (station token and ``?station=``), or all (admin;
    ``?station=`` filters)."""
    caller = await _caller(request, registry, creds, station)
    subs = await run_in_threadpool(store.list, station if station or not caller.admin else None)
    if not caller.admin:  # a station's token sees what was made with it, not the council's
        subs = [s for s in subs if s.owner == "station"]
    return [_public(s) for s in subs]


class Deleted(BaseModel):
    id: int
    deleted: bool = True


@router.delete(
    "/subscriptions/{subscription_id}",
    response_model=Deleted,
    responses=problem_responses(401, 403, 404, 429, what=_AUTH_PROBLEMS),
)
async def delete_alert_subscription(
    request: Request,
    subscription_id: int,
    registry: RegistryDep,
    store: StoreDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    station: Annotated[str | None, Query(description="with a station's token")] = None,
) -> dict[str, Any]:
    """Ends a subscription (admin, or the token of the station that made it)."""
    caller = await _caller(request, registry, creds, station)
    sub = await run_in_threadpool(store.get, subscription_id)
    if sub is None:
        raise HTTPException(404, f"no subscription {subscription_id}")
    if not caller.admin and (sub.owner != "station" or sub.station_id != caller.station):
        raise HTTPException(403, "this subscription was not made with this station's token")
    await run_in_threadpool(store.remove, subscription_id)
    return {"id": subscription_id, "deleted": True}


_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AirQuartiers – alertes</title></head><body style="font-family:sans-serif;max-width:40em;
margin:2em auto;padding:0 1em">{content}</body></html>"""


def _page(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(content=content),
        status,
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                 "form-action 'self'", "Cache-Control": "no-store"},
    )  # fmt: skip


@router.get(
    "/unsubscribe/{subscription_id}",
    response_class=HTMLResponse,
    include_in_schema=False,  # a page for people, like /stations/{id}
)
async def alert_unsubscribe_page(
    subscription_id: int,
    store: StoreDep,
    key: Annotated[str, Query(max_length=100)],
) -> HTMLResponse:
    """The page of the unsubscribe link: a button that confirms (nothing changes on GET)."""
    sub = await run_in_threadpool(store.get, subscription_id)
    if sub is None or not hmac.compare_digest(sub.unsubscribe_key, key):
        return _page(
            "<p>Cet abonnement n'existe plus (ou le lien est incomplet).</p>"
            "<p lang='en'>This subscription no longer exists (or the link is incomplete).</p>",
            404,
        )
    what = html.escape(
        f"{sub.quantity or 'station muette'} – {', '.join(sub.stations[:5])}"
        + ("…" if len(sub.stations) > 5 else "")
    )
    return _page(
        f"<h1>Ne plus recevoir cette alerte ?</h1><p>{what}</p>"
        f"<form method='post'><input type='hidden' name='key' value='{html.escape(key)}'>"
        "<button type='submit'>Me désabonner / Unsubscribe</button></form>"
        "<p lang='en'>Stop receiving this alert? Press the button to confirm.</p>"
    )


@router.post(
    "/unsubscribe/{subscription_id}",
    response_class=HTMLResponse,
    include_in_schema=False,  # a page for people, like /stations/{id}
)
async def alert_unsubscribe(
    request: Request,
    subscription_id: int,
    store: StoreDep,
) -> HTMLResponse:
    """Ends the subscription whose key the link carries (form field ``key``)."""
    body = await request.body()
    key = parse_qs(body[:1000].decode("utf-8", "replace")).get("key", [""])[0]
    if not key or not await run_in_threadpool(store.remove_with_key, subscription_id, key):
        return _page(
            "<p>Cet abonnement n'existe plus.</p><p lang='en'>No such subscription.</p>", 404
        )
    return _page(
        "<h1>C'est fait</h1><p>Vous ne recevrez plus cette alerte.</p>"
        "<p lang='en'>Done: you will not receive this alert any more.</p>"
    )
