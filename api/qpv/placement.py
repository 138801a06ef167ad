"""Station ↔ QPV placement (pure apart from the geometry library).

A station is *inside* a QPV when the polygon covers it (its boundary included), *near* it when
its distance to the polygon, computed in Lambert-93 metres, is at most the search radius (the
larger of the largest buffer and the reference radius). Zones of a QPV are then drawn from the
placements: the QPV itself, each buffer ring (cumulative: "within 300 m", "within 1 km", both
excluding the inside), and the reference area "rest of the commune outside any QPV".

``PlacementCache`` keeps placements keyed on the station's coordinates and the polygon layer
versions: a station that moves, or a layer that is reloaded, is placed again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import shapely
from pyproj import Transformer
from shapely.geometry import Point

from api.qpv.polygons import LAMBERT93, WGS84, Layer

ZONE_QPV = "qpv"
ZONE_OUTSIDE = "hors_qpv"


def buffer_zone(metres: int) -> str:
    return f"buffer_{metres}m"


@dataclass(frozen=True, slots=True)
class Placement:
    station: str
    lat: float
    lon: float
    inside: tuple[str, ...]  # QPV codes whose polygon covers the station
    near: tuple[tuple[str, float], ...]  # (QPV code, distance m) within the search radius
    communes: tuple[str, ...] = ()  # commune codes covering the station (communes layer)

    def distance_to(self, code: str) -> float | None:
        if code in self.inside:
            return 0.0
        for c, d in self.near:
            if c == code:
                return d
        return None


_TO_L93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)


def to_lambert93(lat: float, lon: float) -> Point:
    x, y = _TO_L93.transform(lon, lat)
    return Point(x, y)


def place_station(
    station: str,
    lat: float,
    lon: float,
    qpv: Layer,
    search_radius_m: float,
    communes: Layer | None = None,
) -> Placement:
    pt = to_lambert93(lat, lon)
    inside: list[str] = []
    near: list[tuple[str, float]] = []
    for i in qpv.tree.query(pt, predicate="dwithin", distance=search_radius_m):
        area = qpv.areas[int(i)]
        if area.geometry.covers(pt):
            inside.append(area.code)
        else:
            near.append((area.code, round(float(area.geometry.distance(pt)), 1)))
    in_communes: tuple[str, ...] = ()
    if communes is not None:
        in_communes = tuple(
            sorted(
                communes.areas[int(i)].code for i in communes.tree.query(pt, predicate="covered_by")
            )
        )
    return Placement(
        station,
        lat,
        lon,
        tuple(sorted(inside)),
        tuple(sorted(near, key=lambda cd: (cd[1], cd[0]))),
        in_communes,
    )


def communes_of_qpv(
    qpv: Layer, communes: Layer, min_share: float = 0.01
) -> dict[str, tuple[str, ...]]:
    """QPV code -> codes of the communes holding at least ``min_share`` of its area (boundary
    slivers between neighbouring communes are ignored)."""
    out: dict[str, tuple[str, ...]] = {}
    for area in qpv.areas:
        found = []
        for i in communes.tree.query(area.geometry, predicate="intersects"):
            com = communes.areas[int(i)]
            share = shapely.intersection(area.geometry, com.geometry).area / area.geometry.area
            if share >= min_share:
                found.append(com.code)
        out[area.code] = tuple(sorted(found))
    return out


def qpv_zones(
    code: str,
    placements: Iterable[Placement],
    buffers_m: tuple[int, ...],
    reference_radius_m: float,
    qpv_communes: tuple[str, ...] | None = None,
) -> dict[str, list[str]]:
    """Zone name -> station ids for one QPV.

    ``hors_qpv`` holds the stations inside none of the QPVs and, when commune polygons are
    loaded (``qpv_communes`` given), inside one of the QPV's communes; otherwise within
    ``reference_radius_m`` of the QPV.
    """
    zones: dict[str, list[str]] = {ZONE_QPV: []}
    for b in buffers_m:
        zones[buffer_zone(b)] = []
    zones[ZONE_OUTSIDE] = []
    for p in placements:
        d = p.distance_to(code)
        if d == 0.0:
            zones[ZONE_QPV].append(p.station)
            continue
        if d is not None:
            for b in buffers_m:
                if d <= b:
                    zones[buffer_zone(b)].append(p.station)
        if p.inside:
            continue
        if qpv_communes is not None:
            if set(p.communes) & set(qpv_communes):
                zones[ZONE_OUTSIDE].append(p.station)
        elif d is not None and d <= reference_radius_m:
            zones[ZONE_OUTSIDE].append(p.station)
    return zones


def index_zones(
    codes: Iterable[str],
    placements: Iterable[Placement],
    buffers_m: tuple[int, ...],
    reference_radius_m: float,
    qpv_communes: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """QPV code -> zone name -> station ids, for every QPV of ``codes`` in one pass over the
    placements (each placement already names the QPV it is in or near): the same lists, in the
    same order, as :func:`qpv_zones` for each code, without walking every placement per QPV."""
    out: dict[str, dict[str, list[str]]] = {}
    for code in codes:
        out[code] = {ZONE_QPV: [], **{buffer_zone(b): [] for b in buffers_m}, ZONE_OUTSIDE: []}
    by_commune: dict[str, list[str]] = {}
    if qpv_communes is not None:
        for code in out:
            for com in qpv_communes.get(code, ()):
                by_commune.setdefault(com, []).append(code)
    for p in placements:
        dist: dict[str, float] = dict.fromkeys(p.inside, 0.0)
        for c, d in p.near:
            dist.setdefault(c, d)  # the first listed, as Placement.distance_to
        for code, d in dist.items():
            zones = out.get(code)
            if zones is None:
                continue
            if d == 0.0:
                zones[ZONE_QPV].append(p.station)
                continue
            for b in buffers_m:
                if d <= b:
                    zones[buffer_zone(b)].append(p.station)
            if not p.inside and qpv_communes is None and d <= reference_radius_m:
                zones[ZONE_OUTSIDE].append(p.station)
        if qpv_communes is not None and not p.inside:
            # a station on a QPV boundary (distance rounded to 0) counts in that QPV only
            within = {c for c, d in dist.items() if d == 0.0}
            found = {c for com in p.communes for c in by_commune.get(com, ())}
            for code in sorted(found - within):
                out[code][ZONE_OUTSIDE].append(p.station)
    return out


class PlacementCache:
    """Placements keyed on (station, lat, lon) for one set of layer versions and radii."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._data: dict[tuple[str, float, float], Placement] = {}
        self.computed = 0

    def get(
        self,
        key: tuple[object, ...],
        stations: Iterable[tuple[str, float, float]],
        compute: Callable[[str, float, float], Placement],
    ) -> dict[str, Placement]:
        if key != self._key:
            self._data.clear()
            self._key = key
        out = {}
        for sid, lat, lon in stations:
            k = (sid, lat, lon)
            p = self._data.get(k)
            if p is None:
                p = compute(sid, lat, lon)
                self._data[k] = p
                self.computed += 1
            out[sid] = p
        # forget the old positions of the stations that moved
        live = {(sid, p.lat, p.lon) for sid, p in out.items()}
        for k in [k for k in self._data if k[0] in out and k not in live]:
            del self._data[k]
        return out
