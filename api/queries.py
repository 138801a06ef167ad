"""InfluxQL builders (pure). Identifiers come from the vocabulary and the storage contract, never
from the request; every value a client chose (station ids, sensor) goes in bind parameters;
times are formatted from integers."""

from __future__ import annotations

from collections.abc import Sequence

from airq_core import storage
from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.storage import (
    AGG_RP,
    AGG_STATS,
    FIELD_FLAGS,
    PACKED_1H_MEASUREMENT,
    QUALITY_STATS,
    RAW_MEASUREMENT,
    RAW_RP,
    TAG_SENSOR,
    TAG_STATION,
    TIERS,
    agg_field,
)

__all__ = [
    "SERIES_FIELDS",
    "build_count_query",
    "build_last_seen_query",
    "build_select_query",
    "build_window_count_query",
    "source_of",
    "tier_fields",
]


# Humidity-corrected PM is stored by the ingest beside the raw PM (storage contract).
HCORR_SUFFIX: str = getattr(storage, "HCORR_SUFFIX", "_hcorr")
HCORR_QUANTITIES: tuple[str, ...] = getattr(storage, "HCORR_QUANTITIES", ("pm2_5", "pm10"))

PACKED_TIER = "1h_by_day"
"""The hourly windows packed by UTC day (same field names, string values)."""

SERIES_FIELDS: dict[str, str] = {q: q for q in QUANTITIES}
"""Names a series request may ask for -> the vocabulary quantity that gives the unit: every
quantity, plus the humidity-corrected PM fields (``pm2_5_hcorr``)."""
SERIES_FIELDS.update({f"{q}{HCORR_SUFFIX}": q for q in HCORR_QUANTITIES})


def _ident(name: str) -> str:
    if name not in SERIES_FIELDS:
        raise ValueError(f"unknown quantity {name!r}")
    return f'"{name}"'


def source_of(tier: str) -> str:
    """``raw``, a tier name or ``PACKED_TIER`` -> the quoted retention policy and
    measurement."""
    if tier == "raw":
        return f'"{RAW_RP}"."{RAW_MEASUREMENT}"'
    if tier == PACKED_TIER:
        return f'"{AGG_RP}"."{PACKED_1H_MEASUREMENT}"'
    return f'"{AGG_RP}"."{TIERS[tier][0]}"'


def tier_fields(quantities: Sequence[str], stats: Sequence[str] = AGG_STATS) -> list[str]:
    """Field names read from an aggregate tier, per quantity in the order of ``stats`` (by
    default mean, min, max, count; also ``flagged``, ``coverage``)."""
    for q in quantities:
        _ident(q)
    for s in stats:
        if s not in AGG_STATS and s not in QUALITY_STATS:
            raise ValueError(f"unknown statistic {s!r}")
    return [agg_field(q, s) for q in quantities for s in stats]


def _where(
    stations: Sequence[str], start_ms: int, end_ms: int, sensor: str | None
) -> tuple[str, dict[str, str]]:
    if not stations:
        raise ValueError("no station")
    params = {f"s{i}": s for i, s in enumerate(stations)}
    cond = " OR ".join(f'"{TAG_STATION}" = $s{i}' for i in range(len(stations)))
    where = (
        f"({cond}) AND time >= '{format_time(start_ms / 1000)}' "
        f"AND time < '{format_time(end_ms / 1000)}'"
    )
    if sensor is not None:
        where += f' AND "{TAG_SENSOR}" = $sensor'
        params["sensor"] = sensor
    return where, params


def build_select_query(
    tier: str,
    quantities: Sequence[str],
    stations: Sequence[str],
    start_ms: int,
    end_ms: int,
    sensor: str | None = None,
    stats: Sequence[str] = AGG_STATS,
    flags: bool = False,
) -> tuple[str, dict[str, str]]:
    """Rows of raw readings (``tier="raw"``: one column per quantity, then the ``flags`` text
    when ``flags``) or of an aggregate tier (the ``stats`` columns per quantity), one series
    per (station, sensor), in time order."""
    if tier == "raw":
        fields = [_ident(q) for q in quantities]
        if flags:
            fields.append(f'"{FIELD_FLAGS}"')
    else:
        fields = [f'"{f}"' for f in tier_fields(quantities, stats)]
    where, params = _where(stations, start_ms, end_ms, sensor)
    q = (
        f"SELECT {', '.join(fields)} FROM {source_of(tier)} WHERE {where} "
        f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    )
    return q, params


def build_count_query(
    quantities: Sequence[str],
    stations: Sequence[str],
    start_ms: int,
    end_ms: int,
    sensor: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Number of raw values per quantity over the selection (one row, ``count_<q>`` columns)."""
    where, params = _where(stations, start_ms, end_ms, sensor)
    fields = ", ".join(f"count({_ident(q)})" for q in quantities)
    return f"SELECT {fields} FROM {source_of('raw')} WHERE {where}", params


def build_window_count_query(
    tier: str,
    quantities: Sequence[str],
    stations: Sequence[str],
    start_ms: int,
    end_ms: int,
    sensor: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Number of stored windows of an aggregate tier per (station, sensor), one ``count``
    column per quantity (windows holding it), in the order of ``quantities``."""
    fields = ", ".join(f'count("{f}")' for f in tier_fields(quantities, ("count",)))
    where, params = _where(stations, start_ms, end_ms, sensor)
    group = f'GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    return f"SELECT {fields} FROM {source_of(tier)} WHERE {where} {group}", params


def build_last_seen_query(tier: str = "raw") -> str:
    """One statement per quantity: time of the last value per (station, sensor), from raw
    readings or (for history older than the raw retention) from an aggregate tier."""
    if tier == "raw":
        fields = [(q, _ident(q)) for q in QUANTITIES]
    else:
        fields = [(q, f'"{agg_field(q, "count")}"') for q in QUANTITIES]
    return ";".join(
        f'SELECT last({f}) FROM {source_of(tier)} GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
        for _, f in fields
    )
