"""The ingest's periodic reports, between batches of the writer loop:

* every ``health_interval_s``: the station-health check (``ingest.health``) over the registry's
  active stations, then one ``ingest_stats`` point (the worker's counters) and one
  ``station_health`` point per station written to InfluxDB (a failed write is logged at debug
  and skipped: the next report follows);
* every minute: one log line with the counters.

``tick`` is called at every turn of the loop (at least every flush interval) and does what
is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from ingest.health import HealthTracker, StationHealth
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.stats import IngestStats, health_lines, stats_line

log = logging.getLogger(__name__)

__all__ = ["LOG_INTERVAL_S", "PeriodicReports"]

LOG_INTERVAL_S = 60.0


class PeriodicReports:
    """Station health and counters, reported every ``health_interval_s`` (and logged every
    ``LOG_INTERVAL_S``). ``last_health`` is the last check."""

    def __init__(
        self,
        health: HealthTracker,
        active_stations: Callable[[], Iterable[str]],
        writer: InfluxWriter,
        worker: str,
        stats: Callable[[], IngestStats],
        health_interval_s: float,
        clock: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.health = health
        self.last_health: list[StationHealth] = []
        self._active_stations = active_stations
        self._writer = writer
        self._worker = worker
        self._stats = stats
        self._interval = health_interval_s
        self._clock = clock
        self._monotonic = monotonic
        self._health_at = self._log_at = monotonic()

    def tick(self) -> None:
        """Reports what is due."""
        mono = self._monotonic()
        if mono - self._health_at >= self._interval:
            self._health_at = mono
            self.report_health()
        if mono - self._log_at > LOG_INTERVAL_S:
            self._log_at = mono
            s = self._stats()
            counters = {
                "messages": s.messages,
                "readings": s.readings,
                "rejected": dict(s.rejected),
                "seq_gaps": sum(s.seq_gaps.values()),
            }
            log.info("ingest: %s stored=%d", counters, s.stored)

    def report_health(self) -> None:
        """Checks station health now and writes it with the counters to InfluxDB."""
        now = self._clock()
        self.last_health = self.health.check(self._active_stations(), now)
        ts_ms = round(now * 1000)
        body = stats_line(self._stats(), self._worker, ts_ms)
        if self.last_health:
            body += "\n" + health_lines(self.last_health, self._worker, ts_ms)
        try:
            self._writer.write_lines(body.encode())
        except InfluxWriteError as exc:
            log.debug("station health not written: %s", exc)
