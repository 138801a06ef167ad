"""The ingest process: a paho-mqtt subscriber (persistent session, manual acks) feeding a
writer loop that stores batches in InfluxDB and only then acknowledges the messages.

Threads:

* paho's network loop only enqueues (never blocks on storage);
* the writer loop (the caller of ``run``) validates, applies quality control, writes a batch,
  marks its aggregate windows dirty (saving them to the state file), then acks the batch;
  each message is isolated: one whose handling raises is counted (``internal``), kept in the
  dead-letter store (``ingest.deadletter``) and acknowledged, and the rest of its batch is
  stored; a retained message (replayed by the broker on subscription) is counted
  (``retained``) and never taken as a new reading;
* the rollup thread recomputes due aggregate windows (``ingest.rollup``);
* the ``/metrics`` server thread (when ``AIRQ_INGEST_METRICS_PORT`` is set).

Unacknowledged messages stay with the broker, whose in-flight window (``max_inflight_messages``,
1000 in our broker configuration) bounds our memory; a crash or an InfluxDB outage loses
nothing: the broker redelivers, and a second write of the same reading overwrites the first.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from airq_core import wire
from airq_core.readings import Reading
from airq_core.storage import (
    HEALTH_MEASUREMENT,
    INGEST_STATS_MEASUREMENT,
    REJECTED_PREFIX,
    TAG_STATION,
    TAG_WORKER,
)
from airq_core.urls import parse_mqtt_url
from airq_core.wire import REASONS
from ingest.deadletter import DeadLetters
from ingest.health import HealthTracker, StationHealth
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.lineproto import encode_lines
from ingest.pipeline import Counters, MessageHandler
from ingest.qc import HumidityQC
from ingest.rollup import Roller
from ingest.rollup_thread import RollupThread
from ingest.settings import IngestSettings
from ingest.stations import KnownStations
from ingest.windows import DirtyWindows

log = logging.getLogger(__name__)

GATHER_S = 0.005  # how long the writer lets messages gather before looking again


class IngestConfigError(RuntimeError):
    """The broker refused our credentials or the settings are wrong: fix them and restart."""


@dataclass(slots=True)
class _Msg:
    mid: int
    qos: int
    topic: str
    payload: bytes
    retain: bool = False


def stats_line(counters: Counters, stored: int, worker: str, ts_ms: int) -> str:
    """The worker's cumulative counters as one ``ingest_stats`` point (every reason present,
    zero included, so that dashboards always find the same fields)."""
    fields = [
        f"messages={counters.messages}i",
        f"readings={counters.readings}i",
        f"stored={stored}i",
    ]
    fields += [f"{REJECTED_PREFIX}{r}={counters.rejected.get(r, 0)}i" for r in sorted(REASONS)]
    return f"{INGEST_STATS_MEASUREMENT},{TAG_WORKER}={worker} {','.join(fields)} {ts_ms}"


def health_lines(statuses: list[StationHealth], worker: str, ts_ms: int) -> str:
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


class IngestService:
    def __init__(self, settings: IngestSettings, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self._clock = clock
        self._inbox: queue.SimpleQueue[_Msg] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._fatal: str | None = None
        self.connected = threading.Event()
        self.subscribed = threading.Event()
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
        self.last_health: list[StationHealth] = []
        self.dead_letters = DeadLetters(settings.ingest_state_dir, settings.ingest_client_id)
        self.roller: Roller | None = None
        if settings.ingest_rollups:
            state = None
            if settings.ingest_state_dir:
                safe_id = "".join(
                    c if c.isalnum() or c in "-_" else "_" for c in settings.ingest_client_id
                )
                state = Path(settings.ingest_state_dir) / f"rollup-{safe_id}.json"
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
        self.stored = 0
        self.write_failures = 0
        self.influx_up = True
        self.metrics_server: WSGIServer | None = None
        self._received = 0  # paho thread only
        self._acked = 0  # writer thread only
        self._client = self._make_client()

    @property
    def unacked(self) -> int:
        return self._received - self._acked

    # -- MQTT -------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        target = parse_mqtt_url(self.settings.mqtt_url)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.ingest_client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls or self.settings.mqtt_ca_file:
            client.tls_set(ca_certs=self.settings.mqtt_ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._target = target
        return client

    @property
    def topic_filter(self) -> str:
        group = self.settings.ingest_shared_group
        return f"$share/{group}/{wire.READINGS_FILTER}" if group else wire.READINGS_FILTER

    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            msg = f"broker {self._target.redacted()} refused the connection: {reason_code}"
            if reason_code.value in (4, 5, 134, 135):  # bad credentials / not authorised
                self._fatal = msg + " (check AIRQ_MQTT_URL user and password)"
                self._stop.set()
            log.error(msg)
            return
        log.info(
            "connected to %s (session present: %s)", self._target.redacted(), flags.session_present
        )
        self.connected.set()
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):  # type: ignore[no-untyped-def]
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if self.connected.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self.connected.clear()

    def _on_message(self, client, userdata, msg):  # type: ignore[no-untyped-def]
        self._received += 1
        self._inbox.put(_Msg(msg.mid, msg.qos, msg.topic, msg.payload, msg.retain))

    # -- writer loop ------------------------------------------------------------------------
    def _ack(self, batch: list[_Msg]) -> None:
        ack = self._client.ack
        for m in batch:
            if m.qos > 0:
                ack(m.mid, m.qos)
        self._acked += len(batch)

    def _write_with_retry(self, body: bytes, stop: threading.Event) -> bool:
        delay = 0.5
        while True:
            try:
                self.writer.write_lines(body)
                if not self.influx_up:
                    log.info("InfluxDB writes work again")
                    self.influx_up = True
                return True
            except InfluxWriteError as exc:
                self.write_failures += 1
                if not exc.retry:
                    log.error("InfluxDB rejected a batch, dropping it: %s", exc)
                    return False
                if self.influx_up:
                    log.warning("%s; holding readings and retrying", exc)
                    self.influx_up = False
            if stop.wait(delay) or self._stop.is_set():
                return False
            delay = min(delay * 2, 30)

    def _dead_letter(self, m: _Msg, exc: Exception) -> None:
        """A message our own code failed on: counted, kept, and acked with its batch."""
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        self.handler.reject("internal", why, m.topic, m.payload)
        log.debug("dead letter on %s", m.topic[:80], exc_info=exc)
        self.dead_letters.add(m.topic, m.payload, exc)

    def _decode(self, batch: list[_Msg]) -> tuple[list[Reading], list[tuple[_Msg, list[Reading]]]]:
        """The batch's valid readings, and which message each came from (for ``_prepare``)."""
        readings: list[Reading] = []
        parts = []
        handle = self.handler.handle
        for m in batch:
            if m.retain:
                self.handler.reject(
                    "retained", "retained message replayed by the broker", m.topic, m.payload, True
                )
                continue
            try:  # free in CPython 3.11 unless something raises
                rs = handle(m.topic, m.payload)
            except Exception as exc:  # noqa: BLE001 - isolated: see _dead_letter
                self._dead_letter(m, exc)
                continue
            if rs:
                readings += rs
                parts.append((m, rs))
        return readings, parts

    def _prepare(
        self, readings: list[Reading], parts: list[tuple[_Msg, list[Reading]]]
    ) -> tuple[list[Reading], bytes]:
        """Quality control and line protocol for the batch; when that raises, message by
        message, so that only the message it fails on becomes a dead letter."""
        try:
            readings = self.qc.apply(readings)
            return readings, encode_lines(readings)
        except Exception:  # noqa: BLE001 - isolated below, message by message
            log.warning("quality control or encoding failed on a batch; isolating messages")
        kept: list[Reading] = []
        lines: list[bytes] = []
        for m, rs in parts:
            try:
                out = self.qc.apply(rs)
                lines.append(encode_lines(out))
            except Exception as exc:  # noqa: BLE001 - isolated: see _dead_letter
                self._dead_letter(m, exc)
                continue
            kept.extend(out)
        return kept, b"\n".join(lines)

    def _flush(self, batch: list[_Msg], stop: threading.Event) -> None:
        readings, parts = self._decode(batch)
        if readings:
            readings, body = self._prepare(readings, parts)
        if readings:  # not all dead letters
            stored = self._write_with_retry(body, stop)
            if not stored and (stop.is_set() or self._stop.is_set()):
                return  # not acked: the broker redelivers after restart
            try:
                if stored:
                    self.stored += len(readings)
                    if self.roller is not None:
                        self.roller.mark(readings, self._clock())
                self.health.observe(readings, self._clock())
            except Exception:  # noqa: BLE001 - the readings are stored: keep going
                log.exception("rollup or health bookkeeping failed after a write")
        self._ack(batch)

    def _check_health(self) -> None:
        now = self._clock()
        self.last_health = self.health.check(self.stations.all(), now)
        worker, ts_ms = self.settings.ingest_client_id, round(now * 1000)
        body = stats_line(self.handler.counters, self.stored, worker, ts_ms)
        if self.last_health:
            body += "\n" + health_lines(self.last_health, worker, ts_ms)
        try:
            self.writer.write_lines(body.encode())
        except InfluxWriteError as exc:
            log.debug("station health not written: %s", exc)

    def start(self) -> None:
        self._influx_reachable()
        if self.settings.ingest_metrics_port is not None and self.metrics_server is None:
            from ingest.metrics import serve_metrics

            server, _ = serve_metrics(
                self, self.settings.ingest_metrics_host, self.settings.ingest_metrics_port
            )
            self.metrics_server = server
            log.info("Prometheus metrics on port %d", server.server_port)
        self._client.connect_async(self._target.host, self._target.port, keepalive=30)
        self._client.loop_start()

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
                self._fatal = str(exc)
                self._stop.set()
            return False
        except Exception as exc:  # noqa: BLE001 - reported, retried by the writer loop
            log.warning("InfluxDB not reachable at start (%s); will retry", exc)
            return False

    @property
    def flush_size(self) -> int:
        # half the broker's in-flight window: the broker keeps sending the next half while we
        # write this one
        return max(
            1, min(self.settings.ingest_batch_size, self.settings.ingest_inflight_window // 2)
        )

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (or a fatal error). Raises IngestConfigError on refusal."""
        stop = stop or threading.Event()
        roller_thread = None
        if self.roller is not None:
            self.roller.load_state()
            roller_thread = RollupThread(self.roller, self._clock)
            roller_thread.start()
        self.start()
        batch: list[_Msg] = []
        first_at = 0.0
        size = self.flush_size
        interval = self.settings.ingest_flush_interval
        last_stats = last_health = time.monotonic()
        inbox = self._inbox
        try:
            while not (stop.is_set() or self._stop.is_set()):
                if batch:
                    # gather for a few ms instead of waking up for every message: the paho
                    # thread keeps the GIL to itself meanwhile (measured: less contention)
                    left = first_at + interval - time.monotonic()
                    if len(batch) < size and left > 0:
                        stop.wait(min(GATHER_S, left))
                else:
                    try:
                        batch.append(inbox.get(timeout=interval))
                        first_at = time.monotonic()
                    except queue.Empty:
                        pass
                try:  # drain whatever is already there without waiting
                    while len(batch) < size:
                        batch.append(inbox.get_nowait())
                except queue.Empty:
                    pass
                if batch and (len(batch) >= size or time.monotonic() - first_at >= interval):
                    if len(batch) >= size and self.roller is not None:
                        self.roller.note_backlog(time.monotonic())
                    self._flush(batch, stop)
                    batch = []
                mono = time.monotonic()
                if mono - last_health >= self.settings.ingest_health_interval_s:
                    last_health = mono
                    self._check_health()
                if mono - last_stats > 60:
                    last_stats = mono
                    log.info("ingest: %s stored=%d", self.handler.counters.as_dict(), self.stored)
            if batch and not self._stop.is_set():
                self._flush(batch, stop)  # one try: unwritten messages are redelivered
        finally:
            if roller_thread is not None:
                roller_thread.stop()
            self.connected.clear()  # our own disconnection: not worth a warning
            self._client.disconnect()
            self._client.loop_stop()
            # break the service <-> client cycle, so the client (and the socket pair paho
            # opens in loop_start) is freed as soon as the service is
            c = self._client
            c.on_connect = c.on_disconnect = c.on_message = c.on_subscribe = None
            if roller_thread is not None:
                roller_thread.join(10)
            if self.metrics_server is not None:
                self.metrics_server.shutdown()
                self.metrics_server.server_close()
                self.metrics_server = None
            self.writer.close()
            self.stations.close()
        if self._fatal:
            raise IngestConfigError(self._fatal)

    def stop(self) -> None:
        self._stop.set()
