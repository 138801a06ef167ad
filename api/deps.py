"""Dependency aliases shared by the routers.

The dependencies that only read the app state are ``async def``: FastAPI runs a plain ``def``
dependency in a worker thread, a hop that costs more than the lookup itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from airq_core.readings import parse_time
from airq_core.wire import TS_MAX, TS_MIN
from api.influx import InfluxReader
from api.publish import ReadingPublisher
from api.registry import Registry
from api.settings import ApiSettings


async def _registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


async def _influx(request: Request) -> InfluxReader:
    return request.app.state.influx  # type: ignore[no-any-return]


async def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def _publisher(request: Request) -> ReadingPublisher:
    pub = request.app.state.publisher
    if pub is None:
        raise HTTPException(503, "HTTP ingest is not configured on this server (AIRQ_MQTT_URL)")
    return pub  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(_registry)]
InfluxDep = Annotated[InfluxReader, Depends(_influx)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
PublisherDep = Annotated[ReadingPublisher, Depends(_publisher)]


def parse_time_param(name: str, value: str | None, default: float) -> float:
    """A query parameter in RFC 3339 (with zone) or Unix seconds; 400 naming it otherwise."""
    if value is None or value == "":
        return default
    try:
        try:
            number: float | None = float(value)
        except ValueError:
            number = None
        t = parse_time(number if number is not None else value)
    except ValueError as exc:
        raise HTTPException(400, f"invalid '{name}': {exc}") from None
    # the same bounds as readings: a time in milliseconds read as seconds (year ~58 000) or a
    # year 10 000 is refused here, not left to fail later when formatted
    if not TS_MIN <= t <= TS_MAX:
        raise HTTPException(400, f"invalid '{name}': outside 1970-2100 (Unix seconds, not ms)")
    return t
