"""InfluxQL builders (pure). Identifiers come from the vocabulary, values go in bind params."""

from __future__ import annotations

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.storage import RAW_MEASUREMENT, RAW_RP, TAG_SENSOR, TAG_STATION


def _ident(name: str) -> str:
    if name not in QUANTITIES:
        raise ValueError(f"unknown quantity {name!r}")
    return f'"{name}"'


def build_series_query(
    station: str, quantity: str, start: float, end: float, sensor: str | None, limit: int
) -> tuple[str, dict[str, str]]:
    params = {"station": station}
    where = (
        f"\"{TAG_STATION}\" = $station AND time >= '{format_time(start)}' "
        f"AND time < '{format_time(end)}'"
    )
    if sensor is not None:
        where += f' AND "{TAG_SENSOR}" = $sensor'
        params["sensor"] = sensor
    source = f'"{RAW_RP}"."{RAW_MEASUREMENT}"'
    q = f"SELECT {_ident(quantity)} FROM {source} WHERE {where} LIMIT {int(limit)}"
    return q, params


def build_last_seen_query() -> str:
    """One statement per quantity: last value time per (station, sensor)."""
    return ";".join(
        f'SELECT last({_ident(q)}) FROM "{RAW_RP}"."{RAW_MEASUREMENT}" '
        f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
        for q in QUANTITIES
    )
