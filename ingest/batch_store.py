"""One batch from MQTT messages to stored readings, then acknowledged: the delivery guarantee.

``BatchStore.flush`` takes a batch of messages and, in this order:

1. decodes each message (``pipeline.MessageHandler``) in isolation: a retained message
   (replayed by the broker on subscription) is counted (``retained``) and never taken as a new
   reading; a message whose handling raises is counted (``internal``), kept in the dead-letter
   store (``ingest.deadletter``) and acknowledged with the batch;
2. applies quality control and encodes the line protocol for the whole batch, or message by
   message when that raises, so that only the message it fails on becomes a dead letter;
3. writes the readings to InfluxDB, retrying with capped exponential backoff (0.5 s … 30 s)
   while InfluxDB is unreachable, logging once on failure and once on recovery; a batch
   InfluxDB rejects for good is dropped (logged);
4. marks the aggregate windows (``Roller.mark``, journaled on disk) and observes station health;
5. only then acknowledges every message of the batch (``ack``).

Stopped while InfluxDB is down, a batch is not acknowledged: the broker redelivers it after a
restart, and a second write of the same reading overwrites the first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from airq_core.readings import Reading
from ingest.deadletter import DeadLetters
from ingest.health import HealthTracker
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.lineproto import encode_lines
from ingest.mqtt_source import Message
from ingest.pipeline import MessageHandler
from ingest.qc import HumidityQC
from ingest.rollup import Roller

log = logging.getLogger(__name__)

__all__ = ["BatchStore"]

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0


class BatchStore:
    """Stores batches of messages, then acknowledges them (see the module docstring).

    ``stored``, ``write_failures`` and ``influx_up`` are plain values for the stats snapshot.
    ``halted`` is the service's own stop (a fatal error): a write waiting for InfluxDB gives
    up when it is set, as when the ``stop`` given to ``flush`` is.
    """

    def __init__(
        self,
        handler: MessageHandler,
        qc: HumidityQC,
        writer: InfluxWriter,
        health: HealthTracker,
        dead_letters: DeadLetters,
        ack: Callable[[list[Message]], None],
        clock: Callable[[], float],
        roller: Roller | None = None,
        halted: threading.Event | None = None,
    ) -> None:
        self.handler = handler
        self.qc = qc
        self.writer = writer
        self.health = health
        self.dead_letters = dead_letters
        self.roller = roller
        self._ack = ack
        self._clock = clock
        self._halted = halted or threading.Event()
        self.stored = 0
        self.write_failures = 0
        self.influx_up = True

    def flush(self, batch: list[Message], stop: threading.Event) -> None:
        """Stores ``batch``, then acknowledges it; returns without acknowledging when stopped
        before InfluxDB took it (the broker redelivers)."""
        readings, parts = self._decode(batch)
        if readings:
            readings, body = self._prepare(readings, parts)
        if readings:  # not all dead letters
            stored = self._write_with_retry(body, stop)
            if not stored and (stop.is_set() or self._halted.is_set()):
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

    def _dead_letter(self, m: Message, exc: Exception) -> None:
        """A message our own code failed on: counted, kept, and acked with its batch."""
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        self.handler.reject("internal", why, m.topic, m.payload)
        log.debug("dead letter on %s", m.topic[:80], exc_info=exc)
        self.dead_letters.add(m.topic, m.payload, exc)

    def _decode(
        self, batch: list[Message]
    ) -> tuple[list[Reading], list[tuple[Message, list[Reading]]]]:
        """The batch's valid readings, and which message each came from (for ``_prepare``)."""
        readings: list[Reading] = []
        parts = []
        handler = self.handler
        handle = handler.handle
        for m in batch:
            if m.retain:
                handler.reject(
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
        self, readings: list[Reading], parts: list[tuple[Message, list[Reading]]]
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

    def _write_with_retry(self, body: bytes, stop: threading.Event) -> bool:
        delay = FIRST_RETRY_S
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
            if stop.wait(delay) or self._halted.is_set():
                return False
            delay = min(delay * 2, MAX_RETRY_S)
