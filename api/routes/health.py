from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from airq_core.quantities import QUANTITIES
from api.deps import InfluxDep

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz(influx: InfluxDep) -> dict[str, Any]:
    if not await influx.ping():
        raise HTTPException(503, "InfluxDB does not answer")
    return {"status": "ok", "influxdb": "ok"}


@router.get("/v1/quantities", tags=["vocabulary"])
async def quantities() -> dict[str, Any]:
    """The vocabulary: quantity names, units and labels (French and English)."""
    return {
        q.name: {"unit": q.unit, "label_fr": q.label_fr, "label_en": q.label_en}
        for q in QUANTITIES.values()
    }
