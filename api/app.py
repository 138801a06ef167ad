"""FastAPI application factory: ``create_app(settings)``. Routers live in ``api/routes``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.influx import InfluxQueryError, InfluxReader
from api.protection import install_protection
from api.publish import ReadingPublisher
from api.qpv.selector import QpvStationSelector
from api.registry import Registry
from api.routes import admin, airrohr, health, ingest_http, pages, qpv, series, stations
from api.series_source import ContentCache
from api.settings import ApiSettings

DESCRIPTION = """\
Données des capteurs citoyens de qualité de l'air dans les quartiers prioritaires (QPV) des
Hauts-de-France. *Citizen air-quality data around the priority neighbourhoods (QPV) of
Hauts-de-France.*

Quantities and units are the platform vocabulary (`pm2_5` in µg/m³, `co2` in ppm, …);
times are RFC 3339 UTC. Data licence: ODbL.
"""

ROUTERS = [
    health.router,
    stations.router,
    series.router,
    qpv.router,
    admin.router,
    ingest_http.router,
    airrohr.router,
    pages.router,
]


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.settings = settings
        app.state.registry = Registry(settings.database_url)
        app.state.influx = InfluxReader(
            settings.influx_url,
            settings.influx_db,
            settings.influx_username,
            settings.influx_password,
        )
        app.state.series_cache = (
            ContentCache(int(settings.api_cache_mb * 2**20)) if settings.api_cache_mb else None
        )
        app.state.publisher = None
        if settings.mqtt_url:
            app.state.publisher = ReadingPublisher(settings.mqtt_url, settings.mqtt_ca_file)
            app.state.publisher.start()
        try:
            yield
        finally:
            if app.state.publisher is not None:
                app.state.publisher.stop()
            await app.state.influx.aclose()
            app.state.registry.close()

    app = FastAPI(
        title="AirQuartiers API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )

    @app.exception_handler(InfluxQueryError)
    async def _influx_down(request: Request, exc: InfluxQueryError) -> JSONResponse:
        return JSONResponse({"detail": f"time-series store unavailable: {exc}"}, status_code=503)

    # qpv= filters of /v1/stations and /v1/series: stations inside the QPV polygons
    app.state.qpv_selector = QpvStationSelector()
    install_protection(app, settings)  # CORS and the request-body limit
    for router in ROUTERS:
        app.include_router(router)
    return app
