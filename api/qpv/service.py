"""The QPV service of the API: loaded layers (reloaded when their file changes), cached station
placements, and the hourly aggregates read from InfluxDB."""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import shapely
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pyproj import Transformer
from shapely.geometry import mapping

from airq_core.i18n import LANGUAGES, message_in
from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from airq_core.storage import AGG_RP, TAG_SENSOR, TAG_STATION, TIERS, agg_field
from api.qpv.placement import (
    Placement,
    PlacementCache,
    communes_of_qpv,
    index_zones,
    place_station,
    qpv_zones,
)
from api.qpv.polygons import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_FILE,
    LAMBERT93,
    WGS84,
    Layer,
    load_communes,
    load_qpv,
)
from api.registry import Placement as RegistryPlacement
from api.registry import Station

log = logging.getLogger(__name__)

_TO_L93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
_TO_WGS84 = Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)
# Polygons of the web map (docs/api.md "Map layers"): 3 m is under 2 pixels at zoom 16 (about
# 1.5 m a pixel at 50° N) and invisible at the zooms the map opens on (<= 14); 5 decimals of a
# degree are about 1.1 m north-south and 0.7 m east-west here.
MAP_TOLERANCE_M = 3.0
MAP_DECIMALS = 5
_QUANTITY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QpvSettings(BaseSettings):
    """``AIRQ_QPV_*`` settings (see docs/qpv-dashboards.md)."""

    model_config = SettingsConfigDict(env_prefix="AIRQ_QPV_", env_file=".env", extra="ignore")

    file: Path = DEFAULT_FILE
    crs: str | None = None
    attribution: str = DEFAULT_ATTRIBUTION
    communes_file: Path | None = None
    communes_crs: str | None = None
    buffers_m: Annotated[tuple[int, ...], NoDecode] = (300, 1000)
    reference_radius_m: float = Field(default=5000, gt=0, le=50_000)
    min_coverage: float = Field(default=0.75, ge=0, le=1)
    min_day_coverage: float = Field(default=0.75, gt=0, le=1)
    max_days: int = Field(default=400, ge=1)
    default_days: int = Field(default=30, ge=1)

    @field_validator("buffers_m", mode="before")
    @classmethod
    def _parse_buffers(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in re.split(r"[,\s]+", v.strip()) if p]
        try:
            out = tuple(sorted({int(x) for x in v}))
        except (TypeError, ValueError):
            raise ValueError("AIRQ_QPV_BUFFERS_M must be metres, e.g. '300,1000'") from None
        if not out or out[0] <= 0 or out[-1] > 20_000:
            raise ValueError("AIRQ_QPV_BUFFERS_M must be between 1 and 20000 m")
        return out


def _to_map_coordinates(xy: Any) -> Any:
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), MAP_DECIMALS)


def check_quantity(quantity: str) -> str:
    """A vocabulary quantity or its humidity-corrected series (``pm2_5_hcorr``)."""
    if not _QUANTITY_RE.match(quantity) or quantity.removesuffix("_hcorr") not in QUANTITIES:
        raise ValueError(f"unknown quantity {quantity[:40]!r}")
    return quantity


def build_hourly_query(quantity: str, stations: list[str], start: float, end: float) -> str:
    """InfluxQL for the hourly means, counts and coverages of one quantity at some stations.
    Station ids match the registry pattern (letters, digits, dashes), so they are safe in a
    regex."""
    check_quantity(quantity)
    measurement = TIERS["1h"][0]
    mean, count = agg_field(quantity, "mean"), agg_field(quantity, "count")
    coverage = agg_field(quantity, "coverage")
    ids = "|".join(re.escape(s) for s in stations)
    return (
        f'SELECT "{mean}", "{count}", "{coverage}" FROM "{AGG_RP}"."{measurement}" '
        f"WHERE time >= '{format_time(start)}' AND time < '{format_time(end)}' "
        f'AND "{TAG_STATION}" =~ /^(?:{ids})$/ GROUP BY "{TAG_STATION}", "{TAG_SENSOR}"'
    )


def parse_hourly(results: list[dict[str, Any]], min_coverage: float) -> dict[str, dict[int, float]]:
    """InfluxDB results -> station -> {hour start (s): mean}. Several sensors of one station
    measuring the same quantity are combined, weighted by their counts; hours whose count is 0
    or missing, and sensor-hours whose coverage is known and below ``min_coverage``, are
    absent (a window without a coverage field predates it and is kept)."""
    acc: dict[str, dict[int, list[float]]] = {}
    for res in results:
        for series in res.get("series", []):
            sid = series.get("tags", {}).get(TAG_STATION)
            if not sid:
                continue
            per = acc.setdefault(sid, {})
            for row in series["values"]:
                t_ms, mean, count = row[0], row[1], row[2]
                cov = row[3] if len(row) > 3 else None
                if mean is None or not count:
                    continue
                if cov is not None and cov < min_coverage:
                    continue
                slot = per.setdefault(int(t_ms) // 1000, [0.0, 0.0])
                slot[0] += mean * count
                slot[1] += count
    out = {sid: {t: s / c for t, (s, c) in per.items() if c > 0} for sid, per in acc.items()}
    return {sid: hours for sid, hours in out.items() if hours}


@dataclass(frozen=True)
class StationRef:
    """One placement of a station, as the QPV code sees it. ``id`` is the station id for its
    current placement and ``"<station>@<placement>"`` for an earlier one, so placements (and
    their cache entries) are keyed on where the station was, not on the station;
    ``station_id`` is the station and [valid_from, valid_to) (epoch seconds) the time it was
    there: its readings count only for those hours. ``precision``: the decimals of lat/lon
    it is published at (None: the deployment's default)."""

    id: str
    name: str
    lat: float
    lon: float
    station_id: str = ""
    valid_from: float = -math.inf
    valid_to: float = math.inf
    precision: int | None = field(default=None, compare=False)

    @property
    def station(self) -> str:
        return self.station_id or self.id


def placement_refs(
    stations: Iterable[Station],
    placements: Mapping[str, Iterable[RegistryPlacement]],
    first_open: bool = True,
) -> list[StationRef]:
    """The outdoor placements of ``stations`` (an indoor placement never counts as outdoor
    exposure), keyed as :class:`StationRef` says. ``placements`` holds each station's
    placements oldest first; with ``first_open`` the first one given starts at -inf (give it
    only when it is the station's first)."""
    out = []
    for s in stations:
        for i, p in enumerate(placements.get(s.id, ())):
            if p.indoor:
                continue
            current = p.valid_to is None
            out.append(
                StationRef(
                    s.id if current else f"{s.id}@{p.id}",
                    s.name,
                    p.lat,
                    p.lon,
                    s.id,
                    # the first placement also holds what was measured before the station
                    # was registered (imported archives)
                    -math.inf if i == 0 and first_open else p.valid_from.timestamp(),
                    math.inf if p.valid_to is None else p.valid_to.timestamp(),
                    p.precision,
                )
            )
    return out


def clip_to_placements(
    series: Mapping[str, Mapping[int, float]], refs: Iterable[StationRef]
) -> dict[str, dict[int, float]]:
    """Station hourly series -> one series per placement (keyed on ``StationRef.id``) holding
    only the hours spent entirely at that placement: the hour in which a station was moved
    counts for neither place."""
    out: dict[str, dict[int, float]] = {}
    for ref in refs:
        hours = series.get(ref.station, {})
        t0, t1 = ref.valid_from, ref.valid_to
        clipped = {t: v for t, v in hours.items() if t >= t0 and t + 3600 <= t1}
        if clipped:
            out[ref.id] = clipped
    return out


class QpvService:
    """Holds the QPV layer (and the optional communes layer), reloading a file whenever its
    modification time or size changes, and the placement cache keyed on layer versions."""

    def __init__(self, settings: QpvSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._qpv: Layer | None = None
        self._qpv_stat: tuple[float, int] | None = None
        self._communes: Layer | None = None
        self._communes_stat: tuple[float, int] | None = None
        self._qpv_communes: dict[str, tuple[str, ...]] | None = None
        self._cache = PlacementCache()
        self._map_geometries: tuple[str, dict[str, dict[str, Any]]] | None = None
        self.layer()  # fail fast on a bad file

    @staticmethod
    def _stat(path: Path) -> tuple[float, int]:
        st = os.stat(path)
        return st.st_mtime, st.st_size

    def layer(self) -> Layer:
        with self._lock:
            stat = self._stat(self.settings.file)
            if self._qpv is None or stat != self._qpv_stat:
                self._qpv = load_qpv(self.settings.file, self.settings.crs)
                self._qpv_stat = stat
                self._qpv_communes = None
                log.info(
                    "QPV layer %s loaded: %d QPV (version %s)",
                    self._qpv.source,
                    len(self._qpv.areas),
                    self._qpv.version,
                )
            return self._qpv

    def communes(self) -> Layer | None:
        path = self.settings.communes_file
        if path is None:
            return None
        with self._lock:
            stat = self._stat(path)
            if self._communes is None or stat != self._communes_stat:
                self._communes = load_communes(path, self.settings.communes_crs)
                self._communes_stat = stat
                self._qpv_communes = None
            return self._communes

    def qpv_communes(self) -> dict[str, tuple[str, ...]] | None:
        """QPV code -> commune codes, when a communes layer is configured."""
        qpv, communes = self.layer(), self.communes()
        if communes is None:
            return None
        with self._lock:
            if self._qpv_communes is None:
                self._qpv_communes = communes_of_qpv(qpv, communes)
            return self._qpv_communes

    @property
    def search_radius_m(self) -> float:
        s = self.settings
        return float(max(max(s.buffers_m), s.reference_radius_m if not s.communes_file else 0))

    def placements(self, stations: list[StationRef]) -> dict[str, Placement]:
        qpv, communes = self.layer(), self.communes()
        key = (
            qpv.version,
            communes.version if communes else None,
            self.settings.buffers_m,
            self.search_radius_m,
        )
        with self._lock:
            return self._cache.get(
                key,
                [(s.id, s.lat, s.lon) for s in stations],
                lambda sid, lat, lon: place_station(
                    sid, lat, lon, qpv, self.search_radius_m, communes
                ),
            )

    def stations_inside(self, code: str, stations: Sequence[tuple[str, float, float]]) -> set[str]:
        """Ids of ``stations`` (id, lat, lon: exact WGS84 coordinates) whose location the polygon
        of QPV ``code`` covers (boundary included, as *inside* in the placements). Raises
        ``KeyError`` for a code the layer does not hold."""
        area = self.layer().by_code[code]
        if not stations:
            return set()
        lats = np.fromiter((s[1] for s in stations), float, len(stations))
        lons = np.fromiter((s[2] for s in stations), float, len(stations))
        with self._lock:
            x, y = _TO_L93.transform(lons, lats)
        covered = shapely.covers(area.geometry, shapely.points(x, y))
        return {s[0] for s, inside in zip(stations, covered, strict=True) if inside}

    @property
    def placements_computed(self) -> int:
        return self._cache.computed

    def zones(self, code: str, placements: dict[str, Placement]) -> dict[str, list[str]]:
        communes = self.qpv_communes()
        return qpv_zones(
            code,
            placements.values(),
            self.settings.buffers_m,
            self.settings.reference_radius_m,
            None if communes is None else communes.get(code, ()),
        )

    def zones_index(self, placements: dict[str, Placement]) -> dict[str, dict[str, list[str]]]:
        """QPV code -> :meth:`zones` of every QPV of the layer, in one pass over the
        placements."""
        return index_zones(
            [a.code for a in self.layer().areas],
            placements.values(),
            self.settings.buffers_m,
            self.settings.reference_radius_m,
            self.qpv_communes(),
        )

    def map_geometries(self) -> dict[str, dict[str, Any]]:
        """QPV code -> GeoJSON geometry for web maps: simplified in Lambert-93 within
        ``MAP_TOLERANCE_M`` (topology kept: no polygon vanishes or crosses itself), then in
        WGS84 with ``MAP_DECIMALS`` decimals. Computed once per layer version."""
        layer = self.layer()
        with self._lock:
            if self._map_geometries is None or self._map_geometries[0] != layer.version:
                geoms = {
                    a.code: mapping(
                        shapely.transform(
                            shapely.simplify(a.geometry, MAP_TOLERANCE_M, preserve_topology=True),
                            _to_map_coordinates,
                        )
                    )
                    for a in layer.areas
                }
                self._map_geometries = (layer.version, geoms)
            return self._map_geometries[1]

    def outside_definition(self, code: str) -> dict[str, str]:
        communes = self.qpv_communes()
        if communes is None:
            r = self.settings.reference_radius_m
            km = f"{r / 1000:g}"
            return {
                lang: message_in(lang, "api", "outside_within_radius", km=km) for lang in LANGUAGES
            }
        codes = ", ".join(communes.get(code, ())) or "?"
        return {
            lang: message_in(lang, "api", "outside_in_commune", codes=codes) for lang in LANGUAGES
        }
