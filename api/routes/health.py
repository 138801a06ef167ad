"""Liveness, readiness, Prometheus metrics and the vocabulary.

* ``/livez``: the process answers (never touches InfluxDB or the registry): restart it when not.
* ``/readyz``: InfluxDB and the registry answer: send it traffic; 503 otherwise.
* ``/healthz``: the same as ``/readyz`` (kept for existing probes and scripts).
* ``/metrics``: Prometheus text format (see ``api/metrics.py``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airq_core.quantities import QUANTITIES
from api.deps import InfluxDep, RegistryDep
from api.problems import problem_responses

router = APIRouter()


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ok"] = "ok"
    influxdb: Literal["ok"] = "ok"
    registry: Literal["ok"] = "ok"


class QuantityInfo(BaseModel):
    unit: str = Field(examples=["µg/m³"])
    label_fr: str
    label_en: str


@router.get("/livez", tags=["health"])
async def livez() -> Alive:
    """The process is alive (nothing else is checked)."""
    return Alive()


async def _ready(influx: InfluxDep, registry: RegistryDep) -> Ready:
    down = []
    if not await influx.ping():
        down.append("InfluxDB does not answer")
    if not await run_in_threadpool(registry.ping):
        down.append("the station registry does not answer")
    if down:
        raise HTTPException(503, "; ".join(down))
    return Ready()


_READY_DOC = {
    "tags": ["health"],
    "responses": problem_responses(503, what={503: "InfluxDB or the registry does not answer"}),
}


@router.get("/readyz", **_READY_DOC)  # type: ignore[arg-type]
async def readyz(influx: InfluxDep, registry: RegistryDep) -> Ready:
    """InfluxDB and the station registry answer: the API can serve."""
    return await _ready(influx, registry)


@router.get("/healthz", **_READY_DOC)  # type: ignore[arg-type]
async def healthz(influx: InfluxDep, registry: RegistryDep) -> Ready:
    """The same as ``/readyz`` (the name earlier versions served)."""
    return await _ready(influx, registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get("/v1/quantities", tags=["vocabulary"])
async def quantities() -> dict[str, QuantityInfo]:
    """The vocabulary: quantity names, units and labels (French and English)."""
    return {
        q.name: QuantityInfo(unit=q.unit, label_fr=q.label_fr, label_en=q.label_en)
        for q in QUANTITIES.values()
    }
