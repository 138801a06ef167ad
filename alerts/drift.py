"""What a drift rule compares, pure and bounded: each station's recent mean of a quantity (a
fixed number of time buckets per station, not a database scan) and the stations within a
distance of each other (a grid index, built when the stations change).

:class:`RecentMeans` keeps, per (station, quantity), ``BUCKETS`` partial sums covering the last
``window_s`` of reading time; :meth:`RecentMeans.compare` gives a station's mean and the median
of its neighbours' means (those with a reading in the window), or None with too few of them.
The service feeds it every reading of a watched station and of its neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from statistics import median

__all__ = ["MEAN_WINDOW_S", "RecentMeans", "distance_km", "neighbours"]

MEAN_WINDOW_S = 3600.0
"""A station's recent mean: the mean of its readings of the last hour (reading times)."""
BUCKETS = 6
_EARTH_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def neighbours(
    watched: Iterable[str],
    coords: Mapping[str, tuple[float, float]],
    radius_km: float,
) -> dict[str, tuple[str, ...]]:
    """For each watched station with coordinates, the other stations of ``coords`` (id ->
    (lat, lon)) within ``radius_km``, nearest first. Bands of latitude about ``radius_km``
    wide, then a longitude check, keep it far from comparing every pair."""
    band = radius_km / 111.0
    grid: dict[int, list[str]] = {}
    for sid, (lat, _lon) in coords.items():
        grid.setdefault(int(lat // band), []).append(sid)
    out: dict[str, tuple[str, ...]] = {}
    for sid in watched:
        if sid not in coords:
            continue
        lat, lon = coords[sid]
        row = int(lat // band)
        km_per_lon = 111.0 * max(0.01, math.cos(math.radians(lat)))
        near: list[tuple[float, str]] = []
        for r in (row - 1, row, row + 1):
            for other in grid.get(r, ()):
                olat, olon = coords[other]
                if other == sid or abs(olon - lon) * km_per_lon > radius_km * 1.05:
                    continue
                d = distance_km(lat, lon, olat, olon)
                if d <= radius_km:
                    near.append((d, other))
        near.sort()
        out[sid] = tuple(o for _, o in near)
    return out


class RecentMeans:
    """Per (station, quantity): ``BUCKETS`` partial sums [bucket index, sum, count] of the last
    ``window_s`` of reading time. Memory is bounded by stations × quantities × buckets."""

    def __init__(self, window_s: float = MEAN_WINDOW_S) -> None:
        self.window_s = window_s
        self.width = window_s / BUCKETS
        self._sums: dict[tuple[str, str], list[list[float]]] = {}
        self._last: dict[tuple[str, str], float] = {}

    def __len__(self) -> int:
        return len(self._sums)

    def add(self, station: str, quantity: str, ts: float, value: float) -> None:
        """One reading (a value that is not finite is left out)."""
        if not math.isfinite(value) or not math.isfinite(ts):
            return
        key = (station, quantity)
        b = int(ts // self.width)
        buckets = self._sums.setdefault(key, [])
        for item in buckets:
            if item[0] == b:
                item[1] += value
                item[2] += 1
                break
        else:
            buckets.append([float(b), value, 1.0])
            if len(buckets) > BUCKETS:
                buckets.sort()
                del buckets[: len(buckets) - BUCKETS]
        self._last[key] = max(ts, self._last.get(key, -math.inf))

    def mean(self, station: str, quantity: str, now: float) -> float | None:
        """The mean of the readings of the window ending at ``now`` (reading time), or None
        when the station sent none in it."""
        buckets = self._sums.get((station, quantity))
        if not buckets:
            return None
        oldest = int(now // self.width) - BUCKETS + 1
        total = n = 0.0
        for b, s, c in buckets:
            if b >= oldest:
                total += s
                n += c
        return total / n if n else None

    def compare(
        self, station: str, quantity: str, now: float, near: Iterable[str], min_neighbours: int
    ) -> tuple[float, float, int] | None:
        """(the station's mean, its neighbours' median, how many neighbours), or None when
        the station or too many of its neighbours sent nothing in the window."""
        own = self.mean(station, quantity, now)
        if own is None:
            return None
        means = [m for s in near if (m := self.mean(s, quantity, now)) is not None]
        if len(means) < max(1, min_neighbours):
            return None
        return own, median(means), len(means)
