"""A snapshot of the ingest's figures: what ``/metrics``, ``/readyz`` and the periodic
``ingest_stats`` point read, without reaching into the service.

The hot path only bumps plain integers on its own objects (the message handler's counters, the
batch store's ``stored``, the QC counts, the roller's counts); ``IngestService.stats()`` copies
them into an ``IngestStats`` at scrape time, so metrics cost nothing per message and the
readers depend on this module only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from airq_core.storage import (
    HEALTH_MEASUREMENT,
    INGEST_STATS_MEASUREMENT,
    REJECTED_PREFIX,
    TAG_STATION,
    TAG_WORKER,
)
from airq_core.wire import REASONS
from ingest.health import StationHealth

__all__ = ["IngestStats", "RollupStats", "health_lines", "stats_line"]


@dataclass(frozen=True, slots=True)
class RollupStats:
    windows: Mapping[str, int]  # tier -> windows recomputed
    points: int  # aggregate points written
    pending: int  # windows waiting


@dataclass(frozen=True, slots=True)
class IngestStats:
    """The ingest's counters and state at one moment (cumulative since the worker started)."""

    messages: int = 0
    readings: int = 0
    stored: int = 0
    rejected: Mapping[str, int] = field(default_factory=dict)  # reason -> count
    seq_gaps: Mapping[str, int] = field(default_factory=dict)  # station -> readings missing
    write_failures: int = 0
    influx_up: bool = True  # the last InfluxDB write succeeded (or none was needed yet)
    mqtt_connected: bool = False
    subscribed: bool = False
    unacked: int = 0  # messages received and not yet acknowledged
    qc_flagged: int = 0
    qc_corrected: int = 0
    rollups: RollupStats | None = None  # None: rollups off
    health: tuple[StationHealth, ...] = ()  # the last station-health check


def stats_line(stats: IngestStats, worker: str, ts_ms: int) -> str:
    """The worker's cumulative counters as one ``ingest_stats`` point (every reason present,
    zero included, so that dashboards always find the same fields)."""
    fields = [
        f"messages={stats.messages}i",
        f"readings={stats.readings}i",
        f"stored={stats.stored}i",
    ]
    fields += [f"{REJECTED_PREFIX}{r}={stats.rejected.get(r, 0)}i" for r in sorted(REASONS)]
    return f"{INGEST_STATS_MEASUREMENT},{TAG_WORKER}={worker} {','.join(fields)} {ts_ms}"


def health_lines(statuses: list[StationHealth], worker: str, ts_ms: int) -> str:
    """One ``station_health`` point per station."""
    lines = []
    for h in statuses:
        fields = [f"silent={'true' if h.silent else 'false'}", f"stuck={len(h.stuck)}i"]
        if h.last_seen_age_s is not None:
            fields.append(f"last_seen_age_s={float(h.last_seen_age_s)!r}")
        if h.stuck:
            fields.append(f'stuck_list="{",".join(f"{s}:{q}" for s, q in h.stuck)}"')
        tags = f"{TAG_STATION}={h.station},{TAG_WORKER}={worker}"
        lines.append(f"{HEALTH_MEASUREMENT},{tags} {','.join(fields)} {ts_ms}")
    return "\n".join(lines)
