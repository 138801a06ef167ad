"""What the owner of a station sees on its private page (``/stations/{id}/prive``): indoor
stations are on no public map, their owner opens them with the station's token.

The token travels in a POST body (``POST /v1/owner/station``), never in a URL: the page gets it
from its URL fragment (never sent to a server, never in a ``Referer``) or from a form, so it
reaches no access log and no other site. A wrong token is a 401 without ``WWW-Authenticate``
(no browser password dialog), behind the API's rate limit like every route."""

from __future__ import annotations

import math
import time
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.storage import excludes_from_aggregates
from airq_core.wire import STATION_ID_RE
from api.deps import InfluxDep, RegistryDep
from api.influx import InfluxReader
from api.problems import problem_responses
from api.queries import build_select_query

router = APIRouter(
    tags=["owner"],
    responses=problem_responses(429, 503),
)

# what an indoor station's page shows, in this order
OWNER_QUANTITIES = ("co2", "radon", "pm2_5", "pm10", "temperature", "humidity")
# long-term means (radon is judged on months, not on a day), from the daily windows
LONG_TERM_DAYS = 365
DAY_MS = 86_400_000


class OwnerLogin(BaseModel):
    station: str = Field(max_length=64, examples=["maison-12"])
    token: str = Field(max_length=200)


class OwnerAnswer(BaseModel):
    station: dict[str, Any] = Field(description="id, name, indoor")
    quantities: dict[str, Any] = Field(
        description="per quantity: unit, latest {time, value, flags}, points [[time, value]] "
        "of the last 24 h (raw, flagged values left out), long_term {mean, days, since}"
    )


def summarise_raw(rows: list[list[Any]], columns: list[str]) -> dict[str, dict[str, Any]]:
    """Raw rows (time ms first, one column per quantity, ``flags`` last) -> per quantity the
    latest valid value and the 24 h points; values whose flags exclude them are left out."""
    out: dict[str, dict[str, Any]] = {}
    fi = columns.index("flags") if "flags" in columns else None
    for row in sorted(rows, key=lambda r: r[0]):
        flags = row[fi] if fi is not None else None
        if excludes_from_aggregates(flags):
            continue
        for i, q in enumerate(columns):
            if q in ("time", "flags") or i >= len(row):
                continue
            v = row[i]
            if not isinstance(v, int | float) or not math.isfinite(v):
                continue
            entry = out.setdefault(q, {"points": [], "latest": None})
            t = format_time(row[0] / 1000)
            entry["points"].append([t, v])
            entry["latest"] = {"time": t, "value": v, "flags": flags or None}
    return out


def long_term(rows: list[list[Any]], columns: list[str], q: str) -> dict[str, Any] | None:
    """Mean over the daily windows (weighted by their valid counts), the number of days."""
    try:
        mi, ci = columns.index(f"{q}_mean"), columns.index(f"{q}_count")
    except ValueError:
        return None
    total = n = 0.0
    days = 0
    first: int | None = None
    for row in rows:
        mean, count = row[mi], row[ci]
        if not isinstance(mean, int | float) or not isinstance(count, int | float) or count <= 0:
            continue
        total += mean * count
        n += count
        days += 1
        first = row[0] if first is None else min(first, row[0])
    if not days or first is None:
        return None
    return {"mean": round(total / n, 1), "days": days, "since": format_time(first / 1000)}


async def fetch_owner_view(influx: InfluxReader, station_id: str) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    raw_q, raw_p = build_select_query(
        "raw", OWNER_QUANTITIES, [station_id], now_ms - DAY_MS, now_ms + 60_000, flags=True
    )
    day_q, day_p = build_select_query(
        "1d",
        OWNER_QUANTITIES,
        [station_id],
        now_ms - LONG_TERM_DAYS * DAY_MS,
        now_ms + DAY_MS,
        stats=("mean", "count"),
    )
    raw_res, day_res = await influx.query(raw_q, raw_p), await influx.query(day_q, day_p)
    raw: dict[str, dict[str, Any]] = {}
    for series in raw_res[0].get("series", []) if raw_res else []:
        for q, entry in summarise_raw(series.get("values", []), series["columns"]).items():
            mine = raw.setdefault(q, {"points": [], "latest": None})
            mine["points"] = sorted(mine["points"] + entry["points"])
            if mine["latest"] is None or entry["latest"]["time"] > mine["latest"]["time"]:
                mine["latest"] = entry["latest"]
    daily_rows: list[list[Any]] = []
    columns: list[str] = []
    for series in day_res[0].get("series", []) if day_res else []:
        columns = series["columns"]
        daily_rows += series.get("values", [])
    out: dict[str, Any] = {}
    for q in OWNER_QUANTITIES:
        lt = long_term(daily_rows, columns, q) if columns else None
        if q not in raw and lt is None:
            continue
        entry = raw.get(q, {"points": [], "latest": None})
        out[q] = {"unit": QUANTITIES[q].unit, **entry, "long_term": lt}
    return out


@router.post(
    "/v1/owner/station",
    response_model=OwnerAnswer,
    responses=problem_responses(401, what={401: "unknown station or wrong token"}),
)
async def owner_station(
    login: OwnerLogin, registry: RegistryDep, influx: InfluxDep
) -> dict[str, Any]:
    """Latest values, the last 24 hours and the long-term means of one station, for the holder
    of its token (the station's owner). Indoor stations are shown nowhere else on the pages."""
    ok = (
        bool(STATION_ID_RE.fullmatch(login.station))
        and bool(login.token)
        and await run_in_threadpool(registry.verify_token, login.station, login.token)
    )
    station = await run_in_threadpool(registry.get, login.station) if ok else None
    if station is None:
        raise HTTPException(401, "unknown station or wrong token")
    return {
        "station": {"id": station.id, "name": station.name, "indoor": station.indoor},
        "quantities": await fetch_owner_view(influx, station.id),
    }
