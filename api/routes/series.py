from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.sensors import SENSORS
from api.deps import InfluxDep, RegistryDep, SettingsDep, parse_time_param
from api.queries import build_series_query

router = APIRouter(tags=["series"])


@router.get("/v1/stations/{station_id}/series")
async def station_series(
    station_id: str,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    quantity: Annotated[str, Query(description="e.g. pm2_5, pm10, co2")],
    start: Annotated[str | None, Query(description="RFC 3339 or Unix seconds")] = None,
    end: Annotated[str | None, Query(description="RFC 3339 or Unix seconds")] = None,
    sensor: Annotated[str | None, Query(description="only this sensor model")] = None,
) -> dict[str, Any]:
    """Raw time series of one quantity at one station (default: the last 24 hours)."""
    station = await run_in_threadpool(registry.get, station_id)
    if station is None:
        raise HTTPException(404, f"unknown station {station_id[:64]!r}")
    if quantity not in QUANTITIES:
        raise HTTPException(
            400, f"unknown quantity {quantity[:40]!r}; known: {', '.join(QUANTITIES)}"
        )
    if sensor is not None and sensor not in SENSORS:
        raise HTTPException(400, f"unknown sensor {sensor[:40]!r}")
    end_t = parse_time_param("end", end, time.time())
    start_t = parse_time_param("start", start, end_t - settings.api_default_window_h * 3600)
    if start_t >= end_t:
        raise HTTPException(400, "'start' must be before 'end'")
    limit = settings.api_max_points
    q, params = build_series_query(station_id, quantity, start_t, end_t, sensor, limit + 1)
    results = await influx.query(q, params)
    points = [
        {"time": format_time(t / 1000), "value": v}
        for series in (results[0].get("series", []) if results else [])
        for t, v in series["values"]
        if v is not None
    ]
    if len(points) > limit:
        raise HTTPException(413, f"more than {limit} points; ask for a shorter period")
    return {
        "station": station_id,
        "quantity": quantity,
        "unit": QUANTITIES[quantity].unit,
        "start": format_time(start_t),
        "end": format_time(end_t),
        "points": points,
    }
