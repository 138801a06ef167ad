"""Hourly series that calibration reads from InfluxDB: a station's PM hourly means (tier
``readings_1h``, which already leaves flagged readings out, with its coverage), its relative
humidity (hourly mean over its sensors) and a reference site's hourly values (measurement
``reference``). Used by the API route and by ``airq calibration fit``.

Hours whose PM coverage is known and below :data:`MIN_COVERAGE` are left out (the EPA
cleaning keeps hours with 90 % of the expected readings; we ask 75 %, the share the EU
directive asks of an hourly value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from airq_core.calibration import (
    DEFAULT_MAX_DISTANCE_M,
    FIT_METHOD,
    REFERENCE_MEASUREMENT,
    CalibrationError,
    colocated,
    fit_linear_rh,
    pair_hours,
)
from airq_core.readings import format_time
from airq_core.storage import AGG_RP, TAG_SENSOR, TAG_STATION, TIERS, agg_field
from api.calibration_store import CalibrationRecord, CalibrationStore
from api.influx import InfluxReader
from api.registry import Registry

__all__ = [
    "MIN_COVERAGE",
    "NotColocatedError",
    "StationHours",
    "UnknownSiteError",
    "fetch_reference_hours",
    "fetch_station_hours",
    "fit_colocated",
]

MIN_COVERAGE = 0.75
HOUR_MS = 3_600_000


@dataclass
class StationHours:
    """Hourly PM means per sensor model and hourly RH, keyed by window start (ms)."""

    pm: dict[str, dict[int, float]] = field(default_factory=dict)
    rh: dict[int, float] = field(default_factory=dict)


def _range(start_ms: int, end_ms: int) -> str:
    return f"time >= '{format_time(start_ms / 1000)}' AND time < '{format_time(end_ms / 1000)}'"


async def fetch_station_hours(
    influx: InfluxReader, station: str, quantity: str, start_ms: int, end_ms: int
) -> StationHours:
    tier = f'"{AGG_RP}"."{TIERS["1h"][0]}"'
    mean, cov = agg_field(quantity, "mean"), agg_field(quantity, "coverage")
    rh = agg_field("humidity", "mean")
    where = f'"{TAG_STATION}" = $station AND {_range(start_ms, end_ms)}'
    q = (
        f'SELECT "{mean}", "{cov}" FROM {tier} WHERE {where} GROUP BY "{TAG_SENSOR}"; '
        f'SELECT mean("{rh}") FROM {tier} WHERE {where} GROUP BY time(1h) fill(none)'
    )
    results = await influx.query(q, {"station": station})
    out = StationHours()
    for series in results[0].get("series", []) if results else []:
        sensor = (series.get("tags") or {}).get(TAG_SENSOR, "")
        cols = series["columns"]
        i_mean, i_cov = cols.index(mean), cols.index(cov)
        hours = out.pm.setdefault(sensor, {})
        for row in series["values"]:
            value, coverage = row[i_mean], row[i_cov]
            if value is None or (coverage is not None and coverage < MIN_COVERAGE):
                continue
            hours[int(row[0])] = float(value)
    if len(results) > 1:
        for series in results[1].get("series", []):
            for t, value in series["values"]:
                if value is not None:
                    out.rh[int(t)] = float(value)
    out.pm = {k: v for k, v in out.pm.items() if v}
    return out


async def fetch_reference_hours(
    influx: InfluxReader, site: str, pollutant: str, start_ms: int, end_ms: int
) -> dict[int, float]:
    q = (
        f'SELECT mean("value") FROM "{AGG_RP}"."{REFERENCE_MEASUREMENT}" '
        f'WHERE "site" = $site AND "pollutant" = $pollutant AND {_range(start_ms, end_ms)} '
        "GROUP BY time(1h) fill(none)"
    )
    results = await influx.query(q, {"site": site, "pollutant": pollutant})
    out: dict[int, float] = {}
    for series in results[0].get("series", []) if results else []:
        for t, value in series["values"]:
            if value is not None:
                out[int(t)] = float(value)
    return out


class NotColocatedError(CalibrationError):
    """The station (or no station of the model) lies within the co-location distance of the
    reference site: choose a nearer site, or place a station beside it."""


class UnknownSiteError(CalibrationError):
    """The reference site is not in the sites table: import it with ``--sites``."""


async def fit_colocated(
    influx: InfluxReader,
    registry: Registry,
    store: CalibrationStore,
    *,
    site_code: str,
    start_ms: int,
    end_ms: int,
    station: str | None = None,
    model: str | None = None,
    quantity: str = "pm2_5",
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> CalibrationRecord:
    """Fit ``ref = a·raw + b·RH + c`` on the hours where the station (or every station of the
    sensor model) within ``max_distance_m`` of the site has PM, humidity and a reference value;
    store it with its provenance. Raises :class:`CalibrationError` (or a subclass) saying what
    is missing."""
    if (station is None) == (model is None):
        raise CalibrationError("give a station or a sensor model, not both")
    site = store.site(site_code)
    if site is None:
        raise UnknownSiteError(f"unknown reference site {site_code!r}: import its coordinates")
    if station is not None:
        st = registry.get(station)
        if st is None:
            raise CalibrationError(f"unknown station {station!r}")
        candidates = [st]
    else:
        candidates = [s for s in registry.list() if not s.indoor]
    near = colocated(
        [(s.id, s.lat, s.lon) for s in candidates],
        [(site.code, site.lat, site.lon)],
        max_distance_m,
    )
    if not near:
        who = f"station {station!r}" if station else f"no outdoor station of model {model!r}"
        raise NotColocatedError(
            f"{who} is not within {max_distance_m:g} m of reference site {site.code!r}"
        )
    ref = await fetch_reference_hours(influx, site.code, quantity, start_ms, end_ms)
    if not ref:
        raise CalibrationError(
            f"no hourly {quantity} of reference site {site.code!r} in the period: import it"
        )
    pairs: list[tuple[float, float, float]] = []
    used: list[str] = []
    sensors: set[str] = set()
    for sid, _code, _d in near:
        hours = await fetch_station_hours(influx, sid, quantity, start_ms, end_ms)
        chosen = [model] if model else sorted(hours.pm)
        for sensor in chosen:
            if sensor not in hours.pm:
                continue
            got = pair_hours(hours.pm[sensor], hours.rh, ref)
            if got:
                pairs.extend((raw, rh, r) for _t, raw, rh, r in got)
                used.append(sid)
                sensors.add(sensor)
                break  # one PM sensor per station
    if not pairs:
        raise NotColocatedError(
            f"no hour with {quantity}, humidity and a reference value at the same time for "
            f"{', '.join(s for s, _, _ in near)} and site {site.code!r} in the period"
        )
    fit = fit_linear_rh(pairs)
    return store.add_fit(
        scope="station" if station else "model",
        station=station,
        sensor=model or next(iter(sensors)),
        quantity=quantity,
        site=site.code,
        stations_used=used,
        method=FIT_METHOD,
        fit=fit,
        period_start=datetime.fromtimestamp(start_ms / 1000, UTC),
        period_end=datetime.fromtimestamp(end_ms / 1000, UTC),
        max_distance_m=max_distance_m,
    )
