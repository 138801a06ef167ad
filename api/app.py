"""FastAPI application factory: ``create_app(settings)``."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time, parse_time
from airq_core.sensors import SENSORS
from airq_core.storage import TAG_SENSOR, TAG_STATION
from api.influx import InfluxQueryError, InfluxReader
from api.queries import build_last_seen_query, build_series_query
from api.registry import Registry
from api.settings import ApiSettings

DESCRIPTION = """\
Données des capteurs citoyens de qualité de l'air dans les quartiers prioritaires (QPV) des
Hauts-de-France. *Citizen air-quality data around the priority neighbourhoods (QPV) of
Hauts-de-France.*

Quantities and units are the platform vocabulary (`pm2_5` in µg/m³, `co2` in ppm, …);
times are RFC 3339 UTC. Data licence: ODbL.
"""


def _registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def _influx(request: Request) -> InfluxReader:
    return request.app.state.influx  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(_registry)]
InfluxDep = Annotated[InfluxReader, Depends(_influx)]


def _parse_time_param(name: str, value: str | None, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return parse_time(float(value) if _is_number(value) else value)
    except ValueError as exc:
        raise HTTPException(400, f"invalid '{name}': {exc}") from None


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


async def _last_seen(influx: InfluxReader) -> dict[str, dict[str, float]]:
    """station -> {sensor: last time (ms)}."""
    out: dict[str, dict[str, float]] = {}
    for res in await influx.query(build_last_seen_query()):
        for series in res.get("series", []):
            tags = series.get("tags", {})
            st, sn = tags.get(TAG_STATION), tags.get(TAG_SENSOR)
            t = series["values"][0][0]
            if st and sn:
                prev = out.setdefault(st, {}).get(sn, 0)
                out[st][sn] = max(prev, t)
    return out


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.settings = settings
        app.state.registry = Registry(settings.database_url)
        app.state.influx = InfluxReader(settings.influx_url, settings.influx_db,
                                        settings.influx_username, settings.influx_password)
        try:
            yield
        finally:
            await app.state.influx.aclose()
            app.state.registry.close()

    app = FastAPI(title="AirQuartiers API", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan)

    @app.exception_handler(InfluxQueryError)
    async def _influx_down(request: Request, exc: InfluxQueryError) -> JSONResponse:
        return JSONResponse({"detail": f"time-series store unavailable: {exc}"}, status_code=503)

    @app.get("/healthz", tags=["health"])
    async def healthz(influx: InfluxDep) -> dict[str, Any]:
        ok = await influx.ping()
        if not ok:
            raise HTTPException(503, "InfluxDB does not answer")
        return {"status": "ok", "influxdb": "ok"}

    @app.get("/v1/quantities", tags=["vocabulary"])
    async def quantities() -> dict[str, Any]:
        """The vocabulary: quantity names, units and labels."""
        return {q.name: {"unit": q.unit, "label_fr": q.label_fr, "label_en": q.label_en}
                for q in QUANTITIES.values()}

    @app.get("/v1/stations", tags=["stations"])
    async def list_stations(registry: RegistryDep, influx: InfluxDep) -> dict[str, Any]:
        """All active stations as a GeoJSON FeatureCollection."""
        stations = await run_in_threadpool(registry.list)
        seen = await _last_seen(influx)
        features = []
        for s in stations:
            per_sensor = seen.get(s.id, {})
            last = max(per_sensor.values()) if per_sensor else None
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "id": s.id,
                    "name": s.name,
                    "indoor": s.indoor,
                    "sensors": sorted(per_sensor),
                    "last_seen": format_time(last / 1000) if last else None,
                },
            })
        return {"type": "FeatureCollection", "features": features}

    @app.get("/v1/stations/{station_id}/series", tags=["series"])
    async def station_series(
        station_id: str,
        registry: RegistryDep,
        influx: InfluxDep,
        quantity: Annotated[str, Query(description="e.g. pm2_5, pm10, co2")],
        start: Annotated[str | None, Query(description="RFC 3339 or Unix seconds")] = None,
        end: Annotated[str | None, Query(description="RFC 3339 or Unix seconds")] = None,
        sensor: Annotated[str | None, Query(description="only this sensor model")] = None,
    ) -> dict[str, Any]:
        """Raw time series of one quantity at one station."""
        station = await run_in_threadpool(registry.get, station_id)
        if station is None:
            raise HTTPException(404, f"unknown station {station_id[:64]!r}")
        if quantity not in QUANTITIES:
            raise HTTPException(
                400, f"unknown quantity {quantity[:40]!r}; known: {', '.join(QUANTITIES)}")
        if sensor is not None and sensor not in SENSORS:
            raise HTTPException(400, f"unknown sensor {sensor[:40]!r}")
        now = time.time()
        end_t = _parse_time_param("end", end, now)
        start_t = _parse_time_param("start", start, end_t - settings.api_default_window_h * 3600)
        if start_t >= end_t:
            raise HTTPException(400, "'start' must be before 'end'")
        limit = settings.api_max_points
        q, params = build_series_query(station_id, quantity, start_t, end_t, sensor, limit + 1)
        results = await influx.query(q, params)
        points = []
        for series in results[0].get("series", []) if results else []:
            for t, v in series["values"]:
                if v is not None:
                    points.append({"time": format_time(t / 1000), "value": v})
        if len(points) > limit:
            raise HTTPException(
                413, f"more than {limit} points; ask for a shorter period (start/end)")
        return {
            "station": station_id,
            "quantity": quantity,
            "unit": QUANTITIES[quantity].unit,
            "start": format_time(start_t),
            "end": format_time(end_t),
            "points": points,
        }

    return app


def _utcnow() -> datetime:
    return datetime.now(UTC)
