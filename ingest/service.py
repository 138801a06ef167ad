"""The ingest process: wiring and lifetime. Each part does one job in its own module:

* ``mqtt_source``: the paho-mqtt subscriber (persistent session, manual acks); paho's network
  thread only enqueues into its inbox (never blocks on storage);
* ``batcher``: the writer loop's batches (full, or the first message ``AIRQ_INGEST_FLUSH_INTERVAL``
  old);
* ``batch_store``: a batch validated, quality-controlled and written to InfluxDB, its aggregate
  windows journaled, and only then acknowledged; each message isolated (dead letters,
  retained messages counted);
* ``report``: station health and the ``ingest_stats`` point every health interval, a log line
  every minute;
* ``rollup`` and ``rollup_thread``: the pending aggregate windows and the thread recomputing
  them;
* ``metrics``: the ``/metrics``, ``/livez`` and ``/readyz`` server thread (when
  ``AIRQ_INGEST_METRICS_PORT`` is set), reading ``IngestService.stats()``.

``IngestService.run`` is the writer loop (batch, store, report) and the ordered shutdown.

Unacknowledged messages stay with the broker, whose in-flight window (``max_inflight_messages``,
1000 in our broker configuration) bounds our memory; a crash or an InfluxDB outage loses
nothing: the broker redelivers, and a second write of the same reading overwrites the first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from airq_core import wire
from ingest.batch_store import BatchStore
from ingest.batcher import Batcher, flush_size
from ingest.deadletter import DeadLetters
from ingest.health import HealthTracker, StationHealth
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.mqtt_source import Message, MqttSource
from ingest.pipeline import MessageHandler
from ingest.qc import HumidityQC
from ingest.report import PeriodicReports
from ingest.rollup import Roller
from ingest.rollup_thread import RollupThread
from ingest.settings import IngestSettings
from ingest.stations import KnownStations
from ingest.stats import IngestStats, RollupStats
from ingest.windows import DirtyWindows

log = logging.getLogger(__name__)

__all__ = ["IngestConfigError", "IngestService"]


class IngestConfigError(RuntimeError):
    """The broker refused our credentials or the settings are wrong: fix them and restart."""


def rollup_state_path(state_dir: str, client_id: str) -> Path:
    """The worker's pending-windows snapshot (its journal sits beside it)."""
    safe_id = "".join(c if c.isalnum() or c in "-_" else "_" for c in client_id)
    return Path(state_dir) / f"rollup-{safe_id}.json"


class IngestService:
    def __init__(self, settings: IngestSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._stop = threading.Event()  # our own stop: ``stop()`` or a fatal error
        self._fatal: str | None = None
        self.stations = KnownStations(settings.database_url, settings.ingest_station_refresh_s)
        limits = wire.Limits(
            max_payload_bytes=settings.ingest_max_payload_bytes,
            max_readings=settings.ingest_max_readings,
            max_future_s=settings.ingest_max_future_s,
            max_age_s=settings.ingest_max_age_days * 86400,
        )
        self.handler = MessageHandler(
            self.stations,
            clock,
            limits,
            track_seq_across_messages=not settings.ingest_shared_group,
            reject_log_interval=settings.ingest_reject_log_interval_s,
        )
        self.writer = InfluxWriter(
            settings.influx_url,
            settings.influx_db,
            settings.influx_username,
            settings.influx_password,
        )
        self.qc = HumidityQC(settings.ingest_humidity_threshold, settings.ingest_humidity_max_age_s)
        self.health = HealthTracker(
            settings.ingest_stuck_hours * 3600, settings.ingest_silent_minutes * 60, clock()
        )
        self.dead_letters = DeadLetters(settings.ingest_state_dir, settings.ingest_client_id)
        self.roller: Roller | None = None
        if settings.ingest_rollups:
            state = None
            if settings.ingest_state_dir:
                state = rollup_state_path(settings.ingest_state_dir, settings.ingest_client_id)
            self.roller = Roller(
                self.writer,
                DirtyWindows(
                    settings.ingest_rollup_grace_s,
                    settings.ingest_rollup_settle_s,
                    settings.ingest_rollup_stage_s,
                ),
                state_path=state,
                clock=clock,
                max_lag_s=settings.ingest_rollup_max_lag_s,
            )
        self.source = MqttSource(
            settings.mqtt_url,
            settings.ingest_client_id,
            settings.ingest_shared_group,
            settings.mqtt_ca_file,
            on_fatal=self._halt,
        )
        self.store = BatchStore(
            self.handler,
            self.qc,
            self.writer,
            self.health,
            self.dead_letters,
            self.source.ack,
            clock,
            self.roller,
            self._stop,
        )
        self.reports = PeriodicReports(
            self.health,
            self.stations.all,
            self.writer,
            settings.ingest_client_id,
            self.stats,
            settings.ingest_health_interval_s,
            clock,
        )
        self.metrics_server: WSGIServer | None = None

    # -- what tests, benchmarks and the metrics read ----------------------------------------
    @property
    def connected(self) -> threading.Event:
        return self.source.connected

    @property
    def subscribed(self) -> threading.Event:
        return self.source.subscribed

    @property
    def topic_filter(self) -> str:
        return self.source.topic_filter

    @property
    def unacked(self) -> int:
        return self.source.unacked

    @property
    def stored(self) -> int:
        return self.store.stored

    @property
    def write_failures(self) -> int:
        return self.store.write_failures

    @property
    def influx_up(self) -> bool:
        return self.store.influx_up

    @property
    def last_health(self) -> list[StationHealth]:
        return self.reports.last_health

    @property
    def flush_size(self) -> int:
        return flush_size(self.settings.ingest_batch_size, self.settings.ingest_inflight_window)

    def stats(self) -> IngestStats:
        """A snapshot of the counters and state (cheap: copies a few numbers and dicts)."""
        c = self.handler.counters
        rollups = None
        if self.roller is not None:
            r = self.roller
            rollups = RollupStats(dict(r.windows), r.points, len(r.dirty))
        return IngestStats(
            messages=c.messages,
            readings=c.readings,
            stored=self.store.stored,
            rejected=dict(c.rejected),
            seq_gaps=dict(c.seq_gaps),
            write_failures=self.store.write_failures,
            influx_up=self.store.influx_up,
            mqtt_connected=self.source.connected.is_set(),
            subscribed=self.source.subscribed.is_set(),
            unacked=self.source.unacked,
            qc_flagged=self.qc.flagged,
            qc_corrected=self.qc.corrected,
            rollups=rollups,
            health=tuple(self.reports.last_health),
        )

    # -- lifetime ---------------------------------------------------------------------------
    def _halt(self, why: str) -> None:
        """A fatal error (refused credentials, refused database set-up): stop and say why."""
        self._fatal = why
        self._stop.set()

    def start(self) -> None:
        """Checks InfluxDB, starts the metrics server (when configured) and connects."""
        self._influx_reachable()
        if self.settings.ingest_metrics_port is not None and self.metrics_server is None:
            from ingest.metrics import serve_metrics

            server, _ = serve_metrics(
                self.stats, self.settings.ingest_metrics_host, self.settings.ingest_metrics_port
            )
            self.metrics_server = server
            log.info("Prometheus metrics on port %d", server.server_port)
        self.source.start()

    def _influx_reachable(self) -> bool:
        try:
            self.writer.ensure_database(
                self.settings.influx_raw_retention, self.settings.influx_agg_retention
            )
            return True
        except InfluxWriteError as exc:
            if exc.retry:
                log.warning("InfluxDB not reachable at start (%s); will retry", exc)
            else:  # credentials or database set-up refused: the message says what to fix
                self._halt(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - reported, retried by the writer loop
            log.warning("InfluxDB not reachable at start (%s); will retry", exc)
            return False

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (or a fatal error). Raises IngestConfigError on refusal."""
        stop = stop or threading.Event()
        rollups = None
        if self.roller is not None:
            self.roller.load_state()
            rollups = RollupThread(self.roller, self._clock)
            rollups.start()
        self.start()
        try:
            self._loop(stop)
        finally:
            self._shutdown(rollups)
        if self._fatal:
            raise IngestConfigError(self._fatal)

    def _loop(self, stop: threading.Event) -> None:
        """The writer loop: batches stored then acknowledged, reports between them."""
        batcher: Batcher[Message] = Batcher(
            self.source.inbox, self.flush_size, self.settings.ingest_flush_interval
        )
        size = batcher.size
        flush = self.store.flush
        halted = self._stop
        while not (stop.is_set() or halted.is_set()):
            batch = batcher.poll(stop)
            if batch is not None:
                if len(batch) >= size and self.roller is not None:
                    self.roller.note_backlog(time.monotonic())
                flush(batch, stop)
            self.reports.tick()
        rest = batcher.take()
        if rest and not halted.is_set():
            flush(rest, stop)  # one try: unwritten messages are redelivered

    def _shutdown(self, rollups: RollupThread | None) -> None:
        """Stops what ``run`` started, in order: the rollups are told first (they save the
        pending windows), the broker link closes (unacknowledged messages stay with the
        broker), then the metrics server, InfluxDB and the registry."""
        if rollups is not None:
            rollups.stop()
        self.source.close()
        if rollups is not None:
            rollups.join(10)
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
            self.metrics_server = None
        self.writer.close()
        self.stations.close()

    def stop(self) -> None:
        self._stop.set()
