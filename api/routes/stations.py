from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from airq_core.readings import format_time
from airq_core.storage import TAG_SENSOR, TAG_STATION
from api.deps import InfluxDep, RegistryDep
from api.influx import InfluxReader
from api.queries import build_last_seen_query

router = APIRouter(tags=["stations"])


async def fetch_last_seen(influx: InfluxReader) -> dict[str, dict[str, float]]:
    """station -> {sensor: time of its last value (ms)}."""
    out: dict[str, dict[str, float]] = {}
    for res in await influx.query(build_last_seen_query()):
        for series in res.get("series", []):
            tags = series.get("tags", {})
            st, sn = tags.get(TAG_STATION), tags.get(TAG_SENSOR)
            if st and sn:
                t = series["values"][0][0]
                out.setdefault(st, {})[sn] = max(out.get(st, {}).get(sn, 0), t)
    return out


@router.get("/v1/stations")
async def list_stations(registry: RegistryDep, influx: InfluxDep) -> dict[str, Any]:
    """All active stations as a GeoJSON FeatureCollection."""
    stations = await run_in_threadpool(registry.list)
    seen = await fetch_last_seen(influx)
    features = []
    for s in stations:
        per_sensor = seen.get(s.id, {})
        last = max(per_sensor.values()) if per_sensor else None
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "id": s.id,
                    "name": s.name,
                    "indoor": s.indoor,
                    "sensors": sorted(per_sensor),
                    "last_seen": format_time(last / 1000) if last else None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
