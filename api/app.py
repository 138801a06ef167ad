"""FastAPI application factory: ``create_app(settings)``. Routers live in ``api/routes``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.broker_accounts import BrokerAdminSettings, StartupSync
from api.influx import InfluxReader
from api.map_layers import ReadyAnswerMiddleware
from api.metrics import MetricsMiddleware, RequestCounts, metrics_registry
from api.problems import install_problem_handlers, problem_openapi, problem_responses
from api.protection import RATE_LIMIT_EXEMPT, install_protection
from api.publish import ReadingPublisher
from api.qpv.selector import QpvStationSelector
from api.registry import Registry
from api.routes import (
    admin,
    airrohr,
    alerts,
    health,
    indices,
    ingest_http,
    owner,
    pages,
    qpv,
    series,
    stations,
)
from api.routes.calibration import router as calibration_router
from api.series_source import ContentCache
from api.settings import ApiSettings

DESCRIPTION = """\
Données des capteurs citoyens de qualité de l'air dans les quartiers prioritaires (QPV) des
Hauts-de-France. *Citizen air-quality data around the priority neighbourhoods (QPV) of
Hauts-de-France.*

Quantities and units are the platform vocabulary (`pm2_5` in µg/m³, `co2` in ppm, …);
times are RFC 3339 UTC. Errors are RFC 9457 problem details (`application/problem+json`,
with a `detail` sentence). Data licence: ODbL.
"""

ROUTERS = [
    health.router,
    stations.router,
    series.router,
    qpv.router,
    indices.router,
    admin.router,
    ingest_http.router,
    airrohr.router,
    pages.router,
    owner.router,
    calibration_router,
    alerts.router,
]


# every route may answer 429 but the exempt ones (the rate limiter runs before routing:
# api/protection.py, RateLimitMiddleware)
RATE_LIMITED = problem_responses(429)

# error answers of routers declared here rather than in their module
ROUTER_PROBLEMS = {
    id(qpv.router): problem_responses(
        400,
        404,
        503,
        what={404: "unknown QPV", 503: "the QPV layer or InfluxDB unavailable"},
    )
}


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids are the route functions' names (``station_series``): stable
    across versions, unlike FastAPI's default built from the path and method."""
    return route.name


def rate_limit_exempt_openapi(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap ``app.openapi``: no 429 on the paths the rate limiter never refuses (``/livez``)."""

    def openapi() -> dict[str, Any]:
        schema = build()  # cached by the app: popping twice changes nothing
        for path in RATE_LIMIT_EXEMPT:
            for op in schema.get("paths", {}).get(path, {}).values():
                op.get("responses", {}).pop("429", None)
        return schema

    return openapi


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.settings = settings
        app.state.registry = Registry(settings.database_url, settings.public_location_decimals)
        # the broker's accounts follow the registry (api/broker_accounts.py)
        broker = BrokerAdminSettings()
        app.state.registry.accounts = accounts = broker.accounts()
        app.state.broker_sync = None
        if accounts is not None:
            registry = app.state.registry
            app.state.broker_sync = StartupSync(
                accounts, registry.publishing_ids, broker.services()
            ).start()
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
            if app.state.broker_sync is not None:
                app.state.broker_sync.stop()
            if app.state.publisher is not None:
                app.state.publisher.stop()
            await app.state.influx.aclose()
            app.state.registry.close()

    app = FastAPI(
        title="AirQuartiers API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_problem_handlers(app)  # every error is application/problem+json
    # qpv= filters of /v1/stations and /v1/series: stations inside the QPV polygons
    app.state.qpv_selector = QpvStationSelector()
    # ready map answers served before routing, inside CORS and the body limit
    app.add_middleware(
        ReadyAnswerMiddleware,
        paths=qpv.MAP_ANSWER_PATHS,
        pages={"/carte": lambda state: pages.render("carte.html", state.settings)},
    )
    # CORS, the rate limit (every request but /livez, before routing) and the body limit
    install_protection(app, settings)
    counts = RequestCounts()
    app.state.metrics_registry = metrics_registry(counts, app.state)
    app.add_middleware(MetricsMiddleware, counts=counts)  # outermost: counts 413s, 429s, CORS
    for router in ROUTERS:
        app.include_router(
            router, responses={**RATE_LIMITED, **ROUTER_PROBLEMS.get(id(router), {})}
        )
    app.openapi = problem_openapi(rate_limit_exempt_openapi(app.openapi))  # type: ignore[method-assign]
    return app
