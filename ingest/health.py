"""Station health (pure): stuck sensors and silent stations, from the readings a worker sees.

* A quantity of a sensor is *stuck* when it has repeated exactly the same value for at least
  ``stuck_s`` seconds of reading time (a frozen DHT22 at 99.9 %, a dead PM fan reading 0.0).
  Quantities with a coarse scale, where repeats are normal, are not checked.
* A station is *silent* when the last reading this worker received from it is older than
  ``silent_s`` (by the wall clock), or it has sent nothing for ``silent_s`` since the worker
  started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from airq_core.readings import Reading

__all__ = ["NOT_CHECKED_FOR_STUCK", "HealthTracker", "StationHealth"]

NOT_CHECKED_FOR_STUCK = frozenset({"voc_grade", "radon"})


@dataclass(frozen=True, slots=True)
class StationHealth:
    station: str
    silent: bool
    last_seen_age_s: float | None  # None: nothing received since the worker started
    stuck: tuple[tuple[str, str], ...]  # (sensor, quantity)


class HealthTracker:
    def __init__(self, stuck_s: float, silent_s: float, started_at: float) -> None:
        self.stuck_s = stuck_s
        self.silent_s = silent_s
        self.started_at = started_at
        self.last_seen: dict[str, float] = {}  # station -> wall clock of the last reading
        # (station, sensor, quantity) -> [value, since_ts, last_ts]
        self._runs: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, readings: Iterable[Reading], now: float) -> None:
        runs = self._runs
        last_seen = self.last_seen
        for r in readings:
            last_seen[r.station] = now
            for q, v in r.values.items():
                if q in NOT_CHECKED_FOR_STUCK:
                    continue
                key = (r.station, r.sensor, q)
                run = runs.get(key)
                if run is None:
                    runs[key] = [v, r.ts, r.ts]
                elif r.ts > run[2]:
                    if v != run[0]:
                        run[0] = v
                        run[1] = r.ts
                    run[2] = r.ts
                # older reading (backlog, redelivery): does not change the current run

    def stuck(self) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for (station, sensor, q), (_, since, last) in self._runs.items():
            if last - since >= self.stuck_s:
                out.setdefault(station, []).append((sensor, q))
        return out

    def check(self, stations: Iterable[str], now: float) -> list[StationHealth]:
        """The health of ``stations`` (the registry's active ones) and of any station seen."""
        stuck = self.stuck()
        names = set(stations) | set(self.last_seen)
        out = []
        for s in sorted(names):
            seen = self.last_seen.get(s)
            age = None if seen is None else now - seen
            silent = (now - self.started_at if age is None else age) >= self.silent_s
            out.append(StationHealth(s, silent, age, tuple(sorted(stuck.get(s, ())))))
        return out
